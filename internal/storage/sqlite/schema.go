package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"
)

// The schema is a sequence of numbered migrations, migrations/NNNN_name.sql,
// applied in order and never edited once released: a change to the schema is
// a new file. The table schema_migrations records which ones a database has.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrationCode holds, by version, the Go step that follows a migration's
// SQL in the same transaction, for data that SQL alone cannot compute.
var migrationCode = map[int]func(context.Context, *sql.Conn) error{
	2: backfillSearch, // the filter index of the secrets already stored (search.go)
}

// loadMigrations returns the embedded migrations ordered by version. The
// versions must run 1, 2, 3, ... without gaps or repeats.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries { // ReadDir sorts by name
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", e.Name())
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration file %q: want version %d", e.Name(), len(ms)+1)
		}
		b, err := fs.ReadFile(migrationFiles, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return ms, nil
}

// migrate brings the database on c up to the newest schema in a single
// IMMEDIATE transaction: either every pending migration is applied or none.
// It refuses a database written by a newer coffer (a schema version it does
// not know), since running old code on a new schema could corrupt it.
func migrate(ctx context.Context, c *sql.Conn, log *slog.Logger) (err error) {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_ms INTEGER NOT NULL
) STRICT`); err != nil {
		return err
	}
	var current int
	if err := c.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this program's (%d)", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := c.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if code := migrationCode[m.version]; code != nil {
			if err := code(ctx, c); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		if _, err := c.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)",
			m.version, m.name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		log.InfoContext(ctx, "applied schema migration", "version", m.version, "name", m.name)
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
