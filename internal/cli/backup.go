package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/server"
)

// storeFlags are the flags that choose a store, shared by backup and restore.
func storeFlags(cmd *cobra.Command, cfg *server.Config) {
	cfg.DataDir = envOr("COFFER_DATA_DIR", server.DefaultDataDir())
	cfg.Storage = os.Getenv("COFFER_STORAGE")
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (holds the SQLite database by default)")
	f.StringVar(&cfg.Storage, "storage", cfg.Storage, "store: empty for SQLite in the data directory, or postgres://user@host/db (env COFFER_STORAGE)")
}

func backupCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent snapshot of the store to FILE (values stay encrypted)",
		Long: `Write every record of the store (accounts, access keys, IAM entities, keys,
secrets, versions with their labels and tags) from one consistent snapshot to
FILE, or to standard output for "-". Values are copied sealed: nothing is
decrypted, and the snapshot opens only with the deployment's root key.

With SQLite, stop the server first (it holds the database's lock). With
PostgreSQL, back up while the cluster serves.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			p := newProgress(stderr, "backup")
			if args[0] == "-" {
				n, err := server.Backup(ctx, cfg, stdout, p.update)
				p.done(n)
				return err
			}
			// Written beside FILE and renamed into place once complete, so
			// FILE is never a partial snapshot.
			tmp, err := os.CreateTemp(filepath.Dir(args[0]), ".coffer-backup-*")
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			defer os.Remove(tmp.Name())
			n, err := server.Backup(ctx, cfg, tmp, p.update)
			p.done(n)
			if err == nil {
				err = tmp.Sync()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), args[0])
			}
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			fmt.Fprintf(stdout, "coffer: wrote %d records to %s\n", n, args[0])
			return nil
		},
	}
	storeFlags(cmd, &cfg)
	return cmd
}

func restoreCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Load a snapshot written by coffer backup into an empty store",
		Long: `Load every record of a snapshot written by "coffer backup" (from FILE, or
standard input for "-") into the store, which must be empty: a new data
directory or a new PostgreSQL database, before any server started on it.
Snapshots move between backends: back up SQLite, restore into PostgreSQL, and
back. Put the deployment's root.key (and credentials file) in the data
directory of every node that serves the restored store.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("restore: %w", err)
				}
				defer f.Close()
				r = f
			}
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return fmt.Errorf("data directory: %w", err)
			}
			p := newProgress(stderr, "restore")
			n, err := server.Restore(ctx, cfg, r, p.update)
			p.done(n)
			if err != nil {
				return hinted{err, "restore into a new data directory or an empty database"}
			}
			fmt.Fprintf(stdout, "coffer: restored %d records\n", n)
			return nil
		},
	}
	storeFlags(cmd, &cfg)
	return cmd
}

// progress prints a record count on stderr while a long backup or restore
// runs: on a terminal, one line rewritten at most every 200 ms; elsewhere,
// a line every 5 seconds.
type progress struct {
	w     io.Writer
	what  string
	tty   bool
	start time.Time
	last  time.Time
	shown bool
}

func newProgress(w io.Writer, what string) *progress {
	p := &progress{w: w, what: what, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(n int64) {
	now := time.Now()
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) < every || now.Sub(p.start) < time.Second {
		return
	}
	p.last, p.shown = now, true
	rate := float64(n) / now.Sub(p.start).Seconds()
	if p.tty {
		fmt.Fprintf(p.w, "\rcoffer: %s: %d records (%.0f/s)   ", p.what, n, rate)
	} else {
		fmt.Fprintf(p.w, "coffer: %s: %d records (%.0f/s)\n", p.what, n, rate)
	}
}

func (p *progress) done(n int64) {
	if p.shown && p.tty {
		fmt.Fprintf(p.w, "\rcoffer: %s: %d records in %s\n", p.what, n, time.Since(p.start).Round(time.Millisecond))
	}
}
