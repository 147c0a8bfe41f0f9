package sqlite

import (
	"encoding/json"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// toMillis encodes t as unix milliseconds in UTC, rounding down; the zero
// time is 0. (The instant 1970-01-01T00:00:00Z therefore reads back as the
// zero time, which coffer never stores as a real date.)
func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of toMillis: a time in UTC, or the zero time for 0.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// encodeTags returns the JSON text of tags, or nil (SQL NULL) when empty.
func encodeTags(tags []storage.Tag) (any, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func decodeTags(s []byte) ([]storage.Tag, error) {
	if len(s) == 0 {
		return nil, nil
	}
	var tags []storage.Tag
	if err := json.Unmarshal(s, &tags); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// encodeStages returns the JSON text of stages, or nil (SQL NULL) when empty.
func encodeStages(stages map[string][]string) (any, error) {
	if len(stages) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(stages)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeStages always returns a non-nil map, as the storage contract promises.
func decodeStages(s []byte) (map[string][]string, error) {
	stages := map[string][]string{}
	if len(s) == 0 {
		return stages, nil
	}
	if err := json.Unmarshal(s, &stages); err != nil {
		return nil, err
	}
	return stages, nil
}

// blob maps an empty byte slice to SQL NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
