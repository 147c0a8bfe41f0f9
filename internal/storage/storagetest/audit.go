package storagetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// The audit trail: append-only records chained by hash, serialized by the
// head, the signed digests of the chain, and the mark of the audit journal.

// auditTests are registered in Run.
var auditTests = []suiteTest{
	{"AuditEmpty", testAuditEmpty},
	{"AuditAppend", testAuditAppend},
	{"AuditFields", testAuditFields},
	{"AuditConflict", testAuditConflict},
	{"AuditAppendMany", testAuditAppendMany},
	{"AuditPagingMixed", testAuditPagingMixed},
	{"AuditPaging", testAuditPaging},
	{"AuditDigests", testAuditDigests},
	{"AuditRollBack", testAuditRollBack},
	{"AuditWritesInView", testAuditWritesInView},
	{"AuditConcurrentAppends", testAuditConcurrentAppends},
	{"AuditJournalMark", testAuditJournalMark},
}

// newAuditRecord returns record seq chained after prev (nil for the first),
// with every field set; its time has sub-millisecond digits and a zone
// other than UTC, which the store drops.
func newAuditRecord(seq int64, prev []byte) *storage.AuditRecord {
	zone := time.FixedZone("UTC+2", 2*60*60)
	doc := fmt.Appendf(nil, `{"eventVersion":"1.08","eventName":"GetSecretValue","seq":%d}`, seq)
	h := sha256.New()
	h.Write(prev)
	h.Write(doc)
	return &storage.AuditRecord{
		Seq:       seq,
		Time:      base.Add(time.Duration(seq)*time.Second + 123456*time.Nanosecond).In(zone),
		Account:   acct,
		EventName: "GetSecretValue",
		Doc:       doc,
		PrevHash:  prev,
		Hash:      h.Sum(nil),
	}
}

func checkAuditRecord(t *testing.T, got, want *storage.AuditRecord) {
	t.Helper()
	if got == nil {
		t.Errorf("audit record %d: got nil", want.Seq)
		return
	}
	g, w := *got, *want
	sameTime(t, fmt.Sprintf("AuditRecord %d Time", w.Seq), &g.Time, w.Time)
	w.Time = ms(w.Time)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("audit record:\n got %+v (doc %s)\nwant %+v (doc %s)", g, g.Doc, w, w.Doc)
	}
}

// appendAudit appends the head's successor in its own Update and returns it.
func appendAudit(t *testing.T, s storage.Store) *storage.AuditRecord {
	t.Helper()
	var r *storage.AuditRecord
	update(t, s, func(tx storage.Tx) error {
		seq, hash, err := tx.AuditHead()
		if err != nil {
			return err
		}
		r = newAuditRecord(seq+1, hash)
		return tx.AppendAudit(r)
	})
	return r
}

func auditHead(t *testing.T, s storage.Store) (int64, []byte) {
	t.Helper()
	var seq int64
	var hash []byte
	view(t, s, func(tx storage.Tx) (err error) {
		seq, hash, err = tx.AuditHead()
		return err
	})
	return seq, hash
}

func auditRecords(t *testing.T, s storage.Store, after int64, limit int) []*storage.AuditRecord {
	t.Helper()
	var rs []*storage.AuditRecord
	view(t, s, func(tx storage.Tx) (err error) {
		rs, err = tx.AuditRecords(after, limit)
		return err
	})
	return rs
}

func seqs(rs []*storage.AuditRecord) []int64 {
	out := []int64{}
	for _, r := range rs {
		out = append(out, r.Seq)
	}
	return out
}

