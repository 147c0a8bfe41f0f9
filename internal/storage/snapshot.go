package storage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Snapshotter is an optional interface of a Store: it reads every record
// from one consistent snapshot, for `coffer backup`. Restore needs no such
// interface: it inserts records through an ordinary Update (Restore below).
//
// Both backends implement it; internal/server uses it.
type Snapshotter interface {
	// Export calls emit with every record of one snapshot, kind by kind in
	// the order of recordKinds (so that a record's parents come before
	// it), versions ordered by (secret, Created, Seq). Values stay sealed.
	Export(ctx context.Context, emit func(Record) error) error
}

// Record is one record of a snapshot: exactly one field is set.
type Record struct {
	Account   *Account   `json:"account,omitempty"`
	AccessKey *AccessKey `json:"accessKey,omitempty"`
	Entity    *Entity    `json:"entity,omitempty"`
	Key       *Key       `json:"key,omitempty"`
	Secret    *Secret    `json:"secret,omitempty"`
	Version   *Version   `json:"version,omitempty"`
	// The audit trail, in Seq order, and its digests.
	AuditRecord *AuditRecord `json:"auditRecord,omitempty"`
	AuditDigest *AuditDigest `json:"auditDigest,omitempty"`
}

// recordKinds are the kinds of records a snapshot holds, in the order
// Export emits them, each with the field of a Record that holds it. A later
// coffer adds kinds at the end (a coffer before the audit trail refuses a
// snapshot that holds audit records).
var recordKinds = []recordKind{
	kindOf("account", func(r *Record) **Account { return &r.Account }),
	kindOf("accessKey", func(r *Record) **AccessKey { return &r.AccessKey }),
	kindOf("entity", func(r *Record) **Entity { return &r.Entity }),
	kindOf("key", func(r *Record) **Key { return &r.Key }),
	kindOf("secret", func(r *Record) **Secret { return &r.Secret }),
	kindOf("version", func(r *Record) **Version { return &r.Version }),
	kindOf("auditRecord", func(r *Record) **AuditRecord { return &r.AuditRecord }),
	kindOf("auditDigest", func(r *Record) **AuditDigest { return &r.AuditDigest }),
}

type recordKind struct {
	name string
	get  func(r *Record) any // the record r holds of this kind, or nil
	set  func(r *Record) any // gives r a new, empty record of this kind and returns it
}

func kindOf[T any](name string, field func(*Record) **T) recordKind {
	return recordKind{
		name: name,
		get: func(r *Record) any {
			if p := *field(r); p != nil {
				return p
			}
			return nil
		},
		set: func(r *Record) any {
			p := new(T)
			*field(r) = p
			return p
		},
	}
}

// The snapshot file format, version 1: JSON lines. The first line is the
// header {"format":"coffer-snapshot","version":1,"created":...}; then one
// line per record, {"kind":"secret","record":{...}} (byte fields such as
// ciphertexts in base64, times in RFC 3339 UTC); the last line is the
// trailer {"kind":"end","count":N}, whose absence reveals a truncated
// file. A reader refuses a newer format version and a kind it does not
// know, rather than silently dropping records.
const (
	SnapshotFormat  = "coffer-snapshot"
	SnapshotVersion = 1
)

type snapshotHeader struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
}

type snapshotLine struct {
	Kind   string          `json:"kind"`
	Record json.RawMessage `json:"record,omitempty"`
	Count  *int64          `json:"count,omitempty"`
}

func (r Record) kind() (string, any) {
	for _, k := range recordKinds {
		if rec := k.get(&r); rec != nil {
			return k.name, rec
		}
	}
	return "", nil
}

// SnapshotWriter writes the snapshot format.
type SnapshotWriter struct {
	w     *bufio.Writer
	enc   *json.Encoder
	count int64
}

// NewSnapshotWriter writes the header to w.
func NewSnapshotWriter(w io.Writer, now time.Time) (*SnapshotWriter, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	sw := &SnapshotWriter{w: bw, enc: json.NewEncoder(bw)}
	if err := sw.enc.Encode(snapshotHeader{SnapshotFormat, SnapshotVersion, now.UTC()}); err != nil {
		return nil, err
	}
	return sw, nil
}

