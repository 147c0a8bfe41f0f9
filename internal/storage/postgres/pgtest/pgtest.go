// Package pgtest gives tests a PostgreSQL of their own: an empty schema
// (Schema) or an empty database (Database) that is dropped when the test
// ends, on the server at $COFFER_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test, trust authentication).
//
// A test skips when that server is unreachable, and fails instead when
// CI=true, so that CI cannot pass without PostgreSQL.
//
// It is for tests only: the tests of internal/storage/postgres and
// internal/audit and the end-to-end tests (e2e) import it, no other code
// does.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// baseURL is the PostgreSQL the tests use: a database in which they may
// create schemas and databases.
func baseURL() string {
	if u := os.Getenv("COFFER_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Schema creates an empty schema for one test and drops it when the test
// ends; it returns the URL that selects it (search_path).
func Schema(t testing.TB) string {
	t.Helper()
	name := create(t, "schema")
	u := parsedURL(t)
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Database creates an empty database for one test and drops it when the
// test ends; it returns its URL.
func Database(t testing.TB) string {
	t.Helper()
	name := create(t, "database")
	u := parsedURL(t)
	u.Path = "/" + name
	return u.String()
}

// create makes a schema or a database with a random name, dropped (with what
// it holds, connections and all) when the test ends, and returns its name.
func create(t testing.TB, kind string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, baseURL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable (CI=true): %v", err)
		}
		t.Skipf("PostgreSQL unreachable (set COFFER_TEST_POSTGRES to run this test): %v", err)
	}
	defer admin.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "coffer_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE "+strings.ToUpper(kind)+" "+name); err != nil {
		t.Fatalf("create %s: %v", kind, err)
	}
	drop := "DROP SCHEMA " + name + " CASCADE"
	if kind == "database" {
		drop = "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, baseURL())
		if err != nil {
			t.Errorf("drop %s %s: %v", kind, name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, drop); err != nil {
			t.Errorf("drop %s %s: %v", kind, name, err)
		}
	})
	return name
}

func parsedURL(t testing.TB) *url.URL {
	t.Helper()
	u, err := url.Parse(baseURL())
	if err != nil {
		// url's error quotes the URL, password included: do not show it.
		t.Fatal("pgtest: COFFER_TEST_POSTGRES is not a valid postgres:// URL")
	}
	return u
}
