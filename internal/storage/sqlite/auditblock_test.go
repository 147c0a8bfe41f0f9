package sqlite

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// blockRecords are records whose documents share nothing, everything, a
// prefix, a suffix, or are empty, with and without a previous hash.
func blockRecords() []*storage.AuditRecord {
	docs := []string{
		`{"eventName":"GetSecretValue","requestParameters":{"secretId":"a"}}`,
		`{"eventName":"GetSecretValue","requestParameters":{"secretId":"a"}}`, // the same
		`{"eventName":"GetSecretValue","requestParameters":{"secretId":"bb"}}`,
		`xyz`, // nothing in common
		``,    // empty
		`{"unicode":"été ✓"}`,
		`{"unicode":"été ✓ and more"}`, // the previous one is a prefix
		`{"unicode":"été ✓"}`,          // a prefix of the previous one
		`abcabcabc`,
		`abcabc`, // ends like the previous one, and starts like it too
		strings.Repeat("long ", 2000),
	}
	var rs []*storage.AuditRecord
	var prev []byte
	for i, d := range docs {
		r := &storage.AuditRecord{
			Seq: int64(100 + i), Account: "123456789012", EventName: fmt.Sprintf("Event%d", i%3),
			Time: time.UnixMilli(1700000000000 + int64(i)).UTC(), PrevHash: prev,
			Hash: []byte(fmt.Sprintf("hash-%02d-0123456789abcdef012345", i)),
		}
		if d != "" {
			r.Doc = []byte(d)
		}
		if i == 5 {
			r.Time, r.Account = time.Time{}, "" // no time, no account
		}
		rs = append(rs, r)
		prev = r.Hash
	}
	return rs
}

func TestAuditBlockRoundTrip(t *testing.T) {
	rs := blockRecords()
	got, err := decodeBlock(rs[0].Seq, rs[len(rs)-1].Seq, encodeBlock(nil, rs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rs) {
		for i := range rs {
			if !reflect.DeepEqual(got[i], rs[i]) {
				t.Errorf("record %d:\n got %+v\nwant %+v", rs[i].Seq, got[i], rs[i])
			}
		}
	}
}

// TestAuditBlockSize: records alike, as one caller's reads are, take a
// fraction of their documents' bytes.
func TestAuditBlockSize(t *testing.T) {
	var rs []*storage.AuditRecord
	docs := 0
	for i := range 100 {
		doc := fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/app"},`+
			`"eventTime":"2026-11-22T08:17:54Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue",`+
			`"userAgent":"aws-sdk-go-v2/1.47.7 ua/2.1 os/linux lang/go#1.26.8","requestParameters":{"secretId":"app/secret-%d"},`+
			`"requestID":"%08x-1d42-4171-81d5-96acdb2c3202","eventID":"%08x-b045-4d8b-9e50-9e7dcc95442f","readOnly":true,`+
			`"eventType":"AwsApiCall","managementEvent":true,"eventCategory":"Management","recipientAccountId":"123456789012"}`, i%7, i*7919, i*104729)
		docs += len(doc)
		rs = append(rs, &storage.AuditRecord{Seq: int64(i + 1), Doc: doc, Hash: make([]byte, 32), PrevHash: make([]byte, 32)})
	}
	if n := len(encodeBlock(nil, rs)); n > docs/2 {
		t.Errorf("block of %d bytes for %d bytes of documents, want at most half", n, docs)
	}
}

func TestAuditBlockDamaged(t *testing.T) {
	rs := blockRecords()
	first, last := rs[0].Seq, rs[len(rs)-1].Seq
	data := encodeBlock(nil, rs)
	for _, c := range []struct {
		name        string
		first, last int64
		data        []byte
	}{
		{"empty", first, last, nil},
		{"unknown format", first, last, append([]byte{9}, data[1:]...)},
		{"more records than it holds", first, last + 1, data},
		{"fewer records than it holds", first, last - 1, data},
		{"range backwards", last, first, data},
		{"range too long", first, first + blockMax, data},
		{"a prefix longer than the record before", first, first, []byte{blockFormat, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"a document too large", first, first + 1, []byte{blockFormat,
			0, 0, 0, 0, 0, 0, 0, 1, 'x',
			0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x0f, 0}},
	} {
		if _, err := decodeBlock(c.first, c.last, c.data); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	for n := range len(data) { // every cut
		if _, err := decodeBlock(first, last, data[:n]); err == nil {
			t.Errorf("cut at %d of %d bytes: no error", n, len(data))
		}
	}
}

// FuzzAuditBlock: any data decodes to records or an error, never a panic,
// and never more than maxBlockBytes of documents.
func FuzzAuditBlock(f *testing.F) {
	rs := blockRecords()
	f.Add(int64(1), int64(len(rs)), encodeBlock(nil, rs))
	f.Add(int64(1), int64(2), encodeBlock(nil, rs[:2]))
	f.Fuzz(func(t *testing.T, first, last int64, data []byte) {
		got, err := decodeBlock(first, last, data)
		if err != nil {
			return
		}
		total := 0
		for _, r := range got {
			total += len(r.Doc)
		}
		if int64(len(got)) != last-first+1 || total > maxBlockBytes {
			t.Fatalf("%d records of %d bytes for %d..%d", len(got), total, first, last)
		}
	})
}

// TestAuditRecordsPlan: a page of the trail starts from its first record
// by primary key, in rows and in blocks alike (no scan of every block
// before it), and the two are merged, not sorted.
func TestAuditRecordsPlan(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	plan := explain(t, db, queries[stAuditRecords], 1000, 500)
	for _, want := range []string{"MERGE (UNION ALL)", "SEARCH audit_records USING INTEGER PRIMARY KEY", "SEARCH audit_blocks USING INTEGER PRIMARY KEY"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan %q lacks %q", plan, want)
		}
	}
	for _, bad := range []string{"SCAN audit_blocks", "SCAN audit_records", "TEMP B-TREE"} {
		if strings.Contains(plan, bad) {
			t.Errorf("plan %q has %q", plan, bad)
		}
	}
}
