package sqlite

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Group commit.
//
// One writer goroutine owns the only write connection. Update queues a
// request; the writer takes every queued request (up to max), opens one
// transaction (BEGIN IMMEDIATE) and gives each request its turn inside a
// savepoint:
//
//	BEGIN IMMEDIATE
//	  SAVEPOINT closure; fn1; RELEASE closure                       (fn1 returned nil)
//	  SAVEPOINT closure; fn2; ROLLBACK TO closure; RELEASE closure  (fn2 failed or panicked)
//	  ...
//	COMMIT                                                          (one fsync for the group)
//
// then tells every fn that returned nil the outcome of the COMMIT. While the
// group's fsync runs, new requests queue up and form the next group, so the
// number of fsyncs per second stays about constant while the number of
// transactions per second grows with the number of concurrent writers.
//
// Each fn runs in its caller's goroutine, not in the writer's: the writer
// hands the caller the transaction and waits for it to give it back. A panic
// or runtime.Goexit (t.Fatal in a test) in fn thus unwinds the caller's own
// stack with its own trace; a deferred hand-back tells the writer, which
// rolls back to the savepoint and carries on with the group. Since the
// writer waits for each fn in turn, fns never overlap and see each other's
// effects in queue order.
//
// Why this keeps each fn's promise:
//   - a fn that fails is undone by ROLLBACK TO its savepoint, which leaves
//     the work of the fns before it untouched;
//   - a statement that fails on a constraint undoes that statement only
//     (SQLite's default ABORT resolution), so such an error is the fn's
//     business; any other database error may have rolled the whole
//     transaction back, so it aborts the group: the fns that returned nil
//     get that error, those not started yet go on to the next group;
//   - Update returns nil only after the COMMIT that holds its fn returned,
//     and with synchronous=FULL in WAL mode that COMMIT has fsynced the WAL.
//
// The read cache: each tx records the secret ARNs its fn writes; the ARNs of
// the fns that returned nil are dropped from the cache and marked pending
// before the COMMIT, and unmarked after it, before any fn hears the outcome
// (cache.go has the argument). A fn rolled back to its savepoint changed
// nothing, so its ARNs are left alone.

// Request states: a request is taken by the writer (started) or given up by
// its caller (abandoned), whichever comes first.
const (
	queued int32 = iota
	started
	abandoned
)

type request struct {
	fn    func(storage.Tx) error
	state atomic.Int32
	// turn carries the transaction from the writer to the caller, or the
	// error that prevented the group from starting.
	turn chan turn
	// back carries fn's outcome from the caller to the writer.
	back chan outcome
	// result carries the outcome of the COMMIT to a fn that returned nil.
	result chan error
}

type turn struct {
	t   *tx
	err error
}

type outcome struct {
	err     error
	aborted bool // panic or runtime.Goexit
}

func newRequest(fn func(storage.Tx) error) *request {
	return &request{
		fn:     fn,
		turn:   make(chan turn, 1),
		back:   make(chan outcome, 1),
		result: make(chan error, 1),
	}
}

// wait runs on the caller's goroutine: it waits for the request's turn, runs
// fn and waits for the commit.
func (r *request) wait(ctx context.Context) error {
	var tu turn
	select {
	case tu = <-r.turn:
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return ctx.Err()
		}
		tu = <-r.turn // the writer took it first: see it through
	}
	if tu.err != nil {
		return tu.err
	}
	t := tu.t
	returned := false
	defer func() {
		if !returned { // fn panicked or called runtime.Goexit
			t.done = true
			r.back <- outcome{aborted: true}
		}
	}()
	err := r.fn(t)
	returned = true
	t.done = true
	r.back <- outcome{err: err}
	if err != nil {
		return err // the writer rolls fn back; nothing to wait for
	}
	return <-r.result
}

// start claims r for the writer; false means its caller gave up.
func (r *request) start() bool { return r.state.CompareAndSwap(queued, started) }

type writer struct {
	db     *DB
	c      *conn // nil after a failure put it in doubt; reopened on demand
	max    int
	queue  chan *request
	exited chan struct{}

	// Counters for tests and benchmarks.
	groups   atomic.Int64 // transactions committed or attempted
	closures atomic.Int64 // closures run
}

