package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Errors of this backend (wrapped; use errors.Is).
var (
	// ErrClosed is returned by View and Update after Close.
	ErrClosed = errors.New("postgres: store is closed")
	// ErrReadOnly is returned by the write methods of a View's Tx.
	ErrReadOnly = errors.New("postgres: write in a read-only transaction")
	errTxDone   = errors.New("postgres: transaction used after its closure returned")
)

// maxAttempts bounds how many times Update runs a closure that keeps losing
// serialization conflicts.
const maxAttempts = 64

// defaultMaxConns is the pool size unless the URL sets pool_max_conns.
const defaultMaxConns = 16

// DB is a storage.Store on PostgreSQL. It is safe for concurrent use.
type DB struct {
	pool   *pool
	log    *slog.Logger
	closed atomic.Bool
	// retries counts closures re-run after a serialization failure (tests
	// and metrics).
	retries atomic.Int64
}

var _ storage.Store = (*DB)(nil)

// Option configures Open.
type Option func(*DB)

// WithLogger sets the logger of migrations and lease changes.
func WithLogger(l *slog.Logger) Option { return func(db *DB) { db.log = l } }

// Open connects to the database named by rawURL (postgres:// or
// postgresql://, libpq's keyword/value form works too) and brings its
// schema up to date. Besides pgx's parameters, the URL may set
// pool_max_conns (default 16). Objects live in the first schema of the
// search_path (a search_path URL parameter selects another than public).
func Open(ctx context.Context, rawURL string, opts ...Option) (*DB, error) {
	connURL, maxConns, err := splitPoolParams(rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(connURL)
	if err != nil {
		// pgx's error may quote the URL, password included: do not wrap it.
		return nil, errors.New("postgres: invalid connection URL")
	}
	db := &DB{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(db)
	}
	db.pool = newPool(cfg, maxConns)
	if err := db.migrate(ctx); err != nil {
		db.pool.close()
		return nil, err
	}
	return db, nil
}

// splitPoolParams removes the parameters of the pool from a URL, which the
// server would otherwise receive as unknown settings.
func splitPoolParams(rawURL string) (string, int, error) {
	maxConns := defaultMaxConns
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return rawURL, maxConns, nil // keyword/value form: pgx parses it
	}
	q := u.Query()
	if v := q.Get("pool_max_conns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", 0, fmt.Errorf("postgres: pool_max_conns %q: want a positive integer", v)
		}
		maxConns = n
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
	}
	return u.String(), maxConns, nil
}

// Close closes the pool's connections. View and Update fail afterwards.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	db.pool.close()
	return nil
}

// Retries returns how many times a closure was run again after a
// serialization failure or deadlock since Open.
func (db *DB) Retries() int64 { return db.retries.Load() }

// View runs fn in a read-only transaction on one snapshot.
func (db *DB) View(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.closed.Load() {
		return ErrClosed
	}
	c, err := db.pool.acquire(ctx)
	if err != nil {
		return err
	}
	bad := true
	defer func() { db.pool.release(c, bad) }()
	t := &tx{c: c, ctx: ctx, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"}
	defer func() {
		t.done = true
		if r := recover(); r != nil {
			bad = !t.rollback()
			panic(r)
		}
	}()
	ferr := fn(t)
	t.done = true
	bad = !t.rollback() // nothing to commit
	return ferr
}

// Update runs fn in a REPEATABLE READ read-write transaction, with the
// records it reads for rewriting locked (see the package doc), and commits
// it when fn returns nil; it runs fn again on a serialization failure or a
// deadlock.
func (db *DB) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		if db.closed.Load() {
			return ErrClosed
		}
		err, retry := db.update(ctx, fn)
		if !retry {
			return err
		}
		if attempt >= maxAttempts {
			return fmt.Errorf("postgres: gave up after %d serialization failures: %w", attempt, err)
		}
		db.retries.Add(1)
		// Jittered exponential back-off: 0.5 ms doubling to 64 ms.
		d := time.Duration(rand.Int64N(int64(500*time.Microsecond) << min(attempt-1, 7)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// update makes one attempt of Update; retry reports a serialization failure.
func (db *DB) update(ctx context.Context, fn func(storage.Tx) error) (err error, retry bool) {
	c, err := db.pool.acquire(ctx)
	if err != nil {
		return err, false
	}
	bad := true
	defer func() { db.pool.release(c, bad) }()
	t := &tx{c: c, ctx: ctx, write: true, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ"}
	defer func() {
		t.done = true
		if r := recover(); r != nil {
			bad = !t.rollback()
			panic(r)
		}
	}()
	ferr := fn(t)
	t.done = true
	switch {
	case t.retry != nil:
		bad = !t.rollback()
		return t.retry, true
	case ferr != nil:
		bad = !t.rollback()
		return ferr, false
	case t.fatal != nil: // the closure swallowed an error that aborted the transaction
		bad = !t.rollback()
		return t.fatal, false
	case !t.begun: // no statement ran: nothing to commit
		bad = false
		return nil, false
	}
	// COMMIT runs to its end whatever ctx does: a commit cut short would
	// leave its outcome unknown.
	tag, err := c.Exec(context.Background(), "COMMIT")
	if err != nil {
		if isRetryable(err) {
			bad = !t.rollback()
			return fmt.Errorf("postgres: commit: %w", err), true
		}
		return fmt.Errorf("postgres: commit: %w", err), false
	}
	if tag.String() != "COMMIT" { // PostgreSQL answers ROLLBACK for an aborted transaction
		bad = false
		return errors.New("postgres: commit: the transaction was rolled back"), false
	}
	bad = false
	return nil, false
}

// rollback ends t's transaction, if it began; it reports whether the
// connection is reusable.
func (t *tx) rollback() bool {
	if !t.begun {
		return !t.c.IsClosed()
	}
	return rollback(t.c)
}

// rollback ends the transaction on c; it reports whether c is reusable.
func rollback(c *pgx.Conn) bool {
	if c.IsClosed() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Exec(ctx, "ROLLBACK")
	return err == nil
}

// isRetryable reports a serialization failure or a deadlock: the
// transaction lost a conflict and may succeed when run again.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// pool is a small pool of connections: at most max open at once, idle ones
// kept for reuse. (pgxpool would need another module; this is all coffer
// needs of it.)
type pool struct {
	cfg   *pgx.ConnConfig
	slots chan struct{} // one token per open or opening connection
	idle  chan *pgx.Conn
	mu    sync.Mutex
	shut  bool
}

func newPool(cfg *pgx.ConnConfig, max int) *pool {
	return &pool{cfg: cfg, slots: make(chan struct{}, max), idle: make(chan *pgx.Conn, max)}
}

func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case c := <-p.idle: // an idle connection holds its slot already
		return c, nil
	default:
	}
	select {
	case c := <-p.idle:
		return c, nil
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// A slot is ours: an idle connection may have come back meanwhile.
	select {
	case c := <-p.idle:
		<-p.slots
		return c, nil
	default:
	}
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.slots
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return c, nil
}

// release returns c to the pool, or closes it when bad or the pool is shut.
func (p *pool) release(c *pgx.Conn, bad bool) {
	p.mu.Lock()
	shut := p.shut
	if !bad && !shut && !c.IsClosed() {
		select {
		case p.idle <- c:
			p.mu.Unlock()
			return
		default:
		}
	}
	p.mu.Unlock()
	closeConn(c)
	<-p.slots
}

func (p *pool) close() {
	p.mu.Lock()
	p.shut = true
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			closeConn(c)
			<-p.slots
		default:
			return
		}
	}
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
