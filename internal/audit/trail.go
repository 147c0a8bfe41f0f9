package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/google/uuid"
)

// Defaults of a record's fixed fields.
const (
	EventVersion          = "1.09"
	SourceSecretsManager  = "secretsmanager.amazonaws.com"
	SourceIAM             = "iam.amazonaws.com"
	SourceSTS             = "sts.amazonaws.com"
	TypeAPICall           = "AwsApiCall"
	TypeServiceEvent      = "AwsServiceEvent"
	categoryManagement    = "Management"
	eventTimeLayout       = "2006-01-02T15:04:05Z"
	defaultQueueSize      = 4096
	confirmAfter          = time.Second
	forgetUnconfirmedTime = 2 * time.Minute
)

// ErrSecretInRecord reports a record that carries a member that may hold a
// secret value (the safety net of Append). The message names the key, never
// the value.
var ErrSecretInRecord = errors.New("audit: record carries a sensitive member")

// Config configures a Trail.
type Config struct {
	// Sinks receive every committed record (its Doc, one JSON object) after
	// commit, best effort. They are closed by Trail.Close.
	Sinks []Sink
	// QueueSize bounds the records waiting for the sinks (default 4096);
	// records beyond it are dropped and counted (Trail.Dropped).
	QueueSize int
	// Log reports sink failures and dropped records (never a record's
	// content). nil: slog.Default().
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Journal is the path of the journal file (journal.go), in the
	// embedded store's data directory; empty: no journal, Record waits for
	// a store transaction (PostgreSQL).
	Journal string
	// JournalSync is how long a journaled record may wait for fdatasync.
	// 0 (the default): Record returns once its record is fdatasynced,
	// durable against a crash of the machine. Positive: Record returns
	// once its record is written to the journal file, in the operating
	// system's cache (durable against a crash of coffer, not of the
	// machine), and the file is fdatasynced at most JournalSync later.
	JournalSync time.Duration
}

// Trail appends records to the hash chain in the store, fails closed, and
// feeds the configured sinks after commit. It is safe for concurrent use.
type Trail struct {
	store storage.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	queue chan []byte
	stamp atomic.Pointer[stamp] // the last eventTime made (eventTime)
	mu    sync.Mutex
	// unconfirmed holds records appended by Append in a transaction this
	// Trail cannot see commit (a domain's): hash -> entry. The feeder
	// confirms them from the store before handing them to the sinks.
	unconfirmed map[string]unconfirmed
	dropped     int64
	closed      bool

	stop chan struct{}
	done sync.WaitGroup

	// With a journal, records feeds the journal writer: one goroutine
	// appends every record waiting, as many as are queued (up to
	// maxGroup), in one write and one fdatasync (see journalLoop). With
	// JournalSync set, each Record writes its own frame, under jmu, and
	// syncLoop syncs the written files (dirty says there are some).
	journal  *journal
	jmu      sync.Mutex
	dirty    chan struct{}
	records  chan *waiting
	recordMu sync.RWMutex // held shared while enqueueing; Close takes it
	writing  sync.WaitGroup
	// inRecord counts the Record calls under way (from entry to return);
	// sampled after each write, it is how many callers the next group may
	// wait for (see journalLoop).
	inRecord atomic.Int64

	// The mover links records into the trail in the store: journaled ones
	// (their callers were answered at fdatasync), or, without a journal,
	// the waiting Record calls themselves, answered at the store's commit.
	// Everything queued while one transaction commits goes into the next.
	mv      sync.Mutex
	mvCond  *sync.Cond
	pending []*waiting
	mvStop  bool         // the mover drains what is pending and stops
	closing bool         // Close began: the journal writer no longer waits for the backlog
	moveErr error        // the last move failed (journal only): Record refuses
	syncErr error        // the last background fdatasync failed: Record refuses
	moved   atomic.Int64 // the last journal frame known to be in the store
	moving  sync.WaitGroup
}

// waiting is a record on its way to the store.
type waiting struct {
	doc  []byte
	rec  *Record
	when time.Time
	jseq int64      // journal frame (0 without a journal)
	done chan error // answers the Record call (nil for a record replayed from the journal)
}