func (w *writer) start() {
	w.queue = make(chan *request, w.max)
	w.exited = make(chan struct{})
	go w.run()
}

func (w *writer) run() {
	defer close(w.exited)
	batch := make([]*request, 0, w.max)
	for {
		if len(batch) == 0 {
			r, ok := <-w.queue
			if !ok {
				return // closed and drained
			}
			batch = append(batch, r)
		}
	fill:
		for len(batch) < w.max {
			select {
			case r, ok := <-w.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		rest := w.group(batch)
		n := copy(batch, rest)
		clear(batch[n:])
		batch = batch[:n]
	}
}

// group runs batch as one transaction and returns the requests it did not
// start, which go on to the next group.
func (w *writer) group(batch []*request) (rest []*request) {
	w.groups.Add(1)
	c, err := w.conn()
	if err == nil {
		if _, err = c.exec(stBeginImmediate); err != nil {
			w.reset("begin", err)
		}
	}
	if err != nil {
		err = fmt.Errorf("sqlite: begin transaction: %w", err)
		for _, r := range batch {
			if r.start() {
				r.turn <- turn{err: err}
			}
		}
		return nil
	}

	var (
		ok      []*request // fns that returned nil, waiting for the commit
		touched []string   // secret ARNs the fns in ok wrote (read cache)
		fatal   error      // aborts the group
		i       int
	)
	for i < len(batch) && fatal == nil {
		r := batch[i]
		i++
		if !r.start() {
			continue
		}
		w.closures.Add(1)
		if _, err := c.exec(stSavepoint); err != nil {
			fatal = err
			r.turn <- turn{err: fmt.Errorf("sqlite: savepoint: %w", err)}
			continue
		}
		t := &tx{c: c, write: true}
		r.turn <- turn{t: t}
		out := <-r.back
		if out.err == nil && !out.aborted && t.fatal == nil {
			if _, err := c.exec(stRelease); err != nil {
				fatal = err
			}
			ok = append(ok, r)
			touched = append(touched, t.touched...)
			continue
		}
		if t.fatal != nil {
			fatal = t.fatal
			// The transaction's state is in doubt: forget what this fn
			// touched too, to be safe.
			touched = append(touched, t.touched...)
			if out.err == nil && !out.aborted {
				ok = append(ok, r) // fn swallowed the error: tell it now
			}
			continue
		}
		_, err1 := c.exec(stRollbackTo)
		_, err2 := c.exec(stRelease)
		if err1 != nil {
			fatal = err1
		} else if err2 != nil {
			fatal = err2
		}
	}
	rest = batch[i:]

	// The read cache forgets what the group wrote before the group ends
	// (commits or not) and until it has ended, and the fns hear the
	// outcome only after that (cache.go).
	cache := w.db.cache
	if cache != nil && len(touched) > 0 {
		slices.Sort(touched)
		touched = slices.Compact(touched)
		cache.begin(touched)
	}
	switch {
	case fatal != nil:
		err = fmt.Errorf("sqlite: transaction group aborted: %w", fatal)
		w.rollback()
	case len(ok) == 0:
		w.rollback() // nothing to keep: no fsync
	default:
		if _, cerr := c.exec(stCommit); cerr != nil {
			err = fmt.Errorf("sqlite: commit: %w", cerr)
			w.rollback()
		}
	}
	if cache != nil && len(touched) > 0 {
		cache.end(touched)
	}
	for _, r := range ok {
		r.result <- err
	}
	return rest
}

// conn returns the write connection, reopening it if a failure discarded it.
func (w *writer) conn() (*conn, error) {
	if w.c != nil {
		return w.c, nil
	}
	sc, err := w.db.wdb.Conn(context.Background())
	if err != nil {
		return nil, err
	}
	w.c = &conn{sc: sc}
	return w.c, nil
}

// rollback ends the group's transaction. If that fails, the connection's
// state is unknown (SQLite may already have rolled back by itself), so it is
// discarded and the next group opens a fresh one.
func (w *writer) rollback() {
	if _, err := w.c.exec(stRollback); err != nil {
		w.reset("rollback", err)
	}
}

func (w *writer) reset(op string, err error) {
	w.db.log.Warn("sqlite: discarding write connection", "op", op, "err", err)
	_ = w.c.close(true)
	w.c = nil
}
