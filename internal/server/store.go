package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/postgres"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

// storageKind names the backend a Storage setting selects: "sqlite" or
// "postgres". The URL itself may hold a password, so errors never quote it.
func storageKind(s string) (string, error) {
	if s == "" {
		return "sqlite", nil
	}
	scheme, _, ok := strings.Cut(s, ":")
	if !ok {
		return "", errors.New("storage: want sqlite: or a postgres:// URL")
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		return "sqlite", nil
	case "postgres", "postgresql":
		if _, err := url.Parse(s); err != nil {
			return "", errors.New("storage: the postgres URL does not parse")
		}
		return "postgres", nil
	}
	return "", fmt.Errorf("storage: unknown scheme %q (want sqlite: or postgres://)", scheme)
}

func validateStorage(s string) error {
	_, err := storageKind(s)
	return err
}

// sqlitePath is the SQLite file of a Storage setting: the data directory's
// coffer.db for "" or "sqlite:", else the path after "sqlite:" (sqlite:///abs/file.db
// or sqlite:relative/file.db).
func sqlitePath(cfg Config) string {
	_, rest, _ := strings.Cut(cfg.Storage, ":")
	rest = strings.TrimPrefix(rest, "//")
	if rest == "" {
		return filepath.Join(cfg.DataDir, dbFile)
	}
	return rest
}

// openStore opens the store cfg.Storage chooses for an administrative
// command: records a crash left in the embedded store's audit journal join
// the trail first (the server's own trail does that when it opens the
// journal), so the command sees the whole trail.
func openStore(ctx context.Context, cfg Config) (storage.Store, error) {
	db, err := openStoreLog(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if path := auditJournalPath(cfg); path != "" {
		if err := audit.ReplayJournal(ctx, db, path, slog.Default()); err != nil {
			db.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	return db, nil
}

// openStoreLog opens the store cfg.Storage chooses: SQLite (the default)
// or PostgreSQL, with a logger for the store's own messages (schema
// migrations). It is the only place that knows both drivers.
func openStoreLog(ctx context.Context, cfg Config, log *slog.Logger) (storage.Store, error) {
	kind, err := storageKind(cfg.Storage)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "postgres":
		db, err := postgres.Open(ctx, cfg.Storage, postgres.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return db, nil
	default:
		db, err := sqlite.Open(ctx, sqlitePath(cfg))
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return db, nil
	}
}

// auditJournalPath is the audit trail's journal (package audit) of the
// embedded store: beside its database file, as SQLite's own -wal file is.
// PostgreSQL has none ("").
func auditJournalPath(cfg Config) string {
	if kind, _ := storageKind(cfg.Storage); kind == "postgres" {
		return ""
	}
	return sqlitePath(cfg) + "-audit"
}

// backupBatch is how many records one restore transaction inserts.
const backupBatch = 500

// Backup writes a snapshot of the store cfg chooses to w: every record,
// values still sealed (nothing is decrypted, so no root key is needed).
// A SQLite store must not be in use by a running server (its file lock);
// a PostgreSQL store can be backed up while the cluster serves.
// progress, if set, is called now and then with the records written.
func Backup(ctx context.Context, cfg Config, w io.Writer, progress func(n int64)) (int64, error) {
	if err := validateStorage(cfg.Storage); err != nil {
		return 0, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	snap, ok := store.(storage.Snapshotter)
	if !ok {
		return 0, errors.New("backup: this store cannot export snapshots")
	}
	sw, err := storage.NewSnapshotWriter(w, time.Now())
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	err = snap.Export(ctx, func(r storage.Record) error {
		if err := sw.Write(r); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if progress != nil && sw.Count()%backupBatch == 0 {
			progress(sw.Count())
		}
		return nil
	})
	if err != nil {
		return sw.Count(), err
	}
	if err := sw.Close(); err != nil {
		return sw.Count(), fmt.Errorf("backup: %w", err)
	}
	if progress != nil {
		progress(sw.Count())
	}
	// The command's record (adminaudit.go), once the snapshot is complete:
	// it is not in the snapshot it describes.
	if err := recordAdmin(ctx, store, adminRecord("Backup", "", "", nil), func(context.Context, *audit.Trail) (map[string]any, error) {
		return map[string]any{"records": sw.Count()}, nil
	}); err != nil {
		return sw.Count(), fmt.Errorf("backup: %w", err)
	}
	return sw.Count(), nil
}

// Restore loads a snapshot written by Backup into the store cfg chooses,
// which must be empty (a new data directory or database; the server not
// started on it yet). The data directory must hold the root key of the
// deployment the snapshot comes from, or the restored values will not open.
func Restore(ctx context.Context, cfg Config, r io.Reader, progress func(n int64)) (int64, error) {
	if err := validateStorage(cfg.Storage); err != nil {
		return 0, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	n, err := storage.Restore(ctx, store, r, backupBatch, progress)
	if err != nil {
		return n, fmt.Errorf("restore: %w", err)
	}
	// The command's record (adminaudit.go), appended to the restored
	// trail in the restored store.
	if err := recordAdmin(ctx, store, adminRecord("Restore", "", "", nil), func(context.Context, *audit.Trail) (map[string]any, error) {
		return map[string]any{"records": n}, nil
	}); err != nil {
		return n, fmt.Errorf("restore: %w", err)
	}
	return n, nil
}
