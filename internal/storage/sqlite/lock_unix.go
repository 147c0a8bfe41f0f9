//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"errors"
	"os"
	"syscall"
)

// lockSupported reports whether lockFile really excludes other processes.
// The read cache is only correct under that exclusion (see doc.go).
const lockSupported = true

// lockFile opens (creating with mode 0600) the lock file at path and takes an
// exclusive flock on it without waiting. It returns ErrInUse when another
// open file description holds the lock, that is, another process (or another
// Open in this one). The kernel drops the lock when the file is closed or the
// process ends, however it ends, so a crash never leaves a stale lock.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, err
	}
	return f, nil
}
