package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
}

// Trail appends records to the hash chain in the store, fails closed, and
// feeds the configured sinks after commit. It is safe for concurrent use.
type Trail struct {
	store storage.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	queue chan []byte
	mu    sync.Mutex
	// unconfirmed holds records appended by Append in a transaction this
	// Trail cannot see commit (a domain's): hash -> entry. The feeder
	// confirms them from the store before handing them to the sinks.
	unconfirmed map[string]unconfirmed
	dropped     int64
	closed      bool

	stop chan struct{}
	done sync.WaitGroup

	// records feeds the group commit of Record: one goroutine appends every
	// record waiting in one store transaction, so concurrent reads share
	// one commit (and one fsync) instead of one each.
	records  chan *waiting
	recordMu sync.RWMutex // held shared while enqueueing; Close takes it
	batching sync.WaitGroup
	// inRecord counts the Record calls under way (from entry to return);
	// sampled after each commit, it is how many callers the next group
	// may wait for (see groupCommit).
	inRecord atomic.Int64
}

// waiting is a Record call waiting for its group commit.
type waiting struct {
	doc  []byte
	rec  *Record
	when time.Time
	ar   *storage.AuditRecord
	done chan error
}

// maxGroup bounds the records appended in one transaction.
const maxGroup = 512

// A group waits for the callers of the previous group to come back at
// most as long as the last commit took, within these bounds (see
// groupCommit).
const (
	minGather = 100 * time.Microsecond
	maxGather = 2 * time.Millisecond
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
	t.records = make(chan *waiting, maxGroup)
	t.batching.Add(1)
	go t.groupCommit()
	if len(cfg.Sinks) > 0 {
		t.queue = make(chan []byte, cfg.QueueSize)
		t.done.Add(2)
		go t.drain()
		go t.confirmLoop()
	}
	return t, nil
}

// Close stops feeding the sinks, delivers what is queued and closes the
// sinks. Records appended after Close still reach the store.
func (t *Trail) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	t.recordMu.Lock()
	close(t.stop) // no Record enqueues from here on
	t.recordMu.Unlock()
	t.batching.Wait()
	t.done.Wait()
	var errs []error
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
	return link(tx, seq, head, rec, doc, when)
}

// prepare fills rec's defaults and encodes it, refusing a record that
// carries a sensitive member.
func (t *Trail) prepare(rec *Record) (doc []byte, when time.Time, err error) {
	if rec == nil {
		return nil, time.Time{}, errors.New("audit: nil record")
	}
	now := t.now().UTC().Truncate(time.Second)
	t.fill(rec, now)
	if doc, err = encode(rec); err != nil {
		return nil, time.Time{}, err
	}
	when, err = time.Parse(eventTimeLayout, rec.EventTime)
	if err != nil {
		when = now
	}
	return doc, when.UTC(), nil
}

// link appends the encoded record after the head (seq, head) in tx.
func link(tx storage.Tx, seq int64, head []byte, rec *Record, doc []byte, when time.Time) (*storage.AuditRecord, error) {
	ar := &storage.AuditRecord{
		Seq:       seq + 1,
		Time:      when,
		Account:   rec.RecipientAccountID,
		EventName: rec.EventName,
		Doc:       doc,
		PrevHash:  head,
		Hash:      ChainHash(head, doc),
	}
	if err := tx.AppendAudit(ar); err != nil {
		return nil, fmt.Errorf("audit: appending record %d: %w", ar.Seq, err)
	}
	return ar, nil
}

// Record adds rec in a durable transaction of its own and returns when it
// is durable (reads, denials, failed calls, service events). An error means
// the record may not be kept: the caller must fail the call (5xx).
func (t *Trail) Record(ctx context.Context, rec *Record) error {
	t.inRecord.Add(1)
	defer t.inRecord.Add(-1)
	doc, when, err := t.prepare(rec)
	if err != nil {
		return err
	}
	w := &waiting{doc: doc, rec: rec, when: when, done: make(chan error, 1)}
	t.recordMu.RLock()
	select {
	case <-t.stop:
		t.recordMu.RUnlock()
		// Closed: no group commit any more; append in a transaction of
		// its own.
		err = t.store.Update(ctx, func(tx storage.Tx) error { return t.commitGroup(tx, []*waiting{w}) })
	default:
		t.records <- w
		t.recordMu.RUnlock()
		err = <-w.done
	}
	if err != nil {
		return fmt.Errorf("audit: recording %s: %w", rec.EventName, err)
	}
	t.publish(w.ar.Doc)
	return nil
}