func testAuditEmpty(t *testing.T, s storage.Store) {
	if seq, hash := auditHead(t, s); seq != 0 || hash != nil {
		t.Errorf("View AuditHead of an empty trail: %d %x, want 0 nil", seq, hash)
	}
	update(t, s, func(tx storage.Tx) error {
		seq, hash, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if seq != 0 || hash != nil {
			t.Errorf("Update AuditHead of an empty trail: %d %x, want 0 nil", seq, hash)
		}
		return nil
	})
	if rs := auditRecords(t, s, 0, 10); len(rs) != 0 {
		t.Errorf("AuditRecords of an empty trail: %d records", len(rs))
	}
	view(t, s, func(tx storage.Tx) error {
		ds, err := tx.AuditDigests()
		if err == nil && len(ds) != 0 {
			t.Errorf("AuditDigests of an empty trail: %d digests", len(ds))
		}
		return err
	})
}

func testAuditAppend(t *testing.T, s storage.Store) {
	var want []*storage.AuditRecord
	for range 5 {
		want = append(want, appendAudit(t, s))
	}
	for i, r := range want {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d appended with Seq %d: the head did not advance", i+1, r.Seq)
		}
	}
	seq, hash := auditHead(t, s)
	if seq != 5 || !reflect.DeepEqual(hash, want[4].Hash) {
		t.Errorf("AuditHead: %d %x, want 5 %x", seq, hash, want[4].Hash)
	}
	got := auditRecords(t, s, 0, 100)
	if len(got) != len(want) {
		t.Fatalf("AuditRecords: Seqs %v, want 1..5", seqs(got))
	}
	for i := range want {
		checkAuditRecord(t, got[i], want[i])
	}
	if got[0].PrevHash != nil {
		t.Errorf("first record's PrevHash: %x, want nil", got[0].PrevHash)
	}

	// Several records in one transaction.
	update(t, s, func(tx storage.Tx) error {
		for range 3 {
			seq, hash, err := tx.AuditHead()
			if err != nil {
				return err
			}
			if err := tx.AppendAudit(newAuditRecord(seq+1, hash)); err != nil {
				return err
			}
		}
		return nil
	})
	if seq, _ := auditHead(t, s); seq != 8 {
		t.Errorf("AuditHead after three appends in one Update: %d, want 8", seq)
	}
}

func testAuditFields(t *testing.T, s storage.Store) {
	first := newAuditRecord(1, nil)
	first.Account = acct2
	first.EventName = "CreateSecret"
	first.Doc = []byte(`{"eventName":"CreateSecret","requestParameters":{"name":"db/primary"},"unicode":"été ✓"}`)
	second := newAuditRecord(2, first.Hash)
	second.Time = time.Date(2031, 12, 31, 23, 59, 59, 999999999, time.UTC) // rounds down to .999
	second.Hash = []byte{0, 1, 2, 0xff, 0xfe, 0}                           // arbitrary bytes survive
	update(t, s, func(tx storage.Tx) error {
		if err := tx.AppendAudit(first); err != nil {
			return err
		}
		return tx.AppendAudit(second)
	})
	got := auditRecords(t, s, 0, 0)
	if len(got) != 2 {
		t.Fatalf("AuditRecords: Seqs %v, want [1 2]", seqs(got))
	}
	checkAuditRecord(t, got[0], first)
	checkAuditRecord(t, got[1], second)
	if want := time.Date(2031, 12, 31, 23, 59, 59, 999000000, time.UTC); !got[1].Time.Equal(want) {
		t.Errorf("Time: %v, want %v", got[1].Time, want)
	}
	seq, hash := auditHead(t, s)
	if seq != 2 || !reflect.DeepEqual(hash, second.Hash) {
		t.Errorf("AuditHead: %d %x, want 2 %x", seq, hash, second.Hash)
	}
}

