package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/coffer-dev/coffer/internal/storage"
)

var (
	// ErrClosed is returned by View and Update after Close.
	ErrClosed = errors.New("sqlite: database closed")
	// ErrReadOnly is returned by a write method called inside View.
	ErrReadOnly = errors.New("sqlite: write in a read-only transaction")

	errTxDone = errors.New("sqlite: transaction used after its closure returned")
)

// Defaults of the options.
const (
	DefaultMaxBatch    = 128
	DefaultBusyTimeout = 5 * time.Second
)

// DB is a coffer store in one SQLite database file. It is safe for concurrent
// use by many goroutines.
type DB struct {
	path string
	log  *slog.Logger

	wdb *sql.DB // the write connection's pool, of one
	rdb *sql.DB // the read connections' pool
	w   *writer

	readers chan *conn // idle read connections; nil entries need reconnecting
	nread   int

	closeMu sync.RWMutex // held shared while enqueueing; exclusive by Close
	closed  bool
	closing chan struct{} // closed by Close
}

var _ storage.Store = (*DB)(nil)

type options struct {
	readers     int
	maxBatch    int
	busyTimeout time.Duration
	log         *slog.Logger
}

// Option configures Open.
type Option func(*options)

// WithReaders sets the number of read-only connections View runs on, which
// bounds the number of concurrent Views (more wait for a free connection).
// The default is max(4, GOMAXPROCS).
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// WithMaxBatch bounds how many Update closures share one transaction and one
// fsync (group commit). 1 runs every closure in its own transaction. The
// default is DefaultMaxBatch.
func WithMaxBatch(n int) Option { return func(o *options) { o.maxBatch = n } }

