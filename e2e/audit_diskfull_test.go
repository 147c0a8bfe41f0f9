package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// mountSmallTmpfs mounts a tmpfs of the given size on a fresh directory and
// unmounts it when the test ends. It skips the test, saying why, when the
// test does not run as root or the kernel refuses the mount (an unprivileged
// container).
func mountSmallTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: filling a filesystem needs a small tmpfs of its own, and mounting one needs root (run as root to test the full disk)")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("skipping: mount -t tmpfs was refused (%v: %s); the test needs a small filesystem it can fill", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		// The server stops first (its cleanup was registered later, so it
		// runs earlier); a lazy unmount still frees the mount if a file is
		// left open.
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			if out2, err2 := exec.Command("umount", "-l", dir).CombinedOutput(); err2 != nil {
				t.Errorf("umount %s: %v: %s; umount -l: %v: %s", dir, err, out, err2, out2)
			}
		}
	})
	return dir
}

// fillFilesystem writes to path until the filesystem is full and returns
// the number of bytes written.
func fillFilesystem(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	// Big blocks first, then single bytes, so that not even a partial page
	// is left.
	for _, size := range []int{1 << 16, 512, 1} {
		buf := make([]byte, size)
		for {
			n, err := f.Write(buf)
			total += int64(n)
			if err == nil {
				continue
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the filesystem: %v", err)
			}
			break
		}
	}
	return total
}

// serverError asserts that err is an HTTP 5xx InternalServiceError.
func serverError(t *testing.T, op string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded on a full disk; want a 5xx InternalServiceError", op)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%s: want an HTTP error response, got %T", op, err)
	}
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	if re.HTTPStatusCode() < 500 || code != "InternalServiceError" {
		t.Fatalf("%s on a full disk: HTTP %d %s; want 5xx InternalServiceError", op, re.HTTPStatusCode(), code)
	}
}

// TestAuditDiskFull runs coffer on a small filesystem, fills it, and checks
// that the audit trail fails closed: a write whose change and record cannot
// be committed is refused and changes nothing; reads go on only while
// their records are durable in the audit journal (its files are made at
// start, so a full disk does not stop them at once), and are refused as
// soon as the journaled records cannot be moved into the store; every read
// that returned a value is in the trail once space is free; and coffer
// serves again, with the data it had.
func TestAuditDiskFull(t *testing.T) {
	mnt := mountSmallTmpfs(t, "24m")
	dataDir := filepath.Join(mnt, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, dataDir)
	c := s.client(testRegion)
	const name = "diskfull/app"
	oldValue, newValue, laterValue := "old-value-7f3a", "refused-value-91c2", "later-value-2b8d"
	if _, err := c.CreateSecret(ctx(t), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(oldValue),
	}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if got := getValue(t, c, name); got != oldValue {
		t.Fatal("GetSecretValue before the disk filled returned a different value than created")
	}

	filler := filepath.Join(mnt, "filler")
	n := fillFilesystem(t, filler)
	t.Logf("filled the filesystem with %d bytes", n)

	_, err := c.PutSecretValue(ctx(t), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String(newValue),
	})
	serverError(t, "PutSecretValue", err)
	t.Logf("PutSecretValue on the full disk: %v", err)

	// The refused put's own record is journaled; moving it into the full
	// store fails, and from then on reads are refused. Until then a read
	// may succeed: its record is durable in the journal.
	var servedOnFullDisk []string // request ids of the reads that returned a value
	refuseBy := time.Now().Add(5 * time.Second)
	for {
		out, err := c.GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)},
			func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
		if err != nil {
			if out != nil && (out.SecretString != nil || out.SecretBinary != nil) {
				t.Fatal("GetSecretValue on a full disk returned a value with its error")
			}
			serverError(t, "GetSecretValue", err)
			t.Logf("GetSecretValue on the full disk, after %d served from the journal: %v", len(servedOnFullDisk), err)
			break
		}
		if aws.ToString(out.SecretString) != oldValue {
			t.Fatal("GetSecretValue on a full disk returned a value other than the one created")
		}
		servedOnFullDisk = append(servedOnFullDisk, requestID(t, out.ResultMetadata, nil))
		if time.Now().After(refuseBy) {
			t.Fatalf("GetSecretValue still served values 5s after the disk filled (%d calls); want it refused once the trail cannot reach the store", len(servedOnFullDisk))
		}
		time.Sleep(2 * time.Millisecond)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()

	// Recovery: the first call after space is freed may still be the one
	// that finds the store's writer failed; give it a few tries, then
	// require it.
	var got string
	var lastErr error
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := c.GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err == nil {
			got, lastErr = aws.ToString(out.SecretString), nil
			break
		}
		lastErr = err
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("GetSecretValue after the disk was freed still fails (10s): %v\nserver stderr:\n%s", lastErr, s.Stderr())
	}
	t.Logf("recovered %v after the filler was removed", time.Since(freed).Round(time.Millisecond))
	switch got {
	case oldValue:
	case newValue:
		t.Fatal("after the disk was freed, GetSecretValue returned the value of the PutSecretValue that was refused")
	default:
		t.Fatal("after the disk was freed, GetSecretValue returned neither the old value nor the refused one")
	}

	put, err := c.PutSecretValue(ctx(t), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String(laterValue),
	})
	if err != nil {
		t.Fatalf("PutSecretValue after the disk was freed: %v\nserver stderr:\n%s", err, s.Stderr())
	}
	if got := getValue(t, c, name); got != laterValue {
		t.Fatal("GetSecretValue after a successful PutSecretValue did not return the new value")
	}

	// Only two versions exist: the created one and the later one; the
	// refused put left none behind.
	ids, err := c.ListSecretVersionIds(ctx(t), &secretsmanager.ListSecretVersionIdsInput{
		SecretId: aws.String(name), IncludeDeprecated: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("ListSecretVersionIds: %v", err)
	}
	if len(ids.Versions) != 2 {
		t.Errorf("the secret has %d versions, want 2 (created and later; the refused put must add none)", len(ids.Versions))
	}
	listed := false
	for _, v := range ids.Versions {
		listed = listed || aws.ToString(v.VersionId) == aws.ToString(put.VersionId)
	}
	if !listed {
		t.Errorf("the later PutSecretValue's version %s is not listed", aws.ToString(put.VersionId))
	}

	// Every read served on the full disk is in the trail, successful.
	s.Stop()
	_, recs := auditLookup(t, s)
	byID := map[string]auditRecord{}
	for _, r := range recs {
		byID[r.RequestID] = r
	}
	for _, id := range servedOnFullDisk {
		r, ok := byID[id]
		if !ok {
			t.Errorf("the read %s served on the full disk has no record in the trail", id)
		} else if r.EventName != "GetSecretValue" || r.ErrorCode != "" {
			t.Errorf("the record of read %s is %s with error %q; want a successful GetSecretValue", id, r.EventName, r.ErrorCode)
		}
	}
}

