//go:build !unix

package runenv

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// ForwardedSignals are passed on to the child.
var ForwardedSignals = []os.Signal{os.Interrupt}

// ExecOptions describe the child process.
type ExecOptions struct {
	Argv    []string
	Env     []string
	Stdin   *os.File
	Stdout  io.Writer
	Stderr  io.Writer
	Updates <-chan []string
	Signal  os.Signal
	Grace   time.Duration
	Notify  func(string)
}

// Exec is not supported on this platform.
func Exec(context.Context, ExecOptions) (int, error) {
	return 1, errors.New("coffer run is supported on Unix systems only")
}

// ParseSignal is not supported on this platform.
func ParseSignal(name string) (os.Signal, error) {
	return nil, errors.New("signals are supported on Unix systems only")
}
