package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

// These tests run inside the package: they write journal frames by hand,
// as a crash would leave them, and break the journal file under a trail.

// openSQLite opens a store at path holding one account, as every store
// whose journal has records does.
func openSQLite(t *testing.T, path string) storage.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	err = db.Update(context.Background(), func(tx storage.Tx) error {
		return tx.InsertAccount(&storage.Account{ID: "123456789012", Created: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// trailRecords returns the trail's records and checks its chain.
func trailRecords(t *testing.T, store storage.Store) []*storage.AuditRecord {
	t.Helper()
	var recs []*storage.AuditRecord
	err := store.View(context.Background(), func(tx storage.Tx) (err error) {
		recs, err = tx.AuditRecords(0, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var prev []byte
	for i, r := range recs {
		if r.Seq != int64(i+1) || !bytes.Equal(r.PrevHash, prev) || !bytes.Equal(r.Hash, ChainHash(prev, r.Doc)) {
			t.Fatalf("record %d (seq %d) does not chain", i, r.Seq)
		}
		prev = r.Hash
	}
	return recs
}

func journalMark(t *testing.T, store storage.Store) int64 {
	t.Helper()
	var mark int64
	if err := store.View(context.Background(), func(tx storage.Tx) (err error) {
		mark, err = tx.AuditJournalMark()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return mark
}

// writeFrames writes frames first..last as a crash would leave them.
func writeFrames(t *testing.T, path string, first, last int64, tail []byte) {
	t.Helper()
	var buf []byte
	for seq := first; seq <= last; seq++ {
		rec := &Record{EventName: "GetSecretValue", RecipientAccountID: "123456789012"}
		doc := fmt.Appendf(nil, `{"eventName":"GetSecretValue","n":%d}`, seq)
		buf = appendFrame(buf, seq, &waiting{doc: doc, rec: rec, when: time.Unix(1700000000+seq, 0)})
	}
	buf = append(buf, tail...)
	if err := os.WriteFile(path+"0", buf, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReplayMovesFramesAfterTheMarkOnce(t *testing.T) {
	dir := t.TempDir()
	store := openSQLite(t, filepath.Join(dir, "coffer.db"))
	defer store.Close()
	jpath := filepath.Join(dir, "coffer.db-audit")

	// A crash left frames 1..5, the last one torn in half.
	var torn []byte
	torn = appendFrame(torn, 6, &waiting{doc: []byte(`{"n":6}`), rec: &Record{}, when: time.Now()})
	writeFrames(t, jpath, 1, 5, torn[:len(torn)/2])
	if err := ReplayJournal(t.Context(), store, jpath, quietLog()); err != nil {
		t.Fatal(err)
	}
	recs := trailRecords(t, store)
	if len(recs) != 5 {
		t.Fatalf("after replay the trail has %d records, want 5 (the torn frame was never acknowledged)", len(recs))
	}
	for i, r := range recs {
		want := fmt.Sprintf(`{"eventName":"GetSecretValue","n":%d}`, i+1)
		if string(r.Doc) != want || r.EventName != "GetSecretValue" || r.Account != "123456789012" || r.Time.Unix() != 1700000000+int64(i+1) {
			t.Errorf("record %d = %s %s %s %v, want doc %s", r.Seq, r.Doc, r.EventName, r.Account, r.Time, want)
		}
	}
	if m := journalMark(t, store); m != 5 {
		t.Errorf("journal mark = %d, want 5", m)
	}
	// Replaying again moves nothing: the frames are at or below the mark.
	if err := ReplayJournal(t.Context(), store, jpath, quietLog()); err != nil {
		t.Fatal(err)
	}
	if n := len(trailRecords(t, store)); n != 5 {
		t.Fatalf("after a second replay the trail has %d records, want 5", n)
	}

	// A crash after a move but before the file was emptied: frames 4..7
	// are in the file, 4 and 5 already in the trail.
	writeFrames(t, jpath, 4, 7, nil)
	if err := ReplayJournal(t.Context(), store, jpath, quietLog()); err != nil {
		t.Fatal(err)
	}
	recs = trailRecords(t, store)
	if len(recs) != 7 || string(recs[6].Doc) != `{"eventName":"GetSecretValue","n":7}` {
		t.Fatalf("after the second replay the trail has %d records (last %s), want 7 ending with n 7", len(recs), recs[len(recs)-1].Doc)
	}
	if m := journalMark(t, store); m != 7 {
		t.Errorf("journal mark = %d, want 7", m)
	}

	// A trail opened now numbers its frames after the mark.
	trail, err := New(store, Config{Journal: jpath, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if trail.journal.next != 8 {
		t.Errorf("next frame = %d, want 8", trail.journal.next)
	}
	if err := trail.Record(t.Context(), &Record{EventName: "GetSecretValue", RecipientAccountID: "123456789012"}); err != nil {
		t.Fatal(err)
	}
	if err := trail.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(trailRecords(t, store)); n != 8 {
		t.Errorf("after Close the trail has %d records, want 8", n)
	}
	if m := journalMark(t, store); m != 8 {
		t.Errorf("journal mark = %d, want 8", m)
	}
}

func TestJournaledRecordsReachTheStore(t *testing.T) {
	dir := t.TempDir()
	store := openSQLite(t, filepath.Join(dir, "coffer.db"))
	defer store.Close()
	jpath := filepath.Join(dir, "coffer.db-audit")
	trail, err := New(store, Config{Journal: jpath, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	const callers, each = 16, 50
	var wg sync.WaitGroup
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				rec := &Record{EventName: "GetSecretValue", RecipientAccountID: "123456789012",
					RequestParameters: map[string]any{"secretId": fmt.Sprintf("s-%d-%d", g, i)}}
				if err := trail.Record(t.Context(), rec); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Every acknowledged record is in the journal file, durable, now.
	j, frames, err := openJournal(jpath)
	if err != nil {
		t.Fatal(err)
	}
	j.close()
	moved := len(trailRecords(t, store))
	if len(frames)+moved < callers*each {
		t.Errorf("journal holds %d frames and the trail %d records; want at least %d between them", len(frames), moved, callers*each)
	}
	if err := trail.Close(); err != nil {
		t.Fatal(err)
	}
	recs := trailRecords(t, store)
	if len(recs) != callers*each {
		t.Fatalf("after Close the trail has %d records, want %d", len(recs), callers*each)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[string(r.Doc)] {
			t.Fatalf("record %d is in the trail twice", r.Seq)
		}
		seen[string(r.Doc)] = true
	}
	if m := journalMark(t, store); m != callers*each {
		t.Errorf("journal mark = %d, want %d", m, callers*each)
	}
}

// failingStore fails every Update while fail is set.
type failingStore struct {
	storage.Store
	fail atomic.Bool
}

var errStoreDown = errors.New("store down (test)")

func (s *failingStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if s.fail.Load() {
		return errStoreDown
	}
	return s.Store.Update(ctx, fn)
}

// failingTrail opens a store with an account, wraps it in a failingStore
// and opens a journaled trail on it; the store closes when the test ends.
func failingTrail(t *testing.T) (db storage.Store, store *failingStore, jpath string, trail *Trail) {
	t.Helper()
	dir := t.TempDir()
	db = openSQLite(t, filepath.Join(dir, "coffer.db"))
	t.Cleanup(func() { db.Close() })
	store = &failingStore{Store: db}
	jpath = filepath.Join(dir, "coffer.db-audit")
	trail, err := New(store, Config{Journal: jpath, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return db, store, jpath, trail
}

func TestRecordRefusedWhileTheStoreFails(t *testing.T) {
	db, store, _, trail := failingTrail(t)
	defer trail.Close()
	rec := func() *Record { return &Record{EventName: "GetSecretValue", RecipientAccountID: "123456789012"} }
	if err := trail.Record(t.Context(), rec()); err != nil {
		t.Fatal(err)
	}
	store.fail.Store(true)
	// The next record is durable in the journal; the move fails, and from
	// then on Record refuses.
	_ = trail.Record(t.Context(), rec())
	deadline := time.Now().Add(5 * time.Second)
	var refused error
	for time.Now().Before(deadline) {
		if refused = trail.Record(t.Context(), rec()); refused != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !errors.Is(refused, errStoreDown) {
		t.Fatalf("Record while the store fails = %v, want an error wrapping %v", refused, errStoreDown)
	}
	store.fail.Store(false)
	deadline = time.Now().Add(5 * time.Second)
	for {
		if err := trail.Record(t.Context(), rec()); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("Record after the store came back: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := trail.Close(); err != nil {
		t.Fatal(err)
	}
	// Every acknowledged record is in the trail, once.
	recs := trailRecords(t, db)
	if m := journalMark(t, db); m != int64(len(recs)) {
		t.Errorf("journal mark %d, trail %d records: every journaled record should be in the trail", m, len(recs))
	}
}

func TestRecordFailsWhenTheJournalCannotBeWritten(t *testing.T) {
	dir := t.TempDir()
	store := openSQLite(t, filepath.Join(dir, "coffer.db"))
	defer store.Close()
	trail, err := New(store, Config{Journal: filepath.Join(dir, "coffer.db-audit"), Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	// The file goes away under the trail (as on a failing disk).
	trail.journal.files[trail.journal.cur].f.Close()
	err = trail.Record(t.Context(), &Record{EventName: "GetSecretValue", RecipientAccountID: "123456789012"})
	if err == nil {
		t.Fatal("Record succeeded with a journal that cannot be written")
	}
	trail.Close()
	if n := len(trailRecords(t, store)); n != 0 {
		t.Errorf("the trail has %d records after a refused Record, want 0", n)
	}
}

func TestDecodeFramesStopsAtDamage(t *testing.T) {
	var buf []byte
	for seq := int64(1); seq <= 3; seq++ {
		buf = appendFrame(buf, seq, &waiting{doc: []byte(`{}`), rec: &Record{EventName: "E", RecipientAccountID: "A"}, when: time.Unix(0, 0)})
	}
	frames, n := decodeFrames(buf)
	if len(frames) != 3 || n != int64(len(buf)) {
		t.Fatalf("decoded %d frames over %d bytes, want 3 over %d", len(frames), n, len(buf))
	}
	one := int(n) / 3
	flipped := bytes.Clone(buf)
	flipped[one+frameHeader+3] ^= 1 // a byte of frame 2's payload
	if frames, n := decodeFrames(flipped); len(frames) != 1 || n != int64(one) {
		t.Errorf("with frame 2 damaged: %d frames over %d bytes, want 1 over %d", len(frames), n, one)
	}
	if frames, _ := decodeFrames(buf[:len(buf)-1]); len(frames) != 2 {
		t.Errorf("with the last frame short: %d frames, want 2", len(frames))
	}
	if frames, _ := decodeFrames(append(bytes.Clone(buf[2*one:]), buf[:one]...)); len(frames) != 1 {
		t.Errorf("with frame 1 after frame 3: %d frames, want 1 (seqs must grow)", len(frames))
	}
}

// TestJournalFilesTakeTurnsAndSurviveAnAbandonedTrail writes through small
// journal files (they switch every few records), then stops the store so
// that records stay in the journal, abandons the trail, and checks that
// the next open puts every acknowledged record in the trail once.
func TestJournalFilesTakeTurnsAndSurviveAnAbandonedTrail(t *testing.T) {
	defer func(n int) { journalSize = n }(journalSize)
	journalSize = 2048
	db, store, jpath, trail := failingTrail(t)
	acked := 0
	record := func(i int) error {
		err := trail.Record(t.Context(), &Record{EventName: "GetSecretValue", RecipientAccountID: "123456789012",
			RequestParameters: map[string]any{"secretId": fmt.Sprintf("s-%d", i)}})
		if err == nil {
			acked++
		}
		return err
	}
	switched := false
	for i := range 200 {
		if err := record(i); err != nil {
			t.Fatal(err)
		}
		if i%20 == 19 {
			time.Sleep(2 * moveInterval) // let the mover catch up, so that the files can take turns
		}
		switched = switched || trail.journal.cur == 1
	}
	if !switched {
		t.Error("the journal never moved to its second file")
	}
	store.fail.Store(true)
	for i := 200; i < 10000; i++ {
		if record(i) != nil {
			break
		}
	}
	trail.Close() // the moves fail: the journal keeps what is not in the store
	if n := len(trailRecords(t, db)); n >= acked {
		t.Fatalf("the store has %d of %d records before the replay; the test wants some left in the journal", n, acked)
	}
	if err := ReplayJournal(t.Context(), db, jpath, quietLog()); err != nil {
		t.Fatal(err)
	}
	recs := trailRecords(t, db)
	if len(recs) != acked {
		t.Fatalf("after the replay the trail has %d records, want the %d acknowledged", len(recs), acked)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[string(r.Doc)] {
			t.Fatalf("record %d is in the trail twice", r.Seq)
		}
		seen[string(r.Doc)] = true
	}
}

// TestReplayIntoAStoreWithoutAccountMovesNothing: a journal beside a
// database that has no account (a new one, restored or made, beside the
// old database's journal) is another database's, and its records stay out.
func TestReplayIntoAStoreWithoutAccountMovesNothing(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "coffer.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jpath := filepath.Join(dir, "coffer.db-audit")
	writeFrames(t, jpath, 1, 4, nil)
	if err := ReplayJournal(t.Context(), db, jpath, quietLog()); err != nil {
		t.Fatal(err)
	}
	if n := len(trailRecords(t, db)); n != 0 {
		t.Fatalf("the trail of a store without account received %d records from the journal", n)
	}
	// The trail opened on it numbers its frames after the old ones, and
	// its own records do reach the store.
	if err := db.Update(t.Context(), func(tx storage.Tx) error {
		return tx.InsertAccount(&storage.Account{ID: "123456789012", Created: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	trail, err := New(db, Config{Journal: jpath, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := trail.Record(t.Context(), &Record{EventName: "GetSecretValue", RecipientAccountID: "123456789012"}); err != nil {
		t.Fatal(err)
	}
	if err := trail.Close(); err != nil {
		t.Fatal(err)
	}
	if recs := trailRecords(t, db); len(recs) != 1 || !bytes.Contains(recs[0].Doc, []byte(`"eventName":"GetSecretValue"`)) || bytes.Contains(recs[0].Doc, []byte(`"n":`)) {
		t.Fatalf("trail after a new record: %d records; want only the new one", len(recs))
	}
}
