package sqlite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Audit blocks (migration 0008). A batch of at least blockMin records
// appended in one AppendAudit call (the audit journal's mover moves
// hundreds at a time) is stored as blocks of at most blockMax records
// rather than a row each: one row of audit_blocks holding the records'
// fields, each record's document written as its difference from the one
// before it. Records of one trail are alike: one caller's reads differ
// only in the secret, the ids and the time, so a record takes a quarter
// to a third of its row's bytes. Inserting a record costs SQLite more for its
// bytes than for anything else (bind, B-tree page, WAL frame, checkpoint),
// and the difference costs a comparison of two documents' ends: a record
// kept in a block costs the store a fraction of a row. (flate at its
// fastest level saves more bytes but costs more CPU than it saves.)
//
// A block holds every field of its records as given, so AuditRecords
// returns exactly what AppendAudit was handed, whichever form it was kept
// in. The chain is the audit package's business: the store keeps each
// record's PrevHash and Hash as they came.
//
// The encoding is a format byte (1), then for each record in Seq order
// (the first record's Seq is the row's first_seq, and they follow one
// another):
//
//	uvarint time in milliseconds since the Unix epoch (0: no time)
//	uvarint length, bytes   Account
//	uvarint length, bytes   EventName
//	uvarint length, bytes   PrevHash
//	uvarint length, bytes   Hash
//	uvarint p, uvarint s, uvarint length, bytes m
//
// where the Doc is the first p bytes of the previous record's Doc (none
// for the first record), then m, then the last s bytes of the previous
// record's Doc.
const (
	blockMin    = 16
	blockMax    = 4096
	blockBytes  = 1 << 20 // a block ends with the record that reaches it
	blockFormat = 1
)

// encodeBlock appends the stored form of rs to b.
func encodeBlock(b []byte, rs []*storage.AuditRecord) []byte {
	b = append(b, blockFormat)
	var prev []byte
	for _, r := range rs {
		b = binary.AppendUvarint(b, uint64(toMillis(r.Time)))
		for _, f := range [...][]byte{[]byte(r.Account), []byte(r.EventName), r.PrevHash, r.Hash} {
			b = binary.AppendUvarint(b, uint64(len(f)))
			b = append(b, f...)
		}
		p, s := commonEnds(prev, r.Doc)
		b = binary.AppendUvarint(b, uint64(p))
		b = binary.AppendUvarint(b, uint64(s))
		b = binary.AppendUvarint(b, uint64(len(r.Doc)-p-s))
		b = append(b, r.Doc[p:len(r.Doc)-s]...)
		prev = r.Doc
	}
	return b
}

// commonEnds returns the length of the longest common prefix of a and b,
// and of the longest common suffix of what follows it in both.
func commonEnds(a, b []byte) (p, s int) {
	n := min(len(a), len(b))
	for p < n && a[p] == b[p] {
		p++
	}
	for s < n-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	return p, s
}

// errBadBlock reports a block that does not decode: damaged, or edited by
// something other than coffer.
var errBadBlock = errors.New("audit block does not decode")

// decodeBlock returns the records of the block (first, last, data).
func decodeBlock(first, last int64, data []byte) ([]*storage.AuditRecord, error) {
	bad := func(why string) error {
		return fmt.Errorf("records %d to %d: %w: %s", first, last, errBadBlock, why)
	}
	if last < first || last-first >= blockMax {
		return nil, bad("impossible range")
	}
	if len(data) == 0 || data[0] != blockFormat {
		return nil, bad("unknown format")
	}
	raw := data[1:]
	uvarint := func() (int, bool) {
		n, k := binary.Uvarint(raw)
		if k <= 0 || n > maxBlockBytes {
			return 0, false
		}
		raw = raw[k:]
		return int(n), true
	}
	field := func() ([]byte, bool) {
		n, ok := uvarint()
		if !ok || n > len(raw) {
			return nil, false
		}
		f := raw[:n]
		raw = raw[n:]
		if n == 0 {
			return nil, true
		}
		return bytes.Clone(f), true
	}
	rs := make([]*storage.AuditRecord, 0, last-first+1)
	var prev []byte
	total := 0 // bytes of the documents so far
	for seq := first; seq <= last; seq++ {
		short := bad(fmt.Sprintf("record %d is cut short", seq))
		ms, k := binary.Uvarint(raw)
		if k <= 0 {
			return nil, short
		}
		raw = raw[k:]
		var fs [4][]byte
		for i := range fs {
			var ok bool
			if fs[i], ok = field(); !ok {
				return nil, short
			}
		}
		p, ok1 := uvarint()
		s, ok2 := uvarint()
		m, ok3 := field()
		if !ok1 || !ok2 || !ok3 {
			return nil, short
		}
		if p > len(prev) || s > len(prev)-p {
			return nil, bad(fmt.Sprintf("record %d refers past the record before it", seq))
		}
		if total += p + len(m) + s; total > maxBlockBytes {
			return nil, bad("too large")
		}
		doc := make([]byte, 0, p+len(m)+s)
		doc = append(doc, prev[:p]...)
		doc = append(doc, m...)
		doc = append(doc, prev[len(prev)-s:]...)
		prev = doc
		if len(doc) == 0 {
			doc = nil
		}
		rs = append(rs, &storage.AuditRecord{
			Seq: seq, Time: fromMillis(int64(ms)), Account: string(fs[0]), EventName: string(fs[1]),
			PrevHash: fs[2], Hash: fs[3], Doc: doc,
		})
	}
	if len(raw) != 0 {
		return nil, bad("bytes after the last record")
	}
	return rs, nil
}

// maxBlockBytes bounds the documents a block decodes to, so that a damaged
// block cannot make a reader allocate without end: blockBytes, and the
// record that went past it, of at most a request body's size and its own.
const maxBlockBytes = 16 << 20
