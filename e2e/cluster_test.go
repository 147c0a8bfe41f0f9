package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/storage/postgres/pgtest"
)

// pgDatabase is an empty database for one test (pgtest.Database), dropped
// when it ends.
func pgDatabase(t *testing.T) string { return pgtest.Database(t) }

// copyFile copies the root key (or any small file) to dir, mode 0600.
func copyFile(t *testing.T, from, dir string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(from)), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startCluster starts n coffer processes at once on one PostgreSQL
// database (so their migrations and bootstraps race), each with its own
// data directory holding the same root key, as docs/CLUSTER.md deploys them.
func startCluster(t *testing.T, dbURL string, n int) []*server {
	t.Helper()
	var key [32]byte
	_, _ = rand.Read(key[:])
	env := []string{"COFFER_STORAGE=" + dbURL, "COFFER_LEASE_TTL=1s"}
	nodes := make([]*server, n)
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = t.TempDir()
		if err := os.WriteFile(filepath.Join(dirs[i], "root.key"), []byte(hex.EncodeToString(key[:])+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { nodes[i] = startServer(t, dirs[i], env...) })
	}
	wg.Wait()
	return nodes
}

func TestCluster(t *testing.T) {
	nodes := startCluster(t, pgDatabase(t), 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	cx := ctx(t)

	t.Run("WriteOnAReadOnBAndC", func(t *testing.T) {
		_, err := a.client(testRegion).CreateSecret(cx, &secretsmanager.CreateSecretInput{
			Name: aws.String("cluster/one"), SecretString: aws.String("v1")})
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range []*server{b, c} {
			out, err := n.client(testRegion).GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("cluster/one")})
			if err != nil {
				t.Fatalf("node %d: %v", i+1, err)
			}
			if aws.ToString(out.SecretString) != "v1" {
				t.Errorf("node %d read a different value", i+1)
			}
		}
		// A change on B is read on A and C at once (no stale cache).
		if _, err := b.client(testRegion).PutSecretValue(cx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String("cluster/one"), SecretString: aws.String("v2")}); err != nil {
			t.Fatal(err)
		}
		for i, n := range []*server{a, c} {
			out, err := n.client(testRegion).GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("cluster/one")})
			if err != nil || aws.ToString(out.SecretString) != "v2" {
				t.Errorf("node %d after a write on B: stale or failed read (err %v)", i, err)
			}
		}
	})

	t.Run("ConcurrentPutsFromAllNodes", func(t *testing.T) {
		const name, each = "cluster/race", 12
		if _, err := a.client(testRegion).CreateSecret(cx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String("start")}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		acked := map[string]bool{}
		for ni, n := range nodes {
			for w := range 2 {
				wg.Go(func() {
					cl := n.client(testRegion)
					for i := range each / 2 {
						tok := fmt.Sprintf("%08d-0000-4000-8000-%012d", ni, w*100+i)
						out, err := cl.PutSecretValue(cx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
							ClientRequestToken: aws.String(tok), SecretString: aws.String("value " + tok)})
						if err != nil {
							t.Errorf("node %d PutSecretValue: %v", ni, err)
							return
						}
						mu.Lock()
						acked[aws.ToString(out.VersionId)] = true
						mu.Unlock()
					}
				})
			}
		}
		// The same request on every node at once: one version, three successes.
		same := "99999999-0000-4000-8000-000000000000"
		for ni, n := range nodes {
			wg.Go(func() {
				_, err := n.client(testRegion).PutSecretValue(cx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
					ClientRequestToken: aws.String(same), SecretString: aws.String("same")})
				if err != nil {
					t.Errorf("node %d idempotent PutSecretValue: %v", ni, err)
				}
			})
		}
		wg.Wait()
		acked[same] = true
		d, err := c.client(testRegion).DescribeSecret(cx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		labels := map[string]int{}
		for _, stages := range d.VersionIdsToStages {
			for _, l := range stages {
				labels[l]++
			}
		}
		if labels["AWSCURRENT"] != 1 || labels["AWSPREVIOUS"] != 1 {
			t.Errorf("labels after concurrent puts: %v, want one AWSCURRENT and one AWSPREVIOUS", labels)
		}
		vs, err := b.client(testRegion).ListSecretVersionIds(cx, &secretsmanager.ListSecretVersionIdsInput{
			SecretId: aws.String(name), IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(100)})
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, v := range vs.Versions {
			have[aws.ToString(v.VersionId)] = true
		}
		for id := range acked {
			if !have[id] {
				t.Errorf("acknowledged version %s is lost", id)
			}
		}
		if want := len(acked) + 1; len(vs.Versions) != want {
			t.Errorf("%d versions, want %d", len(vs.Versions), want)
		}
		// Every node reads the one current value.
		var current string
		for i, n := range nodes {
			out, err := n.client(testRegion).GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			if i > 0 && aws.ToString(out.VersionId) != current {
				t.Errorf("node %d reads current %s, node 0 %s", i, aws.ToString(out.VersionId), current)
			}
			current = aws.ToString(out.VersionId)
		}
	})

	t.Run("PurgeLeaseMovesOnKill", func(t *testing.T) {
		db, err := pgx.Connect(cx, strings.Split(a.envStorage(), "COFFER_STORAGE=")[1])
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close(context.Background())
		holder := func() string {
			var h string
			err := db.QueryRow(cx, "SELECT holder FROM leases WHERE name = 'purge' AND expires_ms > (extract(epoch FROM clock_timestamp()) * 1000)::bigint").Scan(&h)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				t.Fatal(err)
			}
			return h
		}
		pidOf := func(h string) int {
			parts := strings.Split(h, "/")
			if len(parts) < 3 {
				return 0
			}
			pid, _ := strconv.Atoi(parts[len(parts)-2])
			return pid
		}
		var h string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if h = holder(); h != "" {
				break
			}
		}
		var victim *server
		for _, n := range nodes {
			if n.cmd.Process.Pid == pidOf(h) {
				victim = n
			}
		}
		if victim == nil {
			t.Fatalf("the purge lease holder %q is none of the nodes", h)
		}
		killed := time.Now()
		victim.Kill()
		// TTL 1s: taken over within TTL*4/3 after the last renewal.
		var next string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if next = holder(); next != "" && next != h {
				break
			}
		}
		if next == "" || next == h {
			t.Fatalf("no surviving node took the purge lease after a kill -9 of its holder")
		}
		took := time.Since(killed)
		t.Logf("purge lease moved from pid %d to pid %d in %v", pidOf(h), pidOf(next), took.Round(time.Millisecond))
		if took > 3*time.Second {
			t.Errorf("takeover took %v, want at most about TTL*4/3 (1.33s)", took)
		}
	})
}

// envStorage returns the COFFER_STORAGE entry this server was started with.
func (s *server) envStorage() string {
	for _, e := range s.cmd.Env {
		if strings.HasPrefix(e, "COFFER_STORAGE=") {
			return e
		}
	}
	return ""
}

// TestClusterKillDuringWrites kills -9 one node of three while it takes
// writes: every write it acknowledged is read on the survivors.
func TestClusterKillDuringWrites(t *testing.T) {
	nodes := startCluster(t, pgDatabase(t), 3)
	cx := ctx(t)
	victim := nodes[1]
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			cl := victim.client(testRegion)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("kill/%d/%d", w, i)
				_, err := cl.CreateSecret(cx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("x")})
				if err != nil {
					return // the node is gone
				}
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	victim.Kill()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	for _, n := range []*server{nodes[0], nodes[2]} {
		cl := n.client(testRegion)
		for _, name := range acked {
			if _, err := cl.GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)}); err != nil {
				t.Errorf("acknowledged %s lost after kill -9: %v", name, err)
			}
		}
	}
	t.Logf("%d acknowledged writes survived the kill", len(acked))
}
