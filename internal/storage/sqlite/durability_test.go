package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// helperEnv names the database the helper process writes to.
const helperEnv = "COFFER_SQLITE_DURABILITY_HELPER"

// TestHelperProcess is not a test: TestDurability runs the test binary again
// with -test.run=^TestHelperProcess$ and helperEnv set, and this function
// then writes to the database from several goroutines, printing "ack <id>"
// on stdout after each Update returned nil, until it is killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process of TestDurability")
	}
	db, err := Open(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		os.Exit(2)
	}
	const writers = 8
	for g := range writers {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", g, i)
				err := db.Update(context.Background(), func(tx storage.Tx) error {
					arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + id
					return firstErr(
						tx.InsertAccount(&storage.Account{ID: id, Created: time.Now()}),
						tx.InsertSecret(&storage.Secret{ARN: arn, Account: "123456789012", Region: "us-east-1",
							Name: id, Created: time.Now(), Stages: map[string][]string{"v1": {"AWSCURRENT"}}}),
						tx.InsertVersion(&storage.Version{SecretARN: arn, VersionID: "v1", Created: time.Now(),
							Ciphertext: bytes.Repeat([]byte{byte(i)}, 512)}),
					)
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "helper: update:", err)
					os.Exit(3)
				}
				// One write(2) per line: lines never interleave.
				os.Stdout.WriteString("ack " + id + "\n")
			}
		}()
	}
	select {} // until killed
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestDurability kills a process that is writing (SIGKILL on Unix) and checks
// that every Update it acknowledged is in the database afterwards. It covers
// the crash of the process; the loss of power, which synchronous=FULL is
// there for, cannot be staged here.
func TestDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) { durabilityRound(t, 300+round*700) })
	}
}

func durabilityRound(t *testing.T, killAfter int) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	var acked []string
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() { // after the kill, read what the pipe still holds
		id, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue
		}
		acked = append(acked, id)
		if len(acked) == killAfter && !killed {
			killed = true
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("helper ended after %d acknowledgements; stderr:\n%s", len(acked), stderr.String())
	}
	t.Logf("killed the writer after %d acknowledgements (%d read in all)", killAfter, len(acked))

	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	var check string
	if err := db.w.c.sc.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
	missing := 0
	err = db.View(t.Context(), func(tx storage.Tx) error {
		for _, id := range acked {
			_, err := tx.Account(id)
			if err == nil {
				_, err = tx.Version("arn:aws:secretsmanager:us-east-1:123456789012:secret:"+id, "v1")
			}
			if err != nil {
				missing++
				if missing <= 10 {
					t.Errorf("acknowledged write %s: %v", id, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes lost", missing, len(acked))
	}
}