// Bounds of the pipeline.
const (
	maxGroup   = 512   // records per journal write
	maxMove    = 2048  // records per store transaction of the mover
	maxBacklog = 65536 // journaled records not yet moved; the writer waits beyond
	// A group waits for the callers of the previous group to come back at
	// most as long as the last write took, within these bounds (see
	// journalLoop).
	minGather = 100 * time.Microsecond
	maxGather = 2 * time.Millisecond
	// The mover of journaled records starts a transaction at most every
	// moveInterval.
	moveInterval = 50 * time.Millisecond
	// A failed move is retried after retryMin, doubling up to retryMax.
	retryMin = 10 * time.Millisecond
	retryMax = time.Second
	// closeAttempts bounds the moves Close tries when the store fails; what
	// is left stays in the journal for the next open.
	closeAttempts = 3
)

type unconfirmed struct {
	seq   int64
	doc   []byte
	added time.Time
}

// New returns a Trail that writes to store and feeds cfg.Sinks. Close it
// to stop the sink goroutine and close the sinks.
func New(store storage.Store, cfg Config) (*Trail, error) {
	if store == nil {
		return nil, errors.New("audit: nil store")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = defaultQueueSize
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Trail{
		store:       store,
		cfg:         cfg,
		log:         cfg.Log,
		now:         cfg.Now,
		unconfirmed: map[string]unconfirmed{},
		stop:        make(chan struct{}),
	}
	t.mvCond = sync.NewCond(&t.mv)
	if cfg.Journal != "" {
		j, frames, err := openJournal(cfg.Journal)
		if err != nil {
			return nil, err
		}
		if err := j.replay(context.Background(), store, frames, t.log); err != nil {
			j.close()
			return nil, err
		}
		t.journal = j
		t.moved.Store(j.next - 1)
		t.writing.Add(1)
		if cfg.JournalSync > 0 {
			t.dirty = make(chan struct{}, 1)
			go t.syncLoop()
		} else {
			t.records = make(chan *waiting, maxGroup)
			go t.journalLoop()
		}
	}
	t.moving.Add(1)
	go t.moveLoop()
	if len(cfg.Sinks) > 0 {
		t.queue = make(chan []byte, cfg.QueueSize)
		t.done.Add(2)
		go t.drain()
		go t.confirmLoop()
	}
	return t, nil
}

// Close moves what is journaled into the store, stops feeding the sinks,
// delivers what is queued and closes the sinks. Records appended after
// Close still reach the store, each in a transaction of its own.
func (t *Trail) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	// A journal writer waiting for the mover's backlog (a store that keeps
	// failing) stops waiting, so that the Record calls it holds up finish.
	t.mv.Lock()
	t.closing = true
	t.mvCond.Broadcast()
	t.mv.Unlock()
	t.recordMu.Lock()
	close(t.stop) // no Record enqueues from here on
	t.recordMu.Unlock()
	t.writing.Wait()
	t.mv.Lock()
	t.mvStop = true
	t.mvCond.Broadcast()
	t.mv.Unlock()
	t.moving.Wait()
	t.done.Wait()
	var errs []error
	if t.journal != nil {
		errs = append(errs, t.journal.close())
	}
	for _, s := range t.cfg.Sinks {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Dropped returns how many records the sinks missed because the queue was
// full.
func (t *Trail) Dropped() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}

// Append adds rec to the chain inside tx: the same transaction as the
// change it records (a write). It fills EventID/EventTime/EventVersion/...
// when empty. It refuses a record carrying a sensitive member
// (ErrSecretInRecord). The record reaches the sinks once the transaction is
// seen committed.
func (t *Trail) Append(tx storage.Tx, rec *Record) error {
	ar, err := t.append(tx, rec)
	if err != nil {
		return err
	}
	t.remember(ar)
	return nil
}

// append writes rec and returns the stored record.
func (t *Trail) append(tx storage.Tx, rec *Record) (*storage.AuditRecord, error) {
	doc, when, err := t.prepare(rec)
	if err != nil {
		return nil, err
	}
	seq, head, err := tx.AuditHead()
	if err != nil {
		return nil, fmt.Errorf("audit: reading the head of the trail: %w", err)
	}
	ar := chain(seq, head, []*waiting{{doc: doc, rec: rec, when: when}})[0]
	if err := tx.AppendAudit(ar); err != nil {
		return nil, fmt.Errorf("audit: appending record %d: %w", ar.Seq, err)
	}
	return ar, nil
}

// prepare fills rec's defaults and encodes it, refusing a record that
// carries a sensitive member.
func (t *Trail) prepare(rec *Record) (doc []byte, when time.Time, err error) {
	if rec == nil {
		return nil, time.Time{}, errors.New("audit: nil record")
	}
	now := t.now().UTC().Truncate(time.Second)
	given := rec.EventTime != ""
	t.fill(rec, now)
	if doc, err = encode(rec); err != nil {
		return nil, time.Time{}, err
	}
	when = now
	if given {
		if w, err := time.Parse(eventTimeLayout, rec.EventTime); err == nil {
			when = w.UTC()
		}
	}
	return doc, when, nil
}

// chain returns the stored forms of group's records, linked in order
// after the head (seq, head): one allocation for the records and one for
// their hashes, however many there are (the mover's batches hold
// hundreds).
func chain(seq int64, head []byte, group []*waiting) []*storage.AuditRecord {
	recs := make([]storage.AuditRecord, len(group))
	hashes := make([]byte, 0, sha256.Size*len(group))
	ars := make([]*storage.AuditRecord, len(group))
	h := sha256.New()
	for i, w := range group {
		h.Reset()
		h.Write(head)
		h.Write(w.doc)
		hashes = h.Sum(hashes)
		hash := hashes[len(hashes)-sha256.Size : len(hashes) : len(hashes)]
		recs[i] = storage.AuditRecord{Seq: seq + 1, Time: w.when, Account: w.rec.RecipientAccountID,
			EventName: w.rec.EventName, Doc: w.doc, PrevHash: head, Hash: hash}
		ars[i] = &recs[i]
		seq, head = seq+1, hash
	}
	return ars
}

// Record adds rec to the trail and returns when it is durable (reads,
// denials, failed calls, service events): in the journal when the trail
// has one (fdatasynced, or written when Config.JournalSync is set), else
// in a store transaction it shares with the Record calls queued with it.
// An error means the record may not be kept: the caller must fail the
// call (5xx).
func (t *Trail) Record(ctx context.Context, rec *Record) error {
	t.inRecord.Add(1)
	defer t.inRecord.Add(-1)
	doc, when, err := t.prepare(rec)
	if err != nil {
		return err
	}
	w := &waiting{doc: doc, rec: rec, when: when}
	switch {
	case t.journal == nil:
		w.done = make(chan error, 1)
		if err = t.enqueueMove([]*waiting{w}, true); err == nil {
			err = <-w.done
		}
	case t.dirty != nil:
		err = t.writeJournal(w)
	default:
		w.done = make(chan error, 1)
		if err = t.enqueueJournal(w); err == nil {
			err = <-w.done
		}
	}
	if errors.Is(err, errClosed) {
		// After Close: a transaction of its own.
		err = t.store.Update(ctx, func(tx storage.Tx) error { return linkGroup(tx, []*waiting{w}) })
	}
	if err != nil {
		return fmt.Errorf("audit: recording %s: %w", rec.EventName, err)
	}
	t.publish(doc)
	return nil
}

// enqueueJournal hands w to the journal writer, or refuses it when the
// mover cannot write the store or the trail is closed.
func (t *Trail) enqueueJournal(w *waiting) error {
	t.recordMu.RLock()
	defer t.recordMu.RUnlock()
	select {
	case <-t.stop:
		return errClosed
	default:
	}
	if err := t.refusal(); err != nil {
		return err
	}
	t.records <- w
	return nil
}

// refusal is why Record must refuse now: the mover cannot write the store,
// or the journal cannot be synced; nil when it may go on.
func (t *Trail) refusal() error {
	t.mv.Lock()
	defer t.mv.Unlock()
	switch {
	case t.moveErr != nil:
		return fmt.Errorf("the trail cannot be written to the store: %w", t.moveErr)
	case t.syncErr != nil:
		return fmt.Errorf("the journal cannot be synced: %w", t.syncErr)
	}
	return nil
}

// writeJournal writes w's frame to the journal without a sync
// (Config.JournalSync) and hands it to the mover, or refuses it when the
// trail cannot keep it or is closed. Frames reach the mover in journal
// order (under jmu), so the mark it sets is always its last frame's.
func (t *Trail) writeJournal(w *waiting) error {
	t.recordMu.RLock()
	defer t.recordMu.RUnlock()
	select {
	case <-t.stop:
		return errClosed
	default:
	}
	if err := t.refusal(); err != nil {
		return err
	}
	t.jmu.Lock()
	defer t.jmu.Unlock()
	group := []*waiting{w}
	if err := t.journal.write(group, t.moved.Load(), false); err != nil {
		return err
	}
	select {
	case t.dirty <- struct{}{}:
	default:
	}
	return t.enqueueMove(group, false)
}

// syncLoop fdatasyncs the journal files written since the last sync, at
// most Config.JournalSync after a write, until Close (which it syncs
// after the last write).
func (t *Trail) syncLoop() {
	defer t.writing.Done()
	for {
		select {
		case <-t.dirty:
		case <-t.stop:
			t.syncJournal()
			return
		}
		t.sleep(t.cfg.JournalSync)
		t.syncJournal()
	}
}

// syncJournal fdatasyncs the files written since their last sync. A
// failure makes Record refuse until a later sync succeeds (the files stay
// marked, and syncLoop tries again after Config.JournalSync).
func (t *Trail) syncJournal() {
	t.jmu.Lock()
	files := t.journal.takeDirty()
	t.jmu.Unlock()
	var failed []int
	var err error
	for _, i := range files {
		if e := fdatasync(t.journal.files[i].f); e != nil {
			failed, err = append(failed, i), e
		}
	}
	if err != nil {
		t.jmu.Lock()
		t.journal.markDirty(failed)
		t.jmu.Unlock()
		select {
		case t.dirty <- struct{}{}:
		default:
		}
	}
	t.mv.Lock()
	defer t.mv.Unlock()
	switch {
	case err != nil && t.syncErr == nil:
		t.log.Error("audit: syncing the journal failed; refusing requests until it works", "err", err)
	case err == nil && t.syncErr != nil:
		t.log.Info("audit: the journal syncs again")
	}
	t.syncErr = err
}

// enqueueMove hands group to the mover. Without a journal (direct) the
// group's callers wait for the mover's commit; a closed trail refuses
// them. With a journal the group is durable already and the writer waits
// while the backlog is full.
func (t *Trail) enqueueMove(group []*waiting, direct bool) error {
	t.mv.Lock()
	defer t.mv.Unlock()
	if direct && t.mvStop {
		return errClosed
	}
	for !direct && len(t.pending) >= maxBacklog && !t.closing {
		t.mvCond.Wait()
	}
	t.pending = append(t.pending, group...)
	t.mvCond.Broadcast()
	return nil
}

// journalLoop appends the records of waiting Record calls, as many as are
// queued (up to maxGroup), to the journal in one write and one fdatasync,
// answers each, and hands the group to the mover. While one group syncs,
// the next one gathers.
func (t *Trail) journalLoop() {
	defer t.writing.Done()
	group := make([]*waiting, 0, maxGroup)
	target := 0 // the callers under way after the last write
	gather := minGather
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var first *waiting
		select {
		case first = <-t.records:
		case <-t.stop:
			// Close: write what was enqueued before it, then stop.
			for {
				select {
				case w := <-t.records:
					t.writeGroup([]*waiting{w})
				default:
					return
				}
			}
		}
		group = append(group[:0], first)
	gather:
		for len(group) < maxGroup {
			select {
			case w := <-t.records:
				group = append(group, w)
			default:
				break gather
			}
		}
		// The callers the last write answered come back one by one (each
		// serves its response and its next call first): taking only those
		// already queued would split them into a small group and a large
		// one, each paying a write and an fdatasync. Wait a little for as
		// many as were under way when the last write ended, never longer
		// than the last write took (a write's time is what a group gathers
		// in anyway).
		if len(group) < target && len(group) < maxGroup {
			timer.Reset(gather)
		wait:
			for len(group) < target && len(group) < maxGroup {
				select {
				case w := <-t.records:
					group = append(group, w)
				case <-timer.C:
					break wait
				case <-t.stop:
					break wait
				}
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		began := time.Now()
		t.writeGroup(group)
		gather = min(max(time.Since(began), minGather), maxGather)
		target = int(t.inRecord.Load())
	}
}

// writeGroup appends group to the journal, answers its callers and hands
// it to the mover. The journal is emptied first when it is big and
// everything in it has been moved.
func (t *Trail) writeGroup(group []*waiting) {
	err := t.journal.write(group, t.moved.Load(), true)
	for _, w := range group {
		w.done <- err
	}
	if err == nil {
		t.enqueueMove(slices.Clone(group), false)
	}
}

// moveLoop links the pending records into the trail, everything pending
// (up to maxMove) in one store transaction, until Close.
func (t *Trail) moveLoop() {
	defer t.moving.Done()
	wait := retryMin
	failures := 0
	var last time.Time // when the last move began
	for {
		if t.journal != nil {
			// The journaled records' callers are answered already: gather
			// for moveInterval, so that the store commits (and syncs) a
			// few times a second, not once per journal write; a full
			// batch goes at once.
			t.mv.Lock()
			full := len(t.pending) >= maxMove
			t.mv.Unlock()
			if !full {
				t.sleep(moveInterval - time.Since(last))
			}
			last = time.Now()
		}
		t.mv.Lock()
		for len(t.pending) == 0 && !t.mvStop {
			t.mvCond.Wait()
		}
		if len(t.pending) == 0 || (t.mvStop && failures >= closeAttempts) {
			t.mv.Unlock()
			return
		}
		batch := slices.Clone(t.pending[:min(len(t.pending), maxMove)])
		t.mv.Unlock()

		err := t.store.Update(context.Background(), func(tx storage.Tx) error { return linkGroup(tx, batch) })
		if t.journal == nil {
			// Direct: the callers hear the outcome; nothing is retried.
			for _, w := range batch {
				w.done <- err
			}
			t.dequeue(len(batch))
			continue
		}
		if err != nil {
			failures++
			t.mv.Lock()
			if t.moveErr == nil {
				t.log.Error("audit: moving journaled records into the store failed; refusing requests until it works", "err", err, "records", len(t.pending))
			}
			t.moveErr = err
			t.mv.Unlock()
			t.sleep(wait)
			wait = min(2*wait, retryMax)
			continue
		}
		if failures > 0 {
			t.log.Info("audit: journaled records reach the store again", "failed_attempts", failures)
		}
		failures, wait = 0, retryMin
		t.moved.Store(batch[len(batch)-1].jseq)
		t.dequeue(len(batch))
	}
}

// dequeue drops the first n pending records, moved or answered, and
// clears the move error.
func (t *Trail) dequeue(n int) {
	t.mv.Lock()
	t.pending = slices.Delete(t.pending, 0, n)
	if len(t.pending) == 0 && cap(t.pending) > 4*maxMove {
		t.pending = nil
	}
	t.moveErr = nil
	t.mvCond.Broadcast()
	t.mv.Unlock()
}

// sleep waits d, or less when Close began.
func (t *Trail) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-t.stop:
		time.Sleep(min(d, retryMin))
	}
}

