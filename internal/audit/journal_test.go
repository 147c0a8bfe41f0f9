package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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

// The tests below cover Config.JournalSync > 0: Record returns once its
// frame is written to the journal file, and syncLoop fdatasyncs it later.

// syncTrail opens a store with an account, wraps it in a failingStore and
// opens a trail on it whose journal is synced every JournalSync; the store
// closes when the test ends.
func syncTrail(t *testing.T, every time.Duration) (db storage.Store, store *failingStore, jpath string, trail *Trail) {
	t.Helper()
	dir := t.TempDir()
	db = openSQLite(t, filepath.Join(dir, "coffer.db"))
	t.Cleanup(func() { db.Close() })
	store = &failingStore{Store: db}
	jpath = filepath.Join(dir, "coffer.db-audit")
	trail, err := New(store, Config{Journal: jpath, JournalSync: every, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if trail.dirty == nil || trail.records != nil {
		t.Fatal("a trail with JournalSync set does not use the unsynced journal writer")
	}
	return db, store, jpath, trail
}

// syncRecord is a read's record with a request id of its own.
func syncRecord(id string) *Record {
	return &Record{EventName: "GetSecretValue", RecipientAccountID: "123456789012", RequestID: id,
		RequestParameters: map[string]any{"secretId": "s-" + id}}
}

// requestIDs returns how many times each request id is in recs, and checks
// the chain with Verify (want records in all).
func requestIDs(t *testing.T, store storage.Store, recs []*storage.AuditRecord, want int) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, r := range recs {
		var doc struct {
			RequestID string `json:"requestID"`
			EventID   string `json:"eventID"`
		}
		if err := json.Unmarshal(r.Doc, &doc); err != nil {
			t.Fatalf("record %d: %v", r.Seq, err)
		}
		ids[doc.RequestID]++
	}
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(t.Context(), store, pub)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Records != int64(want) || len(recs) != want {
		t.Fatalf("Verify checked %d records, the trail has %d; want %d", rep.Records, len(recs), want)
	}
	return ids
}

// dirtyFiles returns the journal's dirty marks (files written since their
// last fdatasync).
func dirtyFiles(trail *Trail) [2]bool {
	trail.jmu.Lock()
	defer trail.jmu.Unlock()
	return trail.journal.dirty
}

func TestJournalSyncRecordsReachTheStoreOnce(t *testing.T) {
	db, _, jpath, trail := syncTrail(t, 5*time.Millisecond)
	const callers, each = 16, 50
	var (
		wg       sync.WaitGroup
		eventsMu sync.Mutex
		events   = map[string]string{} // request id -> event id Record filled in
	)
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("req-%d-%d", g, i)
				rec := syncRecord(id)
				if err := trail.Record(t.Context(), rec); err != nil {
					t.Error(err)
					return
				}
				eventsMu.Lock()
				events[id] = rec.EventID
				eventsMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Every acknowledged record is in a journal file (written, maybe not
	// yet synced) or already in the store. Nothing writes the files any
	// more, and the mover only adds to the store, so reading the files
	// first misses nothing.
	found := map[string]bool{}
	for i := range 2 {
		data, err := os.ReadFile(fmt.Sprintf("%s%d", jpath, i))
		if err != nil {
			t.Fatal(err)
		}
		frames, _ := decodeFrames(data)
		for _, w := range frames {
			var doc struct {
				RequestID string `json:"requestID"`
			}
			if err := json.Unmarshal(w.doc, &doc); err != nil {
				t.Fatal(err)
			}
			found[doc.RequestID] = true
		}
	}
	for _, r := range trailRecords(t, db) {
		var doc struct {
			RequestID string `json:"requestID"`
		}
		if err := json.Unmarshal(r.Doc, &doc); err != nil {
			t.Fatal(err)
		}
		found[doc.RequestID] = true
	}
	for id := range events {
		if !found[id] {
			t.Errorf("acknowledged request %s is neither in the journal files nor in the store", id)
		}
	}
	// The background sync catches up: at most JournalSync after the last
	// write (plus scheduling), no file is left unsynced.
	deadline := time.Now().Add(5 * time.Second)
	for d := dirtyFiles(trail); d[0] || d[1]; d = dirtyFiles(trail) {
		if time.Now().After(deadline) {
			t.Fatalf("the journal files are still unsynced (%v) 5 s after the last write, with JournalSync 5 ms", d)
		}
		time.Sleep(time.Millisecond)
	}
	if err := trail.refusal(); err != nil {
		t.Fatalf("refusal after the writes: %v", err)
	}
	if err := trail.Close(); err != nil {
		t.Fatal(err)
	}
	recs := trailRecords(t, db)
	ids := requestIDs(t, db, recs, callers*each)
	for id, ev := range events {
		if ids[id] != 1 {
			t.Errorf("request %s is in the trail %d times, want once", id, ids[id])
		}
		if ev == "" {
			t.Errorf("Record filled no event id for request %s", id)
		}
	}
	seenEvents := map[string]bool{}
	for _, r := range recs {
		var doc struct {
			RequestID string `json:"requestID"`
			EventID   string `json:"eventID"`
		}
		if err := json.Unmarshal(r.Doc, &doc); err != nil {
			t.Fatal(err)
		}
		if seenEvents[doc.EventID] {
			t.Errorf("event %s is in the trail twice", doc.EventID)
		}
		seenEvents[doc.EventID] = true
		if events[doc.RequestID] != doc.EventID {
			t.Errorf("record %d: request %s has event id %s, Record filled %s", r.Seq, doc.RequestID, doc.EventID, events[doc.RequestID])
		}
	}
	if m := journalMark(t, db); m != callers*each {
		t.Errorf("journal mark = %d, want %d", m, callers*each)
	}
}

// TestJournalSyncRecordIsInTheFileWhenRecordReturns: with JournalSync set,
// Record returns once its frame is written to the journal file, before the
// file is synced and before the record is moved into the store (the store
// fails here, so the move cannot happen).
func TestJournalSyncRecordIsInTheFileWhenRecordReturns(t *testing.T) {
	db, store, jpath, trail := syncTrail(t, time.Second)
	store.fail.Store(true)
	rec := syncRecord("req-in-file")
	if err := trail.Record(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	returned := time.Now()
	// Not synced yet: the file written is still marked (syncLoop waits a
	// second before syncing it).
	if d := dirtyFiles(trail); !d[0] || d[1] {
		t.Fatalf("dirty marks right after Record = %v, want [true false]", d)
	}
	want, err := encode(rec) // the doc Record wrote (rec is filled in now)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(jpath + "0")
	if err != nil {
		t.Fatal(err)
	}
	frames, _ := decodeFrames(data)
	if len(frames) != 1 {
		t.Fatalf("the journal file holds %d frames right after Record, want 1", len(frames))
	}
	f := frames[0]
	if f.jseq != 1 || !bytes.Equal(f.doc, want) || f.rec.EventName != "GetSecretValue" || f.rec.RecipientAccountID != "123456789012" {
		t.Fatalf("frame %d = %s %s %s, want frame 1 with doc %s", f.jseq, f.rec.EventName, f.rec.RecipientAccountID, f.doc, want)
	}
	if !bytes.Contains(f.doc, []byte(`"requestID":"req-in-file"`)) || !bytes.Contains(f.doc, []byte(`"eventID":"`+rec.EventID+`"`)) {
		t.Fatalf("frame doc %s does not carry the record's request and event ids", f.doc)
	}
	if n := len(trailRecords(t, db)); n != 0 {
		t.Fatalf("the store holds %d records while it fails; want the record in the journal only", n)
	}
	// The store comes back: the mover moves it (wait for it: Close gives
	// up on a store that failed a few times), and Close syncs the file.
	store.fail.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for len(trailRecords(t, db)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the record did not reach the store 5 s after it came back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d := dirtyFiles(trail); !d[0] && time.Since(returned) < 900*time.Millisecond {
		t.Errorf("dirty marks after the move = %v: the file was synced before JournalSync passed", d)
	}
	if err := trail.Close(); err != nil {
		t.Fatal(err)
	}
	if d := trail.journal.dirty; d[0] || d[1] {
		t.Errorf("dirty marks after Close = %v: Close did not sync the journal", d)
	}
	recs := trailRecords(t, db)
	requestIDs(t, db, recs, 1)
	if !bytes.Equal(recs[0].Doc, want) {
		t.Errorf("the trail's record = %s, want %s", recs[0].Doc, want)
	}
	if m := journalMark(t, db); m != 1 {
		t.Errorf("journal mark = %d, want 1", m)
	}
}

// TestJournalSyncAbandonedTrailKeepsAcknowledgedRecords: records written
// with JournalSync set, never fdatasynced, some moved and some not (the
// store fails), survive the trail's abandonment (a crash of coffer, not of
// the machine: the written pages are in the file): the next open moves
// every acknowledged record into the trail once, and none of the refused.
func TestJournalSyncAbandonedTrailKeepsAcknowledgedRecords(t *testing.T) {
	defer func(n int) { journalSize = n }(journalSize)
	journalSize = 2048 // the files switch every few records
	db, store, jpath, old := syncTrail(t, time.Hour)
	var (
		mu      sync.Mutex
		acked   = map[string]bool{}
		refused = map[string]bool{}
	)
	record := func(id string) error {
		err := old.Record(t.Context(), syncRecord(id))
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			acked[id] = true
		} else {
			refused[id] = true
		}
		return err
	}
	switched := false
	for i := range 200 {
		if err := record(fmt.Sprintf("a-%d", i)); err != nil {
			t.Fatal(err)
		}
		if i%20 == 19 {
			time.Sleep(2 * moveInterval) // let the mover catch up, so that the files can take turns
		}
		switched = switched || old.journal.cur == 1
	}
	if !switched {
		t.Error("the journal never moved to its second file")
	}
	// Now the store fails: concurrent callers are acknowledged until the
	// mover's failure makes Record refuse.
	store.fail.Store(true)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if record(fmt.Sprintf("b-%d-%d", g, i)) != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; record(fmt.Sprintf("c-%d", i)) == nil; i++ {
		if time.Now().After(deadline) {
			t.Fatal("Record still succeeds 5 s after the store began to fail")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := old.refusal(); err == nil || !errors.Is(err, errStoreDown) {
		t.Fatalf("refusal = %v, want the store's failure", err)
	}
	if d := dirtyFiles(old); !d[0] && !d[1] {
		t.Fatal("no journal file is marked unsynced; the test wants records that were never synced")
	}
	before := len(trailRecords(t, db))
	if before >= len(acked) {
		t.Fatalf("the store has %d of %d records; the test wants some left in the journal", before, len(acked))
	}

	// The trail is abandoned (no Close: its goroutines keep failing on
	// the store). The next process opens the store and the journal.
	trail, err := New(db, Config{Journal: jpath, JournalSync: 5 * time.Millisecond, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(trailRecords(t, db)); n != len(acked) {
		t.Fatalf("after the reopen's replay the trail has %d records, want the %d acknowledged", n, len(acked))
	}
	for i := range 3 {
		id := fmt.Sprintf("d-%d", i)
		if err := trail.Record(t.Context(), syncRecord(id)); err != nil {
			t.Fatal(err)
		}
		acked[id] = true
	}
	if err := trail.Close(); err != nil {
		t.Fatal(err)
	}
	// The abandoned trail's goroutines end now, the store still failing
	// under them: nothing of theirs may reach the store any more.
	if err := old.Close(); err != nil {
		t.Fatalf("closing the abandoned trail: %v", err)
	}
	if err := ReplayJournal(t.Context(), db, jpath, quietLog()); err != nil {
		t.Fatal(err)
	}
	recs := trailRecords(t, db)
	ids := requestIDs(t, db, recs, len(acked))
	for id := range acked {
		if ids[id] != 1 {
			t.Errorf("acknowledged request %s is in the trail %d times, want once", id, ids[id])
		}
	}
	for id := range refused {
		if ids[id] != 0 {
			t.Errorf("refused request %s is in the trail", id)
		}
	}
	// Every acknowledged record took one frame, the refused none: the
	// mark is the last frame, the number of records.
	if m := journalMark(t, db); m != int64(len(recs)) {
		t.Errorf("journal mark = %d, want %d", m, len(recs))
	}
}

// TestJournalSyncFailureRefusesRecord: when the background fdatasync fails,
// Record refuses (and writes nothing) until a later sync succeeds.
func TestJournalSyncFailureRefusesRecord(t *testing.T) {
	db, _, jpath, trail := syncTrail(t, time.Hour) // syncLoop never syncs by itself here
	if err := trail.Record(t.Context(), syncRecord("r1")); err != nil {
		t.Fatal(err)
	}
	trail.jmu.Lock()
	cur, next := trail.journal.cur, trail.journal.next
	trail.jmu.Unlock()
	if d := dirtyFiles(trail); !d[cur] {
		t.Fatalf("dirty marks after a write = %v, want file %d marked", d, cur)
	}
	// The file goes away under the trail (as on a failing disk); the sync
	// fails.
	if err := trail.journal.files[cur].f.Close(); err != nil {
		t.Fatal(err)
	}
	trail.syncJournal()
	refusal := trail.refusal()
	if refusal == nil || !strings.Contains(refusal.Error(), "the journal cannot be synced") {
		t.Fatalf("refusal after a failed sync = %v, want the journal's sync failure", refusal)
	}
	if d := dirtyFiles(trail); !d[cur] {
		t.Errorf("dirty marks after a failed sync = %v: file %d must stay marked for the next sync", d, cur)
	}
	err := trail.Record(t.Context(), syncRecord("r2"))
	if err == nil || !strings.Contains(err.Error(), "the journal cannot be synced") || !strings.Contains(err.Error(), "GetSecretValue") {
		t.Fatalf("Record after a failed sync = %v, want a refusal naming the sync", err)
	}
	trail.jmu.Lock()
	if trail.journal.next != next {
		t.Errorf("the refused Record took journal frame(s): next %d, was %d", trail.journal.next, next)
	}
	trail.jmu.Unlock()

	// The disk comes back (the file reopened): the next sync succeeds and
	// Record goes on.
	f, err := os.OpenFile(fmt.Sprintf("%s%d", jpath, cur), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	trail.jmu.Lock()
	trail.journal.files[cur].f = f
	trail.jmu.Unlock()
	trail.syncJournal()
	if err := trail.refusal(); err != nil {
		t.Fatalf("refusal after a successful sync = %v, want nil", err)
	}
	if d := dirtyFiles(trail); d[0] || d[1] {
		t.Errorf("dirty marks after a successful sync = %v, want none", d)
	}
	if err := trail.Record(t.Context(), syncRecord("r3")); err != nil {
		t.Fatalf("Record after the sync works again: %v", err)
	}
	if err := trail.Close(); err != nil {
		t.Fatal(err)
	}
	recs := trailRecords(t, db)
	ids := requestIDs(t, db, recs, 2)
	if ids["r1"] != 1 || ids["r3"] != 1 || ids["r2"] != 0 {
		t.Fatalf("trail request ids = %v, want r1 and r3 once, r2 (refused) never", ids)
	}
	if m := journalMark(t, db); m != 2 {
		t.Errorf("journal mark = %d, want 2 (the refused record took no frame)", m)
	}
}

// TestJournalSyncCloseWhileTheSyncFails: Close returns (it does not wait for
// a sync that keeps failing), reports the broken file, and the records
// acknowledged before still reach the store.
func TestJournalSyncCloseWhileTheSyncFails(t *testing.T) {
	db, _, _, trail := syncTrail(t, time.Hour)
	if err := trail.Record(t.Context(), syncRecord("r1")); err != nil {
		t.Fatal(err)
	}
	trail.jmu.Lock()
	cur := trail.journal.cur
	trail.jmu.Unlock()
	if err := trail.journal.files[cur].f.Close(); err != nil {
		t.Fatal(err)
	}
	trail.syncJournal()
	if err := trail.Record(t.Context(), syncRecord("r2")); err == nil || !strings.Contains(err.Error(), "the journal cannot be synced") {
		t.Fatalf("Record after a failed sync = %v, want a refusal naming the sync", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- trail.Close() }()
	select {
	case err := <-closed:
		// The file closed under the trail cannot be closed again.
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Close = %v, want the journal file's os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s while the journal's sync fails")
	}
	if err := trail.refusal(); err == nil {
		t.Error("the final sync of Close succeeded on a closed file")
	}
	recs := trailRecords(t, db)
	if ids := requestIDs(t, db, recs, 1); ids["r1"] != 1 {
		t.Fatalf("trail request ids = %v, want r1 once", ids)
	}
}