// getValue reads the secret's current string value, failing the test
// (without printing the value) on error.
func getValue(t *testing.T, c *secretsmanager.Client, name string) string {
	t.Helper()
	out, err := c.GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatalf("GetSecretValue %s: %v", name, err)
	}
	return aws.ToString(out.SecretString)
}

// TestAuditPermissionsRemoved takes write permission away from coffer's
// files while it runs (the immutable attribute, which refuses writes even
// through descriptors already open) and checks that the trail fails
// closed: a read whose record cannot be journaled returns no value, a
// write is refused and changes nothing, and coffer serves again once the
// files are writable.
func TestAuditPermissionsRemoved(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: setting the immutable attribute (chattr +i) needs root")
	}
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Skip("skipping: chattr (e2fsprogs) is not installed")
	}
	dataDir := t.TempDir()
	probe := filepath.Join(dataDir, "probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(chattr, "+i", probe).CombinedOutput(); err != nil {
		t.Skipf("skipping: the filesystem of %s has no immutable attribute (%v: %s)", dataDir, err, bytes.TrimSpace(out))
	}
	_ = exec.Command(chattr, "-i", probe).Run()
	_ = os.Remove(probe)

	s := startServer(t, dataDir)
	c := s.client(testRegion)
	const name = "readonly/app"
	const oldValue, refusedValue = "old-value-3c9e", "refused-value-e41a"
	if _, err := c.CreateSecret(ctx(t), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(oldValue),
	}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if got := getValue(t, c, name); got != oldValue {
		t.Fatal("GetSecretValue before the files were locked returned another value")
	}
	// Let the mover put the records so far into the store, so that the
	// locked store is the only thing in the way.
	time.Sleep(200 * time.Millisecond)

	var locked []string
	for _, f := range []string{"coffer.db", "coffer.db-wal", "coffer.db-audit0", "coffer.db-audit1"} {
		p := filepath.Join(dataDir, f)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if out, err := exec.Command(chattr, "+i", p).CombinedOutput(); err != nil {
			t.Fatalf("chattr +i %s: %v: %s", f, err, out)
		}
		locked = append(locked, p)
	}
	unlock := func() {
		for _, p := range locked {
			if out, err := exec.Command(chattr, "-i", p).CombinedOutput(); err != nil {
				t.Errorf("chattr -i %s: %v: %s", p, err, out)
			}
		}
		locked = nil
	}
	t.Cleanup(unlock) // before TempDir's removal, which runs later

	out, err := c.GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)},
		func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
	if out != nil && (out.SecretString != nil || out.SecretBinary != nil) {
		t.Fatal("GetSecretValue returned a value although its record could not be written")
	}
	serverError(t, "GetSecretValue", err)
	_, err = c.PutSecretValue(ctx(t), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String(refusedValue),
	}, func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
	serverError(t, "PutSecretValue", err)

	unlock()
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := c.GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err == nil {
			got = aws.ToString(out.SecretString)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetSecretValue after the files were writable again still fails (10s): %v\nserver stderr:\n%s", err, s.Stderr())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != oldValue {
		t.Fatal("after the files were writable again, GetSecretValue returned another value than the one created (the refused put changed it)")
	}
	ids, err := c.ListSecretVersionIds(ctx(t), &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(name), IncludeDeprecated: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids.Versions) != 1 {
		t.Errorf("the secret has %d versions, want 1: the refused put must add none", len(ids.Versions))
	}
	s.Stop()
	runCoffer(t, nil, "audit", "verify", "--data-dir", s.DataDir)
}
