package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

// BenchmarkRecord measures Record, the durable record of a read, with 8
// concurrent callers per CPU on a real SQLite store: with the journal (the
// server's embedded default), with the journal synced in the background
// (COFFER_AUDIT_SYNC=10ms), and without it (records wait for a store
// transaction, as on PostgreSQL). The time includes closing the trail,
// which moves every journaled record into the store: the whole cost of a
// record. The store is made under $COFFER_BENCH_DIR when set (fsync costs
// depend on the disk).
func BenchmarkRecord(b *testing.B) {
	b.Run("journal", func(b *testing.B) { benchRecord(b, audit.Config{Journal: "coffer.db-audit"}) })
	b.Run("journal-unsynced", func(b *testing.B) {
		benchRecord(b, audit.Config{Journal: "coffer.db-audit", JournalSync: 10 * time.Millisecond})
	})
	b.Run("store", func(b *testing.B) { benchRecord(b, audit.Config{}) })
}

func benchRecord(b *testing.B, cfg audit.Config) {
	dir := b.TempDir()
	if d := os.Getenv("COFFER_BENCH_DIR"); d != "" {
		var err error
		if dir, err = os.MkdirTemp(d, "audit-bench-"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "coffer.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if cfg.Journal != "" {
		cfg.Journal = filepath.Join(dir, cfg.Journal)
	}
	trail, err := audit.New(db, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := readRecord()
			if err := trail.Record(context.Background(), rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := trail.Close(); err != nil {
		b.Fatal(err)
	}
}

// readRecord is the record of a GetSecretValue call by an IAM user.
func readRecord() *audit.Record {
	return &audit.Record{
		EventSource:     audit.SourceSecretsManager,
		EventName:       "GetSecretValue",
		AWSRegion:       "us-east-1",
		SourceIPAddress: "127.0.0.1",
		UserAgent:       "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.26.8 md/GOOS#linux md/GOARCH#amd64 api/secretsmanager#1.35.4",
		RequestID:       "0e0b5c7a-2a4b-4f36-9d77-8f8f7f0a6c11",
		ReadOnly:        true,
		UserIdentity: &audit.UserIdentity{Type: "IAMUser", PrincipalID: "AIDAEXAMPLEUSERID0001", ARN: "arn:aws:iam::123456789012:user/bench-app",
			AccountID: "123456789012", AccessKeyID: "AKIAEXAMPLEKEY000001", UserName: "bench-app"},
		RequestParameters:  map[string]any{"secretId": "bench/app/secret-17"},
		RecipientAccountID: "123456789012",
	}
}
