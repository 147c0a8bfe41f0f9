package audit

import (
	"os"
	"syscall"
)

// fdatasync makes f's data durable, and its metadata only as far as
// reading the data back needs (its size): cheaper than f.Sync.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
