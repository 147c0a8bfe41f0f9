// Package server is the one place that builds coffer: it opens the root key,
// the store and every service in order, picks drivers with an explicit switch,
// and serves the API until its context ends.
//
// Only internal/cli imports it. It is the only package that knows every
// concrete driver.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/awsapi"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/seal"
	"github.com/coffer-dev/coffer/internal/secrets"
	"github.com/coffer-dev/coffer/internal/storage"
)

// purgeInterval is how often secrets past their recovery window are removed.
const purgeInterval = time.Minute

// File names inside the data directory.
const (
	dbFile          = "coffer.db"
	rootKeyFile     = "root.key"
	credentialsFile = "credentials"
)

// app is a built coffer: every service wired, not yet serving.
type app struct {
	store   storage.Store
	iam     *iam.Service
	secrets *secrets.Service
	handler http.Handler
	root    *seal.KeyFile
	// trail records every call (nil when cfg.DisableAudit); digests signs
	// its head until its context ends.
	trail   *audit.Trail
	digests func(ctx context.Context)
}

// build opens the root key and the store in cfg.DataDir and wires every
// service. The caller must close app.store.
func build(ctx context.Context, cfg Config, out io.Writer, log *slog.Logger) (*app, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	root, err := seal.OpenKeyFile(filepath.Join(cfg.DataDir, rootKeyFile))
	if err != nil {
		return nil, err
	}
	store, err := openStoreLog(ctx, cfg, log) // store.go: SQLite or PostgreSQL
	if err != nil {
		return nil, err
	}
	now := time.Now
	timed := timeStore(store) // storemetrics.go: the services' transactions are timed
	ids := iam.New(timed, root, cfg.Partition, now)
	// The audit trail (audit.go): every call through the front door, every
	// write in the transaction that makes it, rotation service events.
	var trail *audit.Trail
	digests := func(context.Context) {}
	if cfg.DisableAudit {
		log.Warn("audit: the audit trail is off (benchmarks only): nothing is recorded")
	} else if trail, digests, err = newTrail(ctx, cfg, store, root, log); err != nil {
		store.Close()
		return nil, fmt.Errorf("audit trail: %w", err)
	}
	ids.SetTrail(trail) // IAM writes commit their record in their transaction
	if err := bootstrap(ctx, cfg, ids, out); err != nil {
		if trail != nil {
			trail.Close()
		}
		store.Close()
		return nil, err
	}
	svc := secrets.New(secrets.Config{Store: timed, Root: root, Partition: cfg.Partition, Now: now, Logger: log, Trail: trail})
	api := awsapi.New(awsapi.Config{Secrets: svc, IAM: ids, Now: now, Logger: log, Trail: trail})
	return &app{store: store, iam: ids, secrets: svc, handler: api, root: root, trail: trail, digests: digests}, nil
}

// Run serves until ctx is done, then shuts down cleanly. It prints the
// listening address (and, on first start, the generated credentials) to out.
func Run(ctx context.Context, cfg Config, out io.Writer, log *slog.Logger) error {
	a, err := build(ctx, cfg, out, log)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if a.trail != nil {
		// Closed after the server and the background jobs stopped (defers
		// run last-in first-out), before the store.
		defer a.trail.Close()
		digestCtx, stopDigests := context.WithCancel(ctx)
		digested := make(chan struct{})
		go func() {
			a.digests(digestCtx)
			close(digested)
		}()
		defer func() { stopDigests(); <-digested }()
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(out, "coffer: listening on http://%s\n", ln.Addr())
	// The admin listener (admin.go): /metrics, /healthz, /readyz.
	stopAdmin, err := startAdmin(cfg.AdminListen, a.store, func(url string) { fmt.Fprintf(out, "coffer: admin on %s\n", url) }, log)
	if err != nil {
		ln.Close()
		return err
	}
	if stopAdmin != nil {
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = stopAdmin(ctx)
		}()
	}

	// Rotation (rotation.go): the engine runs RotateSecret's runs on this
	// node; the scheduler runs on one node of a cluster at a time.
	eng := newRotation(a.store, a.secrets, a.iam, a.root, cfg.Partition, "http://"+ln.Addr().String(), log)
	eng.SetTrail(a.trail)
	rotCtx, stopRotation := context.WithCancel(ctx)
	rotated := make(chan struct{})
	go func() {
		runRotation(rotCtx, a.store, cfg.leaseTTL(), eng, log)
		close(rotated)
	}()
	defer func() { stopRotation(); <-rotated }()

	// Secrets whose recovery window ended are purged in the background,
	// on one node of a cluster at a time (jobs.go).
	purgeCtx, stopPurge := context.WithCancel(ctx)
	purged := make(chan struct{})
	go func() {
		runJob(purgeCtx, a.store, cfg.leaseTTL(), "purge", log, func(ctx context.Context) { a.secrets.RunPurge(ctx, purgeInterval) })
		close(purged)
	}()
	defer func() { stopPurge(); <-purged }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
