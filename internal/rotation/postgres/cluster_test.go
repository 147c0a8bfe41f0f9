package postgres

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The tests need a PostgreSQL that checks passwords (the shared server on
// 5432 trusts everyone), so TestMain runs a throw-away cluster: initdb -A
// scram-sha-256 on a free port, log_statement=all into a file the tests
// read, removed at the end.

const clusterSuperPassword = "cluster-superuser-fixture"

var cluster struct {
	port    int
	dir     string
	pgCtl   string
	asUser  []string // runuser prefix when running as root
	logPath string
	skip    string // why the cluster is unavailable
}

func TestMain(m *testing.M) {
	if err := startCluster(); err != nil {
		cluster.skip = err.Error()
	}
	code := m.Run()
	stopCluster()
	os.Exit(code)
}

func findInitdb() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.EvalSymlinks(p)
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return matches[len(matches)-1], nil
	}
	return "", fmt.Errorf("initdb not found (install the PostgreSQL server binaries)")
}

func startCluster() error {
	initdb, err := findInitdb()
	if err != nil {
		return err
	}
	cluster.pgCtl = filepath.Join(filepath.Dir(initdb), "pg_ctl")
	dir, err := os.MkdirTemp("", "coffer-pgrot-")
	if err != nil {
		return err
	}
	cluster.dir = dir
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: run the cluster as postgres.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root and no postgres user to run initdb as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			return fmt.Errorf("running as root without runuser")
		}
		cluster.asUser = []string{runuser, "-u", "postgres", "--"}
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(clusterSuperPassword+"\n"), 0o644); err != nil {
		return err
	}
	if err := run(initdb, "-D", filepath.Join(dir, "data"), "-A", "scram-sha-256", "-U", "postgres",
		"--pwfile="+pwfile, "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cluster.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	cluster.logPath = filepath.Join(dir, "server.log")
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c log_statement=all -c fsync=off -c logging_collector=off", cluster.port, dir)
	if err := run(cluster.pgCtl, "-D", filepath.Join(dir, "data"), "-l", cluster.logPath, "-w", "-t", "20", "-o", opts, "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %w", err)
	}
	return nil
}

func run(name string, args ...string) error {
	argv := append(append([]string{}, cluster.asUser...), name)
	argv = append(argv, args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func stopCluster() {
	if cluster.dir == "" {
		return
	}
	if cluster.port != 0 {
		_ = run(cluster.pgCtl, "-D", filepath.Join(cluster.dir, "data"), "-m", "immediate", "-w", "stop")
	}
	_ = os.RemoveAll(cluster.dir)
}

// needCluster skips (or fails under CI=true) when the cluster is missing.
func needCluster(t *testing.T) {
	t.Helper()
	if cluster.skip == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("password-checking PostgreSQL cluster unavailable: %s", cluster.skip)
	}
	t.Skipf("password-checking PostgreSQL cluster unavailable: %s", cluster.skip)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// login reports whether user/password authenticates on the cluster.
func login(t *testing.T, user, password string) bool {
	t.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=disable user=%s", cluster.port, dsnQuote(user)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = password
	conn, err := pgx.ConnectConfig(testCtx(t), cfg)
	if err != nil {
		return false
	}
	closeConn(conn)
	return true
}

// superExec runs statements as the cluster's superuser.
func superExec(t *testing.T, stmts ...string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=disable user=postgres", cluster.port))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = clusterSuperPassword
	ctx := testCtx(t)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("superuser login: %v", err)
	}
	defer closeConn(conn)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// createUser creates a login role with password (sent as a verifier, so
// the fixture passwords stay out of the log too).
func createUser(t *testing.T, name, password, attrs string) {
	t.Helper()
	v, err := scramVerifier(password)
	if err != nil {
		t.Fatal(err)
	}
	superExec(t, fmt.Sprintf("CREATE ROLE %s WITH LOGIN %s PASSWORD '%s'", pgx.Identifier{name}.Sanitize(), attrs, v))
}

func serverLog(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(cluster.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
