package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Report is what Verify checked.
type Report struct {
	Records  int64  // records whose hash and link were checked
	Digests  int    // digests whose signature and hash were checked
	HeadSeq  int64  // Seq of the last record
	HeadHash []byte // Hash of the last record
	// LastDigestSeq is the Seq the newest digest pins (0 without digests):
	// records after it are protected by the chain alone until the next
	// digest.
	LastDigestSeq int64
}

// ErrTampered is wrapped by every error of Verify that reports a change to
// the trail (as opposed to a failure to read it).
var ErrTampered = errors.New("audit: trail tampered with")

// pageSize is how many records Verify and Lookup read per transaction.
const pageSize = 1000

// rowMeta is what Verify keeps of each record.
type rowMeta struct {
	seq    int64
	prev   []byte
	hash   []byte
	selfOK bool
}

// Verify checks the whole chain and every digest; the error names the
// first record edited, deleted, inserted or reordered, or a digest that is
// forged. It needs the public audit key only.
//
// The diagnosis, at the first record r (in Seq order) that does not fit:
//   - r's Hash is not SHA-256(PrevHash || Doc): when its Doc and Hash hash
//     correctly after another record's Hash, records were swapped
//     ("records reordered at n"), else "record n was edited";
//   - a Seq is skipped: "record n is missing (deleted)";
//   - r's PrevHash is not its predecessor's Hash: when r links to the
//     record before its predecessor, the predecessor is foreign ("record
//     n-1 was inserted"); when r links to another record of the trail,
//     "records reordered at n"; when r's successor links to r's
//     predecessor, r is foreign ("record n was inserted"); when a digest pins the predecessor
//     to another hash, "record n-1 was edited"; otherwise the record r
//     followed is gone: "record n is missing (deleted)";
//   - a digest whose signature fails: "digest at record n is forged"; a
//     digest whose hash differs from the record at its Seq: "record n was
//     edited"; a digest beyond the last record: "record n is missing
//     (deleted)" (a truncated tail).
func Verify(ctx context.Context, store storage.Store, pub ed25519.PublicKey) (Report, error) {
	var rep Report
	if len(pub) != ed25519.PublicKeySize {
		return rep, errors.New("audit: verify needs an ed25519 public key")
	}
	var (
		rows     []rowMeta
		badDocs  = map[int][]byte{} // index -> Doc, for the first records failing their own hash
		digests  []*storage.AuditDigest
		after    int64
		readErr  error
		pageRecs []*storage.AuditRecord
	)
	for {
		readErr = store.View(ctx, func(tx storage.Tx) error {
			var err error
			pageRecs, err = tx.AuditRecords(after, pageSize)
			return err
		})
		if readErr != nil {
			return rep, fmt.Errorf("audit: reading records after %d: %w", after, readErr)
		}
		for _, r := range pageRecs {
			ok := bytes.Equal(ChainHash(r.PrevHash, r.Doc), r.Hash)
			if !ok && len(badDocs) < 4 {
				badDocs[len(rows)] = r.Doc
			}
			rows = append(rows, rowMeta{seq: r.Seq, prev: r.PrevHash, hash: r.Hash, selfOK: ok})
		}
		if len(pageRecs) < pageSize {
			break
		}
		after = pageRecs[len(pageRecs)-1].Seq
	}
	if err := store.View(ctx, func(tx storage.Tx) error {
		var err error
		digests, err = tx.AuditDigests()
		return err
	}); err != nil {
		return rep, fmt.Errorf("audit: reading digests: %w", err)
	}
	pinned := map[int64][]byte{} // seq -> hash, from digests with a good signature
	keyID := KeyID(pub)
	var digestErr error
	for _, d := range digests {
		if d.KeyID != keyID || !ed25519.Verify(pub, DigestMessage(d.Seq, d.Hash, d.Time), d.Signature) {
			if digestErr == nil {
				digestErr = tampered("digest at record %d is forged (its signature does not verify with key %s)", d.Seq, keyID)
			}
			continue
		}
		pinned[d.Seq] = d.Hash
	}

	tamperedErr := diagnose(rows, badDocs, pinned)
	if tamperedErr != nil {
		return rep, tamperedErr
	}
	rep.Records = int64(len(rows))
	if len(rows) > 0 {
		rep.HeadSeq, rep.HeadHash = rows[len(rows)-1].seq, rows[len(rows)-1].hash
	}
	if digestErr != nil {
		return rep, digestErr
	}
	for _, d := range digests {
		if d.Seq < 1 || d.Seq > rep.HeadSeq {
			return rep, tampered("record %d is missing (deleted): a digest pins it but the trail ends at %d", d.Seq, rep.HeadSeq)
		}
		r := rows[d.Seq-1] // the chain is continuous from 1 here
		if !bytes.Equal(r.hash, d.Hash) {
			return rep, tampered("record %d was edited (its hash differs from the signed digest)", d.Seq)
		}
		rep.Digests++
		if d.Seq > rep.LastDigestSeq {
			rep.LastDigestSeq = d.Seq
		}
	}
	return rep, nil
}

func tampered(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrTampered}, args...)...)
}

// diagnose walks the rows in Seq order and names the first problem.
func diagnose(rows []rowMeta, badDocs map[int][]byte, pinned map[int64][]byte) error {
	var (
		expect = int64(1)
		prev   []byte
	)
	hashAt := map[string]int{}
	for i, r := range rows {
		hashAt[string(r.hash)] = i
	}
	for i, r := range rows {
		if !r.selfOK {
			if doc, ok := badDocs[i]; ok {
				if bytes.Equal(ChainHash(nil, doc), r.hash) && i != 0 {
					return tampered("records reordered at %d", r.seq)
				}
				for j, o := range rows {
					if j != i-1 && bytes.Equal(ChainHash(o.hash, doc), r.hash) {
						return tampered("records reordered at %d", r.seq)
					}
				}
			}
			return tampered("record %d was edited (its hash does not match its content)", r.seq)
		}
		if r.seq > expect {
			return tampered("record %d is missing (deleted)", expect)
		}
		if r.seq < expect {
			return tampered("record %d was inserted (its sequence number repeats)", r.seq)
		}
		if !bytes.Equal(r.prev, prev) {
			// The predecessor skipped: it was inserted (with a good link).
			if (i >= 2 && bytes.Equal(r.prev, rows[i-2].hash)) || (i == 1 && len(r.prev) == 0) {
				return tampered("record %d was inserted", rows[i-1].seq)
			}
			// r follows another record of the trail: rows were moved.
			if j, ok := hashAt[string(r.prev)]; ok && len(r.prev) > 0 && j != i-1 {
				return tampered("records reordered at %d", r.seq)
			}
			// The successor skips r: r was inserted (with a bad link).
			if i+1 < len(rows) && bytes.Equal(rows[i+1].prev, prev) {
				return tampered("record %d was inserted", r.seq)
			}
			if i > 0 {
				if h, ok := pinned[rows[i-1].seq]; ok && !bytes.Equal(h, rows[i-1].hash) {
					return tampered("record %d was edited (its hash differs from the signed digest)", rows[i-1].seq)
				}
			}
			return tampered("record %d is missing (deleted)", r.seq)
		}
		prev = r.hash
		expect++
	}
	return nil
}