// groupCommit appends the records of waiting Record calls, as many as are
// queued (up to maxGroup), in one store transaction, and answers each when
// it is durable. While one group commits, the next one gathers.
func (t *Trail) groupCommit() {
	defer t.batching.Done()
	group := make([]*waiting, 0, maxGroup)
	target := 0 // the callers under way after the last commit
	gather := minGather
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var first *waiting
		select {
		case first = <-t.records:
		case <-t.stop:
			// Close: commit what was enqueued before it, then stop.
			for {
				select {
				case w := <-t.records:
					t.commit([]*waiting{w})
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
		// The callers the last commit answered come back one by one
		// (each serves its response and its next call first): taking
		// only those already queued would split them into a small group
		// and a large one, each paying a commit and an fsync. Wait a
		// little for as many as were under way when the last commit
		// ended, never longer than the last commit took
		// (a commit's time is what a group gathers in anyway).
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
		t.commit(group)
		gather = min(max(time.Since(began), minGather), maxGather)
		target = int(t.inRecord.Load())
	}
}

// commit appends group in one transaction and answers every member.
func (t *Trail) commit(group []*waiting) {
	err := t.store.Update(context.Background(), func(tx storage.Tx) error { return t.commitGroup(tx, group) })
	for _, w := range group {
		w.done <- err
	}
}

// commitGroup links every record of group after the head, in order. A
// backend that re-runs the closure gets a fresh head each time.
func (t *Trail) commitGroup(tx storage.Tx, group []*waiting) error {
	seq, head, err := tx.AuditHead()
	if err != nil {
		return fmt.Errorf("audit: reading the head of the trail: %w", err)
	}
	for _, w := range group {
		if w.ar, err = link(tx, seq, head, w.rec, w.doc, w.when); err != nil {
			return err
		}
		seq, head = w.ar.Seq, w.ar.Hash
	}
	return nil
}

// fill sets the defaults of rec's fixed fields.
func (t *Trail) fill(rec *Record, now time.Time) {
	if rec.EventID == "" {
		rec.EventID = uuid.NewString()
	}
	if rec.EventTime == "" {
		rec.EventTime = now.Format(eventTimeLayout)
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

// ChainHash returns SHA-256(prev || doc), the Hash of a record whose
// predecessor's Hash is prev.
func ChainHash(prev, doc []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(doc)
	return h.Sum(nil)
}

// encode checks rec for sensitive members and returns its canonical bytes:
// json.Marshal of the struct (fixed field order), followed by the members
// of rec.Extra (a JSON object) when it is set.
func encode(rec *Record) ([]byte, error) {
	for name, m := range map[string]any{
		"requestParameters":   rec.RequestParameters,
		"responseElements":    rec.ResponseElements,
		"additionalEventData": rec.AdditionalEventData,
	} {
		if key, ok := findSensitive(m, 0); ok {
			return nil, fmt.Errorf("%w: %s.%s", ErrSecretInRecord, name, key)
		}
	}
	doc, err := json.Marshal(rec)
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

// sensitiveKeys are the member names (lower-cased) a record must not hold.
var sensitiveKeys = map[string]bool{
	"secretstring":    true,
	"secretbinary":    true,
	"randompassword":  true,
	"rotationtoken":   true,
	"password":        true,
	"secretaccesskey": true,
	"sessiontoken":    true,
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
			if sensitiveKeys[strings.ToLower(k)] {
				return k, true
			}
			if p, ok := findSensitive(e, depth+1); ok {
				return k + "." + p, true
			}
		}
	case map[string]string:
		for k := range x {
			if sensitiveKeys[strings.ToLower(k)] {
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
