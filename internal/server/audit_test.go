package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/seal"
	"github.com/coffer-dev/coffer/internal/storage"
)

// TestAuditTrailFromConfig builds the trail and its digest job on the
// embedded store, then verifies and looks up through the command-line
// entry points.
func TestAuditTrailFromConfig(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := Config{Listen: DefaultListen, DataDir: dir, Partition: "aws", AuditFile: filepath.Join(dir, "audit.jsonl"), AuditDigestInterval: 50 * time.Millisecond}
	root, err := seal.OpenKeyFile(filepath.Join(dir, rootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	trail, digests, err := newTrail(ctx, cfg, store, root, log)
	if err != nil {
		t.Fatal(err)
	}
	jobCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { digests(jobCtx); close(done) }()
	for i := range 3 {
		r := &audit.Record{EventName: "GetSecretValue", RecipientAccountID: "111122223333", RequestParameters: map[string]any{"secretId": "s" + string(rune('0'+i))}}
		if err := trail.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ds []*storage.AuditDigest
		_ = store.View(ctx, func(tx storage.Tx) error { ds, err = tx.AuditDigests(); return err })
		if len(ds) > 0 && ds[len(ds)-1].Seq == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no digest of record 3 after 5s: %d digests", len(ds))
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done
	if err := trail.Close(); err != nil {
		t.Fatal(err)
	}
	// The key is reused, not regenerated.
	k1, err := auditSigningKey(ctx, store, root)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := auditSigningKey(ctx, store, root)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("signing key changed between loads: %v", err)
	}
	// The sealed key is not the seed in clear.
	_ = store.View(ctx, func(tx storage.Tx) error {
		k, err := tx.Key("", "", auditKeyID)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(k.Material, k1.Seed()) {
			t.Error("the audit signing key is stored in clear")
		}
		return nil
	})
	store.Close()

	var out bytes.Buffer
	if err := VerifyAudit(ctx, cfg, "", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "audit trail intact: 3 records") {
		t.Fatalf("verify output: %s", out.String())
	}
	// A pinned public key: the right one verifies, another one fails.
	pub := k1.Public().(ed25519.PublicKey)
	if err := VerifyAudit(ctx, cfg, base64.StdEncoding.EncodeToString(pub), io.Discard); err != nil {
		t.Fatalf("verify with the pinned key: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := VerifyAudit(ctx, cfg, hex.EncodeToString(other), io.Discard); err == nil || !strings.Contains(err.Error(), "forged") {
		t.Fatalf("verify with another key: %v", err)
	}
	out.Reset()
	if err := LookupAudit(ctx, cfg, audit.Filter{Secret: "s1"}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "\n") != 1 || !strings.Contains(out.String(), `"secretId":"s1"`) {
		t.Fatalf("lookup output: %q", out.String())
	}
	b, err := os.ReadFile(cfg.AuditFile)
	if err != nil || strings.Count(string(b), "\n") != 3 {
		t.Fatalf("audit file: %d lines, %v", strings.Count(string(b), "\n"), err)
	}
}