// WithBusyTimeout sets how long a connection waits for a lock held by another
// process that has the same database open (coffer itself never waits on its
// own connections). The default is DefaultBusyTimeout.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithLogger sets the logger for schema migrations and connection trouble.
// The default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Open opens the database file at path, creating it (mode 0600) when it does
// not exist, and migrates its schema to the newest version. The directory
// must exist. ctx bounds the opening and the migration only.
//
// The database runs in WAL mode with synchronous=FULL, so that a transaction
// is on stable storage when its commit returns, and with foreign keys on.
func Open(ctx context.Context, path string, opts ...Option) (_ *DB, err error) {
	o := options{
		readers:     max(4, runtime.GOMAXPROCS(0)),
		maxBatch:    DefaultMaxBatch,
		busyTimeout: DefaultBusyTimeout,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.readers < 1 || o.maxBatch < 1 || o.busyTimeout < 0 {
		return nil, fmt.Errorf("sqlite: open %s: invalid options (readers %d, max batch %d, busy timeout %v)",
			path, o.readers, o.maxBatch, o.busyTimeout)
	}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Create the file ourselves so that it is private; SQLite gives the -wal
	// and -shm files the permissions of the database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	db := &DB{path: abs, log: o.log, nread: o.readers, closing: make(chan struct{})}
	defer func() {
		if err != nil {
			db.closeAll()
		}
	}()

	// The write connection. fullfsync matters on macOS only, where fsync
	// alone does not reach stable storage.
	db.wdb, err = sql.Open("sqlite", dsn(abs, o.busyTimeout,
		"journal_mode(WAL)", "synchronous(FULL)", "fullfsync(1)", "foreign_keys(1)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetMaxIdleConns(1)
	wc, err := db.wdb.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w := &conn{sc: wc}
	db.w = &writer{db: db, c: w, max: o.maxBatch}
	var mode string
	if err := wc.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if mode != "wal" {
		return nil, fmt.Errorf("sqlite: open %s: journal mode is %q, not wal", path, mode)
	}
	if err := migrate(ctx, wc, o.log); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: schema: %w", path, err)
	}

	// The read connections: query_only refuses any write at the SQLite level
	// too, under the read-only checks of tx itself.
	db.rdb, err = sql.Open("sqlite", dsn(abs, o.busyTimeout, "query_only(1)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.rdb.SetMaxOpenConns(o.readers)
	db.rdb.SetMaxIdleConns(o.readers)
	db.readers = make(chan *conn, o.readers)
	for range o.readers {
		c, err := db.rdb.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		db.readers <- &conn{sc: c}
	}

	db.w.start()
	return db, nil
}

// dsn builds the driver's data source name: a file: URI (so that any path
// works, whatever characters it holds) carrying the pragmas every new
// connection runs.
func dsn(path string, busy time.Duration, pragmas ...string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	if u.Path[0] != '/' { // a Windows path: file:///C:/...
		u.Path = "/" + u.Path
	}
	return u.String()
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// View runs fn in a read-only transaction on a snapshot of the database: fn
// sees every Update that returned before View started, and no Update that
// commits while it runs. Write methods of the Tx return ErrReadOnly. Views
// run concurrently with each other and with Updates, up to the number of read
// connections (WithReaders).
//
// fn must not call View or Update: a View in fn could wait for a read
// connection forever, and an Update would not see fn's snapshot.
func (db *DB) View(ctx context.Context, fn func(storage.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-db.closing:
		return ErrClosed
	default:
	}
	var c *conn
	select {
	case c = <-db.readers:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.closing:
		return ErrClosed
	}
	defer func() { db.readers <- c }()
	if c == nil { // discarded after an error: reconnect
		sc, err := db.rdb.Conn(ctx)
		if err != nil {
			return fmt.Errorf("sqlite: view: %w", err)
		}
		c = &conn{sc: sc}
	}
	if _, err := c.exec(stBegin); err != nil {
		db.discard(&c, "begin", err)
		return fmt.Errorf("sqlite: view: begin: %w", err)
	}
	t := &tx{c: c, ctx: ctx}
	defer func() {
		t.done = true
		// A read transaction has nothing to commit.
		if _, rerr := c.exec(stRollback); rerr != nil {
			db.discard(&c, "rollback", rerr)
		}
	}()
	return fn(t)
}

// discard closes a read connection whose state is in doubt; the next View
// that takes its slot opens a new one.
func (db *DB) discard(c **conn, op string, err error) {
	db.log.Warn("sqlite: discarding read connection", "op", op, "err", err)
	_ = (*c).close(true)
	*c = nil
}

// Update runs fn in a read-write transaction. It returns nil only once the
// transaction is durable; it returns fn's error, unchanged, when fn fails, and
// then nothing fn did is kept. A panic in fn rolls back fn's writes and goes on
// in the calling goroutine.
//
// Concurrent Updates are committed in groups by one writer (group commit):
// each fn runs inside a savepoint of the group's transaction, in the calling
// goroutine, while the writer waits, so fns never run concurrently with each
// other, and one fn's failure undoes that fn only. If ctx ends while fn waits
// for its turn, Update returns ctx.Err() and fn never runs; once fn has
// started, Update waits for the outcome of the commit whatever ctx does.
//
// fn must not call Update or View: an Update in fn waits for itself forever,
// and a View in fn cannot see fn's uncommitted writes.
func (db *DB) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := newRequest(fn)
	if err := db.enqueue(ctx, r); err != nil {
		return err
	}
	return r.wait(ctx)
}

func (db *DB) enqueue(ctx context.Context, r *request) error {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	select {
	case db.w.queue <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close waits for the Updates already queued and the running Views to
// finish, then closes the database. View and Update return ErrClosed after
// Close. Calling Close again does nothing.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil
	}
	db.closed = true
	close(db.closing)
	close(db.w.queue) // no enqueue is in progress: they hold closeMu
	db.closeMu.Unlock()
	<-db.w.exited
	return db.closeAll()
}

// closeAll closes every connection; the writer has stopped (or never ran).
func (db *DB) closeAll() error {
	var errs []error
	if db.w != nil && db.w.c != nil {
		errs = append(errs, db.w.c.close(false))
	}
	if db.readers != nil {
		// After Close, wait for running Views to hand their connections
		// back; after a failed Open, take the ones made so far.
		n := db.nread
		if !db.closed {
			n = len(db.readers)
		}
		for range n {
			if c := <-db.readers; c != nil {
				errs = append(errs, c.close(false))
			}
		}
	}
	if db.rdb != nil {
		errs = append(errs, db.rdb.Close())
	}
	if db.wdb != nil {
		errs = append(errs, db.wdb.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", db.path, err)
	}
	return nil
}