// linkGroup links every record of group after the head, in order (one
// AppendAudit: the store inserts them in as few statements as it can), and
// sets the journal mark to the last one's frame (when journaled). A
// backend that re-runs the closure gets a fresh head each time.
func linkGroup(tx storage.Tx, group []*waiting) error {
	seq, head, err := tx.AuditHead()
	if err != nil {
		return fmt.Errorf("audit: reading the head of the trail: %w", err)
	}
	ars := chain(seq, head, group)
	if err := tx.AppendAudit(ars...); err != nil {
		return fmt.Errorf("audit: appending records %d to %d: %w", ars[0].Seq, ars[len(ars)-1].Seq, err)
	}
	if last := group[len(group)-1].jseq; last > 0 {
		return tx.SetAuditJournalMark(last)
	}
	return nil
}

// errClosed refuses a Record to the pipeline of a closed trail.
var errClosed = errors.New("audit: the trail is closed")

// fill sets the defaults of rec's fixed fields.
func (t *Trail) fill(rec *Record, now time.Time) {
	if rec.EventID == "" {
		rec.EventID = uuid.NewString()
	}
	if rec.EventTime == "" {
		rec.EventTime = t.eventTime(now)
	}
	if rec.EventVersion == "" {
		rec.EventVersion = EventVersion
	}
	if rec.EventSource == "" {
		rec.EventSource = SourceSecretsManager
	}
	if rec.EventType == "" {
		rec.EventType = TypeAPICall
	}
	if rec.EventCategory == "" {
		rec.EventCategory = categoryManagement
	}
	rec.ManagementEvent = true
}

