package postgres

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/storagetest"
)

// TestCrossNodeAudit appends to one trail from two nodes at once, each
// closure reading the head (locked FOR UPDATE) and appending its
// successor: the trail must come out 1..n without gap or repeat, each
// record chained to the one before, whichever node wrote it.
func TestCrossNodeAudit(t *testing.T) {
	u := freshSchema(t)
	nodes := []*DB{openTest(t, u), openTest(t, u)}
	for _, n := range nodes {
		defer n.Close()
	}
	const workers, each = 8, 15
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			node := nodes[g%2]
			for i := range each {
				err := node.Update(t.Context(), func(tx storage.Tx) error {
					// Half the closures read something else first, so that
					// their snapshot predates the head they lock.
					if i%2 == 0 {
						if _, err := tx.Accounts(); err != nil {
							return err
						}
					}
					seq, prev, err := tx.AuditHead()
					if err != nil {
						return err
					}
					doc := fmt.Appendf(nil, `{"node":%d,"worker":%d,"i":%d}`, g%2, g, i)
					h := sha256.Sum256(append(append([]byte{}, prev...), doc...))
					return tx.AppendAudit(&storage.AuditRecord{
						Seq: seq + 1, Time: time.Now(), Account: "123456789012", EventName: "PutSecretValue",
						Doc: doc, PrevHash: prev, Hash: h[:],
					})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i, n := range nodes {
		var rs []*storage.AuditRecord
		var head int64
		err := n.View(t.Context(), func(tx storage.Tx) (err error) {
			if head, _, err = tx.AuditHead(); err != nil {
				return err
			}
			rs, err = tx.AuditRecords(0, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if head != workers*each {
			t.Errorf("node %d: head %d, want %d", i, head, workers*each)
		}
		storagetest.CheckAuditChain(t, rs, workers*each)
	}
}
