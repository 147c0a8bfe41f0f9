//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

import "os"

// lockSupported is false here: no advisory lock is taken, so another process
// could write the database behind this one's back, and Open turns the read
// cache off (see doc.go).
const lockSupported = false

// lockFile creates the lock file at path (mode 0600) so that the layout on
// disk is the same everywhere, but takes no lock.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
