package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One DB at a time has a database open: a second Open fails until Close.
func TestOpenLocksDatabase(t *testing.T) {
	if !lockSupported {
		t.Skip("no file locks on this platform")
	}
	path := filepath.Join(t.TempDir(), "coffer.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + ".lock")
	if err != nil {
		t.Fatalf("lock file: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("lock file mode %v, want 0600", perm)
	}

	db2, err := Open(t.Context(), path)
	if err == nil {
		db2.Close()
		t.Fatal("second Open of a database in use: no error")
	}
	if !errors.Is(err, ErrInUse) {
		t.Errorf("second Open: %v, want ErrInUse", err)
	}
	if want := "database " + db.Path() + " is in use by another coffer process"; !strings.Contains(err.Error(), want) {
		t.Errorf("second Open: %q, want it to say %q", err, want)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := db2.Close(); err != nil {
		t.Fatal(err)
	}
}

// A failed Open releases the lock.
func TestFailedOpenReleasesLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), path); err == nil || errors.Is(err, ErrInUse) {
		t.Fatalf("Open of a file that is not a database: %v, want a format error", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after a failed Open: %v", err)
	}
	db.Close()
}
