package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/coffer-dev/coffer/internal/rotation"
)

// ExecFunc runs a command for each step (see the package documentation).
type ExecFunc struct {
	Argv    []string          // run without a shell
	Env     map[string]string // the function's own variables
	Timeout time.Duration     // 0: DefaultTimeout
	// Environ returns the step's AWS variables (endpoint, region,
	// credentials) as KEY=VALUE; nil adds none.
	Environ func(ctx context.Context, ev rotation.Event) ([]string, error)
}

// Invoke runs the command with the event on stdin and returns the tail of
// its stderr; an error unless it exits 0 within the timeout.
func (f *ExecFunc) Invoke(ctx context.Context, ev rotation.Event) (string, error) {
	if len(f.Argv) == 0 || f.Argv[0] == "" {
		return "", errors.New("function: no command")
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return "", err
	}
	home, err := os.MkdirTemp("", "coffer-function-")
	if err != nil {
		return "", fmt.Errorf("function: home directory: %w", err)
	}
	defer os.RemoveAll(home)

	env := []string{"PATH=" + hostPath(), "HOME=" + home}
	if f.Environ != nil {
		more, err := f.Environ(ctx, ev)
		if err != nil {
			return "", fmt.Errorf("function: credentials: %w", err)
		}
		env = append(env, more...)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Env)) {
		if !reserved[k] {
			env = append(env, k+"="+f.Env[k])
		}
	}

	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, f.Argv[0], f.Argv[1:]...)
	cmd.Env = env
	cmd.Dir = home
	cmd.Stdin = bytes.NewReader(body)
	stderr := &tail{max: MaxLog}
	cmd.Stderr = stderr
	// A descendant that escaped the process group may hold stderr open:
	// stop waiting for it shortly after the kill.
	cmd.WaitDelay = 2 * time.Second
	ownGroup(cmd)

	err = cmd.Run()
	log := stderr.String()
	switch {
	case err == nil:
		return log, nil
	case errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return log, fmt.Errorf("function %s: timed out after %s", f.Argv[0], timeout)
	case ctx.Err() != nil:
		return log, fmt.Errorf("function %s: %w", f.Argv[0], ctx.Err())
	}
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		return log, fmt.Errorf("function %s: %s", f.Argv[0], xe.ProcessState)
	}
	return log, fmt.Errorf("function %s: %w", f.Argv[0], err)
}

// tail is an io.Writer that keeps the last max bytes written.
type tail struct {
	max     int
	buf     []byte
	dropped bool
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		t.dropped = true
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.dropped = true
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tail) String() string {
	if t.dropped {
		return "[earlier output dropped]\n" + string(t.buf)
	}
	return string(t.buf)
}