func testAuditConflict(t *testing.T, s storage.Store) {
	one := appendAudit(t, s)
	two := newAuditRecord(2, one.Hash)
	update(t, s, func(tx storage.Tx) error {
		for _, bad := range []int64{0, 1, 3, -1} {
			r := newAuditRecord(bad, one.Hash)
			wantErr(t, fmt.Sprintf("AppendAudit with Seq %d after head 1", bad), tx.AppendAudit(r), storage.ErrConflict)
		}
		// The transaction is still usable, and nothing changed.
		seq, _, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if seq != 1 {
			t.Errorf("AuditHead after refused appends: %d, want 1", seq)
		}
		return tx.AppendAudit(two)
	})
	got := auditRecords(t, s, 0, 0)
	if len(got) != 2 {
		t.Fatalf("AuditRecords: Seqs %v, want [1 2]", seqs(got))
	}
	checkAuditRecord(t, got[1], two)
	if seq, _ := auditHead(t, s); seq != 2 {
		t.Errorf("AuditHead: %d, want 2", seq)
	}
	// Appending record 2 again is a conflict too.
	err := s.Update(t.Context(), func(tx storage.Tx) error { return tx.AppendAudit(newAuditRecord(2, one.Hash)) })
	wantErr(t, "AppendAudit of a Seq already taken", err, storage.ErrConflict)
}

// chain returns n records chained after (seq, hash).
func chain(seq int64, hash []byte, n int) []*storage.AuditRecord {
	rs := make([]*storage.AuditRecord, n)
	for i := range rs {
		rs[i] = newAuditRecord(seq+1, hash)
		seq, hash = rs[i].Seq, rs[i].Hash
	}
	return rs
}

// testAuditAppendMany appends many records in one AppendAudit call (more
// than a backend's statement batch, and a remainder), and refuses a batch
// that does not follow the head or skips a Seq, inserting none of it.
func testAuditAppendMany(t *testing.T, s storage.Store) {
	one := appendAudit(t, s)
	many := chain(1, one.Hash, 70)
	update(t, s, func(tx storage.Tx) error {
		if err := tx.AppendAudit(); err != nil {
			t.Errorf("AppendAudit of nothing: %v", err)
		}
		return tx.AppendAudit(many...)
	})
	got := auditRecords(t, s, 0, 0)
	if len(got) != 71 {
		t.Fatalf("AuditRecords after appending 70 in one call: Seqs %v, want 1..71", seqs(got))
	}
	for i, w := range many {
		checkAuditRecord(t, got[i+1], w)
	}
	if seq, hash := auditHead(t, s); seq != 71 || !reflect.DeepEqual(hash, many[69].Hash) {
		t.Errorf("AuditHead: %d %x, want 71 %x", seq, hash, many[69].Hash)
	}

	next := chain(71, many[69].Hash, 40)
	gap := append(append([]*storage.AuditRecord{}, next[:35]...), next[36:]...)
	for _, c := range []struct {
		name string
		rs   []*storage.AuditRecord
	}{
		{"a batch that does not follow the head", chain(72, many[69].Hash, 40)},
		{"a batch that skips a Seq after its 35th record", gap},
		{"a batch that starts at a Seq already taken", chain(70, many[68].Hash, 5)},
	} {
		update(t, s, func(tx storage.Tx) error {
			wantErr(t, "AppendAudit of "+c.name, tx.AppendAudit(c.rs...), storage.ErrConflict)
			return nil
		})
		if seq, _ := auditHead(t, s); seq != 71 {
			t.Errorf("AuditHead after AppendAudit of %s: %d, want 71", c.name, seq)
		}
		if got := auditRecords(t, s, 71, 0); len(got) != 0 {
			t.Errorf("AuditRecords after AppendAudit of %s: Seqs %v, want none", c.name, seqs(got))
		}
	}
	// The refused batches changed nothing: the right one goes in after them.
	update(t, s, func(tx storage.Tx) error { return tx.AppendAudit(next...) })
	if seq, _ := auditHead(t, s); seq != 111 {
		t.Errorf("AuditHead after appending 40 more: %d, want 111", seq)
	}
}

