// Package e2e holds coffer's black-box tests: they build the real binary,
// start it on a free loopback port and drive it with real clients
// (aws-sdk-go-v2, the aws CLI, boto3) and raw HTTP.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	// The tests run the binary built from cmd/coffer, never this package's
	// code; importing it makes go test's cache see every change to the server.
	_ "github.com/coffer-dev/coffer/internal/cli"
)

// Fixed identity every test server starts with.
const (
	testAccount   = "123456789012"
	testKeyID     = "AKIAIOSFODNN7EXAMPLE"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testRegion    = "us-east-1"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coffer-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "coffer")
	build := exec.Command("go", "build", "-o", binPath, "../cmd/coffer")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building coffer:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running coffer process.
type server struct {
	t       *testing.T
	DataDir string
	URL     string // http://127.0.0.1:port
	cmd     *exec.Cmd
	done    chan struct{}
	mu      sync.Mutex
	stdout  strings.Builder
	stderr  strings.Builder
}

// startServer starts coffer on a free port with a fresh data directory, or
// with dataDir when given (to restart on existing data).
func startServer(t *testing.T, dataDir string, extraEnv ...string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	s := &server{t: t, DataDir: dataDir, done: make(chan struct{})}
	s.cmd = exec.Command(binPath, "server", "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	s.cmd.Env = append(os.Environ(),
		"COFFER_ACCOUNT_ID="+testAccount,
		"COFFER_ROOT_ACCESS_KEY_ID="+testKeyID,
		"COFFER_ROOT_SECRET_ACCESS_KEY="+testSecretKey,
	)
	s.cmd.Env = append(s.cmd.Env, extraEnv...)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stdout.WriteString(line + "\n")
			s.mu.Unlock()
			if u, ok := strings.CutPrefix(line, "coffer: listening on "); ok {
				urlc <- u
			}
		}
	}()
	go func() {
		b, _ := io.ReadAll(stderr)
		s.mu.Lock()
		s.stderr.Write(b)
		s.mu.Unlock()
		_ = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case s.URL = <-urlc:
	case <-s.done:
		t.Fatalf("coffer exited before listening:\n%s", s.Stderr())
	case <-time.After(15 * time.Second):
		s.Kill()
		t.Fatalf("coffer did not start listening in time:\n%s", s.Stderr())
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.Kill()
		s.t.Errorf("coffer did not stop on SIGTERM")
	}
}

// Kill stops the process with SIGKILL, as a crash would.
func (s *server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// ExitCode is the process's exit code after it stopped.
func (s *server) ExitCode() int { <-s.done; return s.cmd.ProcessState.ExitCode() }

func (s *server) Stderr() string { s.mu.Lock(); defer s.mu.Unlock(); return s.stderr.String() }
func (s *server) Stdout() string { s.mu.Lock(); defer s.mu.Unlock(); return s.stdout.String() }

// client returns an aws-sdk-go-v2 Secrets Manager client for the server.
func (s *server) client(region string) *secretsmanager.Client {
	return s.clientWith(region, testKeyID, testSecretKey)
}

func (s *server) clientWith(region, keyID, secret string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
