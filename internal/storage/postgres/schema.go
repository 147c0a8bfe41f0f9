package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// The schema is a sequence of numbered migrations, migrations/NNNN_name.sql,
// applied in order and never edited once released. The table
// schema_migrations records which ones a database has.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
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

// migrate applies the pending migrations in one transaction. The advisory
// lock (held until that transaction ends, keyed by the schema) makes nodes
// that start together take turns: the first applies, the others then find
// nothing to do.
func (db *DB) migrate(ctx context.Context) (err error) {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	c, err := db.pool.acquire(ctx)
	if err != nil {
		return err
	}
	bad := true
	defer func() { db.pool.release(c, bad) }()
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("postgres: migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			bad = !rollback(c)
		}
	}()
	var schema *string
	if err := c.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if schema == nil {
		return fmt.Errorf("postgres: migrate: no schema of the search_path exists")
	}
	if _, err := c.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('coffer migrations ' || current_schema()))"); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	if _, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer NOT NULL PRIMARY KEY,
	name       text    NOT NULL,
	applied_ms bigint  NOT NULL
)`); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	var current int
	if err := c.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("postgres: database schema version %d is newer than this program's (%d)", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := c.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		if _, err := c.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
			m.version, m.name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		db.log.InfoContext(ctx, "applied schema migration", "version", m.version, "name", m.name)
	}
	if _, err := c.Exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("postgres: migrate: commit: %w", err)
	}
	bad = false
	return nil
}