// Write writes one record.
func (sw *SnapshotWriter) Write(r Record) error {
	kind, rec := r.kind()
	if kind == "" {
		return errors.New("snapshot: empty record")
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("snapshot: encode %s: %w", kind, err)
	}
	sw.count++
	return sw.enc.Encode(snapshotLine{Kind: kind, Record: b})
}

// Count is the number of records written so far.
func (sw *SnapshotWriter) Count() int64 { return sw.count }

// Close writes the trailer and flushes; it does not close the underlying
// writer.
func (sw *SnapshotWriter) Close() error {
	n := sw.count
	if err := sw.enc.Encode(snapshotLine{Kind: "end", Count: &n}); err != nil {
		return err
	}
	return sw.w.Flush()
}

// ReadSnapshot reads a snapshot from r and calls fn with each record. It
// fails on a bad header, a newer format, an unknown kind or a missing or
// wrong trailer (fn has then seen some records).
func ReadSnapshot(r io.Reader, fn func(Record) error) (int64, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil || h.Format != SnapshotFormat {
		return 0, errors.New("snapshot: not a coffer snapshot")
	}
	if h.Version > SnapshotVersion || h.Version < 1 {
		return 0, fmt.Errorf("snapshot: format version %d is not supported (this coffer reads up to %d)", h.Version, SnapshotVersion)
	}
	var n int64
	for {
		var l snapshotLine
		if err := dec.Decode(&l); err != nil {
			if errors.Is(err, io.EOF) {
				return n, errors.New("snapshot: truncated (no end line)")
			}
			return n, fmt.Errorf("snapshot: record %d: %w", n+1, err)
		}
		if l.Kind == "end" {
			if l.Count == nil || *l.Count != n {
				return n, fmt.Errorf("snapshot: end line counts %v records, read %d", l.Count, n)
			}
			return n, nil
		}
		i := slices.IndexFunc(recordKinds, func(k recordKind) bool { return k.name == l.Kind })
		if i < 0 {
			return n, fmt.Errorf("snapshot: record kind %q is unknown to this coffer", l.Kind)
		}
		var rec Record
		dst := recordKinds[i].set(&rec)
		if err := json.Unmarshal(l.Record, dst); err != nil {
			return n, fmt.Errorf("snapshot: record %d (%s): %w", n+1, l.Kind, err)
		}
		n++
		if err := fn(rec); err != nil {
			return n, err
		}
	}
}

// ErrNotEmpty is returned by Restore into a store that holds accounts.
var ErrNotEmpty = errors.New("storage: the store is not empty")

// Restore loads the records of a snapshot from r into s, which must be
// empty (no account), in transactions of up to batch records. Records are
// inserted in file order, so versions keep their (Created, Seq) order
// (Seq itself is assigned anew by s) and audit records are appended in
// Seq order, keeping their Seq (the store's trail must be empty). progress, if set, is called after
// each transaction with the records loaded so far.
func Restore(ctx context.Context, s Store, r io.Reader, batch int, progress func(n int64)) (int64, error) {
	err := s.View(ctx, func(tx Tx) error {
		as, err := tx.Accounts()
		if err == nil && len(as) > 0 {
			return ErrNotEmpty
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	var pending []Record
	var loaded int64
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := s.Update(ctx, func(tx Tx) error {
			for _, rec := range pending {
				if err := insertRecord(tx, rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		loaded += int64(len(pending))
		pending = pending[:0]
		if progress != nil {
			progress(loaded)
		}
		return nil
	}
	_, err = ReadSnapshot(r, func(rec Record) error {
		pending = append(pending, rec)
		if len(pending) >= batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return loaded, err
	}
	return loaded, flush()
}

func insertRecord(tx Tx, r Record) error {
	switch {
	case r.Account != nil:
		return tx.InsertAccount(r.Account)
	case r.AccessKey != nil:
		return tx.InsertAccessKey(r.AccessKey)
	case r.Entity != nil:
		return tx.InsertEntity(r.Entity)
	case r.Key != nil:
		return tx.InsertKey(r.Key)
	case r.Secret != nil:
		return tx.InsertSecret(r.Secret)
	case r.Version != nil:
		v := *r.Version
		return tx.InsertVersion(&v)
	case r.AuditRecord != nil:
		return tx.AppendAudit(r.AuditRecord)
	case r.AuditDigest != nil:
		return tx.InsertAuditDigest(r.AuditDigest)
	}
	return errors.New("storage: empty record")
}
