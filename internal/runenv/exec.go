//go:build unix

package runenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ForwardedSignals are passed on to the child.
var ForwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// ExecOptions describe the child process.
type ExecOptions struct {
	Argv   []string
	Env    []string // the first child's whole environment
	Stdin  *os.File
	Stdout io.Writer
	Stderr io.Writer

	// Updates delivers new environments (from a Watcher); nil without --watch.
	Updates <-chan []string
	// Signal, when set, is sent to the child on an update instead of
	// restarting it (its environment cannot change in place).
	Signal os.Signal
	// Grace is how long a restart waits after SIGTERM before SIGKILL.
	Grace time.Duration
	// Notify receives coffer's own notices (never a value).
	Notify func(string)
}

// Exec runs the child until it exits and returns its exit code (128+N when
// signal N killed it). The signals in ForwardedSignals are forwarded. With
// Updates, the child is restarted (or signalled) with each new environment.
//
// The child runs in its own process group. When coffer owns the terminal,
// that group is made the terminal's foreground group (as a shell or tini
// does), so Ctrl-C reaches the child once, directly; otherwise signals reach
// it only through coffer and are never delivered twice.
func Exec(ctx context.Context, o ExecOptions) (int, error) {
	if len(o.Argv) == 0 {
		return 0, errors.New("no command to run")
	}
	if o.Notify == nil {
		o.Notify = func(string) {}
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	path, err := exec.LookPath(o.Argv[0])
	if err != nil {
		return 127, fmt.Errorf("%s: %w", o.Argv[0], err)
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, ForwardedSignals...)
	defer signal.Stop(sigs)

	env := o.Env
	updates := o.Updates
	for {
		cmd := &exec.Cmd{Path: path, Args: o.Argv, Env: env, Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr}
		fg := ownsTerminal()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if fg {
			cmd.SysProcAttr.Foreground = true
			cmd.SysProcAttr.Ctty = int(os.Stdin.Fd())
		}
		if err := cmd.Start(); err != nil {
			return 126, fmt.Errorf("starting %s: %w", o.Argv[0], err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()

		restarting := false
		var next []string
		var kill <-chan time.Time
	wait:
		for {
			select {
			case s := <-sigs:
				if restarting && s != syscall.SIGHUP && s != syscall.SIGUSR1 && s != syscall.SIGUSR2 {
					restarting = false // asked to stop while restarting: stop
				}
				_ = cmd.Process.Signal(s)
			case e, ok := <-updates:
				if !ok {
					updates = nil
					continue
				}
				if o.Signal != nil {
					o.Notify(fmt.Sprintf("secrets changed: sending %v to %s", o.Signal, o.Argv[0]))
					_ = cmd.Process.Signal(o.Signal)
					continue
				}
				next = e
				if !restarting {
					o.Notify(fmt.Sprintf("secrets changed: restarting %s", o.Argv[0]))
					restarting = true
					_ = cmd.Process.Signal(syscall.SIGTERM)
					kill = time.After(o.Grace)
				}
			case <-kill:
				_ = cmd.Process.Kill()
			case <-ctx.Done():
				_ = cmd.Process.Signal(syscall.SIGTERM)
				ctx = context.Background()
			case <-done:
				if fg {
					reclaimTerminal()
				}
				if restarting {
					env = next
					break wait
				}
				return exitCode(cmd.ProcessState), nil
			}
		}
	}
}

func exitCode(st *os.ProcessState) int {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}

// ownsTerminal reports whether stdin is a terminal whose foreground process
// group is coffer's.
func ownsTerminal() bool {
	pgrp, err := unix.IoctlGetInt(int(os.Stdin.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// reclaimTerminal makes coffer's group the foreground group again after the
// child exited. A background group doing so gets SIGTTOU unless it ignores
// it, so it is ignored for the call.
func reclaimTerminal() {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	_ = unix.IoctlSetPointerInt(int(os.Stdin.Fd()), unix.TIOCSPGRP, unix.Getpgrp())
}

// ParseSignal reads a signal name such as HUP, SIGHUP or USR1.
func ParseSignal(name string) (os.Signal, error) {
	n := strings.TrimPrefix(strings.ToUpper(name), "SIG")
	if s, ok := signalNames[n]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown signal %q", name)
}

var signalNames = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "TERM": syscall.SIGTERM,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "WINCH": syscall.SIGWINCH, "ALRM": syscall.SIGALRM,
}