// testAuditPagingMixed pages through a trail appended one record at a
// time and many at once, alternately (a backend may keep the two apart:
// SQLite keeps large batches as blocks), from every position and with
// limits that end inside a batch and past it.
func testAuditPagingMixed(t *testing.T, s storage.Store) {
	var want []*storage.AuditRecord
	for _, n := range []int{1, 1, 100, 1, 17, 1, 1, 300, 1} {
		update(t, s, func(tx storage.Tx) error {
			seq, hash, err := tx.AuditHead()
			if err != nil {
				return err
			}
			rs := chain(seq, hash, n)
			want = append(want, rs...)
			return tx.AppendAudit(rs...)
		})
	}
	if seq, hash := auditHead(t, s); seq != int64(len(want)) || !reflect.DeepEqual(hash, want[len(want)-1].Hash) {
		t.Fatalf("AuditHead: %d %x, want %d %x", seq, hash, len(want), want[len(want)-1].Hash)
	}
	all := auditRecords(t, s, 0, 0)
	if len(all) != len(want) {
		t.Fatalf("AuditRecords: %d records, want %d", len(all), len(want))
	}
	for i := range want {
		checkAuditRecord(t, all[i], want[i])
	}
	for _, after := range []int64{0, 1, 2, 3, 50, 102, 103, 104, 110, 120, 121, 122, 123, 300, 422, 423, 424, 500} {
		for _, limit := range []int{0, 1, 7, 99, 100, 1000} {
			got := auditRecords(t, s, after, limit)
			var exp []*storage.AuditRecord
			if after < int64(len(want)) {
				exp = want[after:]
			}
			if limit > 0 && len(exp) > limit {
				exp = exp[:limit]
			}
			if len(got) != len(exp) {
				t.Fatalf("AuditRecords(after %d, limit %d): Seqs %v, want %d records from %d", after, limit, seqs(got), len(exp), after+1)
			}
			for i := range exp {
				if got[i].Seq != exp[i].Seq || !reflect.DeepEqual(got[i].Hash, exp[i].Hash) {
					t.Fatalf("AuditRecords(after %d, limit %d)[%d]: Seq %d, want %d", after, limit, i, got[i].Seq, exp[i].Seq)
				}
			}
		}
	}
}

func testAuditPaging(t *testing.T, s storage.Store) {
	for range 7 {
		appendAudit(t, s)
	}
	cases := []struct {
		after int64
		limit int
		want  []int64
	}{
		{0, 3, []int64{1, 2, 3}},
		{3, 3, []int64{4, 5, 6}},
		{6, 3, []int64{7}},
		{7, 3, []int64{}},
		{2, 100, []int64{3, 4, 5, 6, 7}},
		{5, 1, []int64{6}},
		{100, 5, []int64{}},
	}
	for _, c := range cases {
		if got := seqs(auditRecords(t, s, c.after, c.limit)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("AuditRecords(after %d, limit %d): %v, want %v", c.after, c.limit, got, c.want)
		}
	}
	// Walking the trail page by page meets every record once, in order.
	var walked []int64
	for after := int64(0); ; {
		page := auditRecords(t, s, after, 2)
		if len(page) == 0 {
			break
		}
		walked = append(walked, seqs(page)...)
		after = page[len(page)-1].Seq
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7}; !reflect.DeepEqual(walked, want) {
		t.Errorf("paging by 2: %v, want %v", walked, want)
	}
}

func newAuditDigest(seq int64) *storage.AuditDigest {
	return &storage.AuditDigest{
		Seq:       seq,
		Hash:      fmt.Appendf(nil, "hash-%d", seq),
		Time:      base.Add(time.Duration(seq)*time.Minute + 999*time.Microsecond).In(time.FixedZone("X", -5*60*60)),
		KeyID:     "audit-key-1",
		Signature: []byte{0, 0xff, byte(seq)},
	}
}