// eventTime is now (whole seconds, UTC) as a record's eventTime, formatted
// once a second: every record of that second carries the same text.
func (t *Trail) eventTime(now time.Time) string {
	if s := t.stamp.Load(); s != nil && s.sec == now.Unix() {
		return s.text
	}
	s := &stamp{sec: now.Unix(), text: now.Format(eventTimeLayout)}
	t.stamp.Store(s)
	return s.text
}

// stamp is a second and its eventTime.
type stamp struct {
	sec  int64
	text string
}

// ChainHash returns SHA-256(prev || doc), the Hash of a record whose
// predecessor's Hash is prev.
func ChainHash(prev, doc []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(doc)
	return h.Sum(nil)
}

// encode checks rec for sensitive members and returns its canonical bytes:
// json.Marshal of the struct (fixed field order; appendRecord writes the
// same bytes faster), followed by the members
// of rec.Extra (a JSON object) when it is set.
func encode(rec *Record) ([]byte, error) {
	for _, m := range [...]struct {
		name string
		m    map[string]any
	}{
		{"requestParameters", rec.RequestParameters},
		{"responseElements", rec.ResponseElements},
		{"additionalEventData", rec.AdditionalEventData},
	} {
		if key, ok := findSensitive(m.m, 0); ok {
			return nil, fmt.Errorf("%w: %s.%s", ErrSecretInRecord, m.name, key)
		}
	}
	doc, err := appendRecord(make([]byte, 0, 1024), rec)
	if err != nil {
		return nil, fmt.Errorf("audit: encoding record %s: %w", rec.EventName, err)
	}
	if len(bytes.TrimSpace(rec.Extra)) == 0 {
		return doc, nil
	}
	var extra map[string]json.RawMessage
	if err := json.Unmarshal(rec.Extra, &extra); err != nil {
		return nil, fmt.Errorf("audit: record extra members must be a JSON object: %w", err)
	}
	if len(extra) == 0 {
		return doc, nil
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(doc, &base); err != nil {
		return nil, fmt.Errorf("audit: encoding record %s: %w", rec.EventName, err)
	}
	var generic map[string]any
	if err := json.Unmarshal(rec.Extra, &generic); err == nil {
		if key, ok := findSensitive(generic, 0); ok {
			return nil, fmt.Errorf("%w: %s", ErrSecretInRecord, key)
		}
	}
	extraDoc, err := json.Marshal(extra) // sorted keys
	if err != nil {
		return nil, fmt.Errorf("audit: encoding record %s: %w", rec.EventName, err)
	}
	for k := range extra {
		if _, dup := base[k]; dup {
			return nil, fmt.Errorf("audit: record extra member %q collides with a record field", k)
		}
	}
	out := make([]byte, 0, len(doc)+len(extraDoc))
	out = append(out, doc[:len(doc)-1]...)
	out = append(out, ',')
	out = append(out, extraDoc[1:]...)
	return out, nil
}

// sensitiveKeys are the member names a record must not hold, in any case.
var sensitiveKeys = []string{
	"SecretString", "SecretBinary", "RandomPassword", "RotationToken",
	"Password", "SecretAccessKey", "SessionToken",
}

// sensitiveKey reports whether k is one of sensitiveKeys, in any case.
func sensitiveKey(k string) bool {
	for _, s := range sensitiveKeys {
		if len(k) == len(s) && strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// findSensitive reports the path of the first sensitive key in v.
func findSensitive(v any, depth int) (string, bool) {
	if depth > 64 {
		return "", false
	}
	switch x := v.(type) {
	case nil, string, bool, float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		return "", false
	case map[string]any:
		for k, e := range x {
			if sensitiveKey(k) {
				return k, true
			}
			if p, ok := findSensitive(e, depth+1); ok {
				return k + "." + p, true
			}
		}
	case map[string]string:
		for k := range x {
			if sensitiveKey(k) {
				return k, true
			}
		}
	case []any:
		for i, e := range x {
			if p, ok := findSensitive(e, depth+1); ok {
				return fmt.Sprintf("%d.%s", i, p), true
			}
		}
	case []map[string]any:
		for i, e := range x {
			if p, ok := findSensitive(e, depth+1); ok {
				return fmt.Sprintf("%d.%s", i, p), true
			}
		}
	case []string:
		return "", false
	default:
		// Structs, typed maps and slices: look at their JSON form.
		b, err := json.Marshal(x)
		if err != nil {
			return "", false
		}
		var generic any
		if json.Unmarshal(b, &generic) != nil {
			return "", false
		}
		return findSensitive(generic, depth+1)
	}
	return "", false
}
