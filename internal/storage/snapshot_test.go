package storage

import (
	"bytes"
	"testing"
)

// TestSnapshotFormatRefusals: files a reader must refuse rather than load
// in part or misread.
func TestSnapshotFormatRefusals(t *testing.T) {
	const header = `{"format":"coffer-snapshot","version":1,"created":"2025-06-01T00:00:00Z"}` + "\n"
	for name, file := range map[string]string{
		"not a snapshot": `{"hello":1}` + "\n",
		"newer version":  `{"format":"coffer-snapshot","version":2,"created":"2025-06-01T00:00:00Z"}` + "\n" + `{"kind":"end","count":0}` + "\n",
		"unknown kind":   header + `{"kind":"lookupIndex","record":{}}` + "\n" + `{"kind":"end","count":1}` + "\n",
		"wrong count":    header + `{"kind":"account","record":{"ID":"1"}}` + "\n" + `{"kind":"end","count":2}` + "\n",
		"no end":         header + `{"kind":"account","record":{"ID":"1"}}` + "\n",
	} {
		if _, err := ReadSnapshot(bytes.NewReader([]byte(file)), func(Record) error { return nil }); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
	n, err := ReadSnapshot(bytes.NewReader([]byte(header+`{"kind":"account","record":{"ID":"1"}}`+"\n"+`{"kind":"end","count":1}`+"\n")),
		func(r Record) error {
			if r.Account == nil || r.Account.ID != "1" {
				t.Errorf("record %+v", r)
			}
			return nil
		})
	if err != nil || n != 1 {
		t.Errorf("a good file: %d records, %v", n, err)
	}
}
