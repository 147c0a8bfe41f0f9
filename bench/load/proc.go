package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server process the program started: coffer or the bare handler.
type proc struct {
	name     string
	url      string // http://127.0.0.1:port
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	waitErr  error         // valid after done
	stderr   *syncBuffer
	stopOnce sync.Once
	stopErr  error
}

// startProc starts cmd and waits for it to print "<prefix>http://..." on
// stdout. The address must be on 127.0.0.1: nothing else is ever a target.
func startProc(ctx context.Context, name string, cmd *exec.Cmd, prefix string) (*proc, error) {
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), stderr: new(syncBuffer)}
	cmd.Stderr = p.stderr
	setDeathSignal(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				select {
				case urlc <- u:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	select {
	case u := <-urlc:
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			p.kill()
			return nil, fmt.Errorf("%s listens on %s, not on 127.0.0.1", name, u)
		}
		p.url = u
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening (%v):\n%s", name, p.waitErr, p.stderr.tail())
	case <-time.After(30 * time.Second):
		p.kill()
		return nil, fmt.Errorf("%s did not start listening within 30s:\n%s", name, p.stderr.tail())
	case <-ctx.Done():
		p.kill()
		return nil, context.Cause(ctx)
	}
}

// stop sends SIGTERM and waits for a clean exit, killing the process after
// 15s. It is safe to call more than once.
func (p *proc) stop() error {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			p.stopErr = fmt.Errorf("%s had already exited (%v):\n%s", p.name, p.waitErr, p.stderr.tail())
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if p.waitErr != nil {
				p.stopErr = fmt.Errorf("%s: %v:\n%s", p.name, p.waitErr, p.stderr.tail())
			}
		case <-time.After(15 * time.Second):
			p.kill()
			p.stopErr = fmt.Errorf("%s did not stop within 15s of SIGTERM; killed", p.name)
		}
	})
	return p.stopErr
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// startCoffer starts coffer on a free loopback port with a fresh data
// directory and the fixed test identity, with or without its audit trail
// (auditSync, when set, is its COFFER_AUDIT_SYNC).
func startCoffer(ctx context.Context, bin, dataDir string, audit bool, auditSync string) (*proc, error) {
	cmd := exec.Command(bin, "server", "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	auditEnv := "COFFER_AUDIT=on"
	if !audit {
		auditEnv = "COFFER_AUDIT=off" // benchmarks only: no trail
	}
	cmd.Env = append(os.Environ(),
		"COFFER_ACCOUNT_ID="+accountID,
		"COFFER_ROOT_ACCESS_KEY_ID="+keyID,
		"COFFER_ROOT_SECRET_ACCESS_KEY="+secretKey,
		"COFFER_LOG_LEVEL=warn",
		auditEnv,
	)
	if audit && auditSync != "" {
		cmd.Env = append(cmd.Env, "COFFER_AUDIT_SYNC="+auditSync)
	}
	return startProc(ctx, "coffer", cmd, "coffer: listening on ")
}

// startBare re-executes this program as the bare-handler server, which
// answers every request with body.
func startBare(ctx context.Context, body []byte) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, bareCommand)
	cmd.Stdin = bytes.NewReader(body)
	return startProc(ctx, "bare handler", cmd, bareListening)
}

// buildCoffer builds ./cmd/coffer of the enclosing module into dir.
func buildCoffer(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	root := filepath.Dir(gomod)
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the coffer module: run from the repository or pass -coffer")
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "coffer")); err != nil {
		return "", fmt.Errorf("module %s has no cmd/coffer: run from the coffer repository or pass -coffer", root)
	}
	bin := filepath.Join(dir, "coffer")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/coffer")
	build.Dir = root
	build.Stdout, build.Stderr = stderr, stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/coffer: %w", err)
	}
	return bin, nil
}

// syncBuffer collects a child's stderr for error messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last few KiB written.
func (b *syncBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > 4096 {
		s = "..." + s[len(s)-4096:]
	}
	return s
}
