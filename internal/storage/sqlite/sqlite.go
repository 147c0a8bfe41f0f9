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
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/coffer-dev/coffer/internal/storage"
)

var (
	// ErrClosed is returned by View and Update after Close.
	ErrClosed = errors.New("sqlite: database closed")
	// ErrReadOnly is returned by a write method called inside View.
	ErrReadOnly = errors.New("sqlite: write in a read-only transaction")
	// ErrInUse is returned (wrapped) by Open when another process, or
	// another Open in this one, has the database open.
	ErrInUse = errors.New("sqlite: database in use by another coffer process")

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
	lock *os.File // holds the exclusive lock on path+".lock" until Close

	// cache is the read cache (cache.go); nil when turned off.
	cache *cache
	// begins counts the SQL transactions Views began (for tests).
	begins atomic.Int64

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
	readers      int
	maxBatch     int
	busyTimeout  time.Duration
	log          *slog.Logger
	cacheSecrets int
	cacheVers    int
}

// Option configures Open.
type Option func(*options)

// WithReaders sets the number of read-only connections Views read through,
// which bounds the number of Views reading SQL at once (more wait for a free
// connection; a View served from the read cache needs none). The default is
// max(4, GOMAXPROCS).
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// WithMaxBatch bounds how many Update closures share one transaction and one
// fsync (group commit). 1 runs every closure in its own transaction. The
// default is DefaultMaxBatch.
func WithMaxBatch(n int) Option { return func(o *options) { o.maxBatch = n } }

// WithBusyTimeout sets how long a connection waits for a lock held by another
// process that has the same database open (coffer itself never waits on its
// own connections). The default is DefaultBusyTimeout.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithCache bounds the read cache (see the package documentation) to
// secrets secrets and versions versions; 0 for either turns the cache off.
// The defaults are DefaultCacheSecrets and DefaultCacheVersions. When full,
// the cache drops arbitrary entries to make room.
func WithCache(secrets, versions int) Option {
	return func(o *options) { o.cacheSecrets, o.cacheVers = secrets, versions }
}

// WithLogger sets the logger for schema migrations and connection trouble.
// The default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Open opens the database file at path, creating it (mode 0600) when it does
// not exist, and migrates its schema to the newest version. The directory
// must exist. ctx bounds the opening and the migration only.
//
// Open first takes an exclusive lock on the file path+".lock" (created with
// mode 0600 and left in place), held until Close: while one DB has the
// database open, another Open of it, in this process or another, fails
// with an error wrapping ErrInUse. The read cache relies on it.
//
// The database runs in WAL mode with synchronous=FULL, so that a transaction
// is on stable storage when its commit returns, and with foreign keys on.
func Open(ctx context.Context, path string, opts ...Option) (_ *DB, err error) {
	o := options{
		readers:      max(4, runtime.GOMAXPROCS(0)),
		maxBatch:     DefaultMaxBatch,
		busyTimeout:  DefaultBusyTimeout,
		cacheSecrets: DefaultCacheSecrets,
		cacheVers:    DefaultCacheVersions,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.readers < 1 || o.maxBatch < 1 || o.busyTimeout < 0 || o.cacheSecrets < 0 || o.cacheVers < 0 {
		return nil, fmt.Errorf("sqlite: open %s: invalid options (readers %d, max batch %d, busy timeout %v, cache %d/%d)",
			path, o.readers, o.maxBatch, o.busyTimeout, o.cacheSecrets, o.cacheVers)
	}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The lock comes first: nothing touches a database another process has.
	lock, err := lockFile(abs + ".lock")
	if errors.Is(err, ErrInUse) {
		return nil, &inUseError{path: abs}
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: lock: %w", path, err)
	}
	db := &DB{path: abs, log: o.log, lock: lock, nread: o.readers, closing: make(chan struct{})}
	if lockSupported {
		db.cache = newCache(o.cacheSecrets, o.cacheVers)
	}
	defer func() {
		if err != nil {
			db.closeAll()
		}
	}()

	// Create the file ourselves so that it is private; SQLite gives the -wal
	// and -shm files the permissions of the database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

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

// inUseError is Open's error when the lock is taken.
type inUseError struct{ path string }

func (e *inUseError) Error() string {
	return "sqlite: database " + e.path + " is in use by another coffer process"
}

func (e *inUseError) Unwrap() error { return ErrInUse }

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
// run concurrently with each other and with Updates.
//
// SecretByName, SecretByARN and Version are served from the read cache when
// it holds the record; the SQL transaction begins at the first read that
// needs it, on one of the read connections (WithReaders), and a View served
// from the cache alone never begins one. See the package documentation.
//
// fn must not call View or Update: a View in fn could wait for a read
// connection forever, and an Update would not see fn's snapshot. Nor may fn
// wait for an Update made by another goroutine: a commit waits for the Views
// reading the cache to move on.
func (db *DB) View(ctx context.Context, fn func(storage.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-db.closing:
		return ErrClosed
	default:
	}
	t := &tx{ctx: ctx, db: db}
	defer t.endView()
	return fn(t)
}

// reader takes a read connection, waiting for a free one.
func (db *DB) reader(ctx context.Context) (*conn, error) {
	select {
	case <-db.closing:
		return nil, ErrClosed
	default:
	}
	var c *conn
	select {
	case c = <-db.readers:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-db.closing:
		return nil, ErrClosed
	}
	if c == nil { // discarded after an error: reconnect
		sc, err := db.rdb.Conn(ctx)
		if err != nil {
			db.readers <- nil
			return nil, err
		}
		c = &conn{sc: sc}
	}
	return c, nil
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

// Close waits for the Updates already queued and the Views reading through
// SQL to finish, then closes the database and releases its lock. View and
// Update return ErrClosed after Close, and so does a read needing SQL in a
// View that was running on the cache. Calling Close again does nothing.
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
	if db.lock != nil {
		// Closing the file releases the lock. The file stays: removing it
		// would race with another process locking it.
		errs = append(errs, db.lock.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", db.path, err)
	}
	return nil
}