func testAuditDigests(t *testing.T, s storage.Store) {
	ds := []*storage.AuditDigest{newAuditDigest(10), newAuditDigest(5), newAuditDigest(20)}
	ds[2].KeyID = "audit-key-2"
	update(t, s, func(tx storage.Tx) error {
		for _, d := range ds {
			if err := tx.InsertAuditDigest(d); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx storage.Tx) error {
		dup := newAuditDigest(10)
		dup.KeyID = "other"
		wantErr(t, "InsertAuditDigest of a taken Seq", tx.InsertAuditDigest(dup), storage.ErrConflict)
		// Still usable.
		return tx.InsertAuditDigest(newAuditDigest(15))
	})
	var got []*storage.AuditDigest
	view(t, s, func(tx storage.Tx) (err error) {
		got, err = tx.AuditDigests()
		return err
	})
	want := []*storage.AuditDigest{ds[1], ds[0], newAuditDigest(15), ds[2]}
	if len(got) != len(want) {
		t.Fatalf("AuditDigests: %d digests, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := *got[i], *want[i]
		sameTime(t, fmt.Sprintf("AuditDigest %d Time", w.Seq), &g.Time, w.Time)
		w.Time = ms(w.Time)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("digest %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func testAuditRollBack(t *testing.T, s storage.Store) {
	one := appendAudit(t, s)
	err := s.Update(t.Context(), func(tx storage.Tx) error {
		seq, hash, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if err := tx.AppendAudit(newAuditRecord(seq+1, hash)); err != nil {
			return err
		}
		if err := tx.InsertAuditDigest(newAuditDigest(seq + 1)); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "Update whose closure failed", err, errBoom)
	seq, hash := auditHead(t, s)
	if seq != 1 || !reflect.DeepEqual(hash, one.Hash) {
		t.Errorf("AuditHead after a rolled back append: %d %x, want 1 %x", seq, hash, one.Hash)
	}
	if got := seqs(auditRecords(t, s, 0, 0)); !reflect.DeepEqual(got, []int64{1}) {
		t.Errorf("AuditRecords after a rolled back append: %v, want [1]", got)
	}
	view(t, s, func(tx storage.Tx) error {
		ds, err := tx.AuditDigests()
		if err == nil && len(ds) != 0 {
			t.Errorf("AuditDigests after a rolled back insert: %d digests", len(ds))
		}
		return err
	})
	// The next append takes the Seq the rolled back one had.
	if two := appendAudit(t, s); two.Seq != 2 {
		t.Errorf("append after the rollback got Seq %d, want 2", two.Seq)
	}
}

func testAuditWritesInView(t *testing.T, s storage.Store) {
	view(t, s, func(tx storage.Tx) error {
		if err := tx.AppendAudit(newAuditRecord(1, nil)); err == nil {
			t.Error("AppendAudit in a View: no error")
		}
		if err := tx.InsertAuditDigest(newAuditDigest(1)); err == nil {
			t.Error("InsertAuditDigest in a View: no error")
		}
		return nil
	})
	if seq, _ := auditHead(t, s); seq != 0 {
		t.Errorf("AuditHead after writes in a View: %d, want 0", seq)
	}
}

// testAuditConcurrentAppends appends from many goroutines at once, each
// reading the head and appending its successor: the trail must come out
// 1..n without gap or repeat, every record chained to the one before.
func testAuditConcurrentAppends(t *testing.T, s storage.Store) {
	const workers, each = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				err := s.Update(t.Context(), func(tx storage.Tx) error {
					seq, hash, err := tx.AuditHead()
					if err != nil {
						return err
					}
					return tx.AppendAudit(newAuditRecord(seq+1, hash))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent append: %v", err)
	}
	CheckAuditChain(t, auditRecords(t, s, 0, 0), workers*each)
}

func auditJournalMark(t *testing.T, s storage.Store) int64 {
	t.Helper()
	var mark int64
	view(t, s, func(tx storage.Tx) (err error) {
		mark, err = tx.AuditJournalMark()
		return err
	})
	return mark
}

// testAuditJournalMark checks that the mark starts at 0, never goes back,
// is written only in an Update and rolls back with it.
func testAuditJournalMark(t *testing.T, s storage.Store) {
	if mark := auditJournalMark(t, s); mark != 0 {
		t.Errorf("View AuditJournalMark of a new store: %d, want 0", mark)
	}
	update(t, s, func(tx storage.Tx) error {
		mark, err := tx.AuditJournalMark()
		if err != nil {
			return err
		}
		if mark != 0 {
			t.Errorf("Update AuditJournalMark of a new store: %d, want 0", mark)
		}
		return tx.SetAuditJournalMark(5)
	})
	if mark := auditJournalMark(t, s); mark != 5 {
		t.Errorf("AuditJournalMark after setting 5: %d, want 5", mark)
	}

	update(t, s, func(tx storage.Tx) error {
		if err := tx.SetAuditJournalMark(5); err != nil {
			t.Errorf("SetAuditJournalMark of the stored mark: %v", err)
		}
		wantErr(t, "SetAuditJournalMark(3) after 5", tx.SetAuditJournalMark(3), storage.ErrConflict)
		if err := tx.SetAuditJournalMark(-1); err == nil || errors.Is(err, storage.ErrConflict) {
			t.Errorf("SetAuditJournalMark(-1): error %v, want an error other than ErrConflict", err)
		}
		// The transaction is still usable, and the mark did not change.
		mark, err := tx.AuditJournalMark()
		if err != nil {
			return err
		}
		if mark != 5 {
			t.Errorf("AuditJournalMark after refused sets: %d, want 5", mark)
		}
		return nil
	})
	if mark := auditJournalMark(t, s); mark != 5 {
		t.Errorf("AuditJournalMark after refused sets: %d, want 5", mark)
	}

	view(t, s, func(tx storage.Tx) error {
		if err := tx.SetAuditJournalMark(7); err == nil {
			t.Error("SetAuditJournalMark in a View: no error")
		}
		return nil
	})
	if mark := auditJournalMark(t, s); mark != 5 {
		t.Errorf("AuditJournalMark after a set in a View: %d, want 5", mark)
	}

	// The mark rolls back with the records it covers.
	err := s.Update(t.Context(), func(tx storage.Tx) error {
		if err := tx.AppendAudit(newAuditRecord(1, nil)); err != nil {
			return err
		}
		if err := tx.SetAuditJournalMark(9); err != nil {
			return err
		}
		mark, err := tx.AuditJournalMark()
		if err != nil {
			return err
		}
		if mark != 9 {
			t.Errorf("AuditJournalMark in the Update that set 9: %d, want 9", mark)
		}
		return errBoom
	})
	wantErr(t, "Update whose closure failed", err, errBoom)
	if mark := auditJournalMark(t, s); mark != 5 {
		t.Errorf("AuditJournalMark after a rolled back set: %d, want 5", mark)
	}
	if seq, _ := auditHead(t, s); seq != 0 {
		t.Errorf("AuditHead after a rolled back append: %d, want 0", seq)
	}
}

// CheckAuditChain checks that rs is a whole trail of n records: Seq 1..n in
// order, each record's PrevHash the Hash of the one before (nil for the
// first). Backend tests use it after appending from several stores.
func CheckAuditChain(t *testing.T, rs []*storage.AuditRecord, n int) {
	t.Helper()
	if len(rs) != n {
		t.Errorf("trail has %d records, want %d", len(rs), n)
	}
	var prev []byte
	for i, r := range rs {
		if r.Seq != int64(i+1) {
			t.Errorf("record %d has Seq %d: a gap or a repeat", i+1, r.Seq)
			return
		}
		if !reflect.DeepEqual(r.PrevHash, prev) {
			t.Errorf("record %d: PrevHash %x, want the previous Hash %x", r.Seq, r.PrevHash, prev)
			return
		}
		prev = r.Hash
	}
}
