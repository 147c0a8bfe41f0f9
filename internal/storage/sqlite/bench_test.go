package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// The benchmarks write to b.TempDir(), so TMPDIR chooses the disk measured:
// point it at the disk the database will live on. Run them with e.g.
//
//	go test -run '^$' -bench . -benchtime 3s ./internal/storage/sqlite/

// BenchmarkUpdateParallel measures durable single-record inserts from many
// goroutines, each Update returning only after its fsync, with group commit
// (the default) and without it (WithMaxBatch(1): one transaction and one
// fsync per Update).
func BenchmarkUpdateParallel(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	for _, p := range []int{1, 8, 32} {
		writers := p * procs
		for _, mode := range []struct {
			name string
			opts []Option
		}{
			{"group", nil},
			{"single", []Option{WithMaxBatch(1)}},
		} {
			b.Run(fmt.Sprintf("writers=%d/%s", writers, mode.name), func(b *testing.B) {
				db := openTest(b, mode.opts...)
				defer db.Close()
				var next atomic.Int64
				ctx := context.Background()
				now := time.Now()
				b.SetParallelism(p)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						id := strconv.FormatInt(next.Add(1), 10)
						err := db.Update(ctx, func(tx storage.Tx) error {
							return tx.InsertAccount(&storage.Account{ID: id, Created: now})
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
				if g := db.w.groups.Load(); g > 0 {
					b.ReportMetric(float64(db.w.closures.Load())/float64(g), "writes/commit")
				}
			})
		}
	}
}

// populate inserts n secrets named bench/0 ... bench/n-1, each with one
// version holding a 1 KiB ciphertext.
func populate(b *testing.B, db *DB, n int) {
	b.Helper()
	ctx := context.Background()
	const perTx = 1000
	for start := 0; start < n; start += perTx {
		err := db.Update(ctx, func(tx storage.Tx) error {
			for i := start; i < min(start+perTx, n); i++ {
				name := "bench/" + strconv.Itoa(i)
				arn := arnOf(name)
				err := tx.InsertSecret(&storage.Secret{
					ARN: arn, Account: "123456789012", Region: "us-east-1", Name: name,
					Description: "a secret for the benchmark", TagsSet: true,
					Tags:    []storage.Tag{{Key: "team", Value: "core"}, {Key: "env", Value: "prod"}},
					Stages:  map[string][]string{"11111111-2222-3333-4444-555555555555": {"AWSCURRENT"}},
					Created: time.Now(), LastChanged: time.Now(),
				})
				if err != nil {
					return err
				}
				err = tx.InsertVersion(&storage.Version{SecretARN: arn, VersionID: "11111111-2222-3333-4444-555555555555",
					Created: time.Now(), Ciphertext: make([]byte, 1024)})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func arnOf(name string) string {
	return "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf"
}

const benchSecrets = 10000

// BenchmarkViewSecretByName measures the hot point read, one per View, from
// one goroutine and from many, through the read cache (cache=on: after the
// first read of each secret, no SQL at all) and without it (cache=off).
func BenchmarkViewSecretByName(b *testing.B) {
	benchView(b, func(tx storage.Tx, i int) error {
		_, err := tx.SecretByName("123456789012", "us-east-1", "bench/"+strconv.Itoa(i))
		return err
	})
}

// BenchmarkViewGetSecretValue measures what GetSecretValue reads: the secret
// by name, then its current version with the ciphertext.
func BenchmarkViewGetSecretValue(b *testing.B) {
	benchView(b, func(tx storage.Tx, i int) error {
		s, err := tx.SecretByName("123456789012", "us-east-1", "bench/"+strconv.Itoa(i))
		if err != nil {
			return err
		}
		_, err = tx.Version(s.ARN, "11111111-2222-3333-4444-555555555555")
		return err
	})
}

func benchView(b *testing.B, read func(tx storage.Tx, i int) error) {
	for _, mode := range []struct {
		name string
		opts []Option
	}{
		{"cache=on", nil},
		{"cache=off", []Option{WithCache(0, 0)}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			db := openTest(b, mode.opts...)
			defer db.Close()
			populate(b, db, benchSecrets)
			ctx := context.Background()
			view := func(i int) error {
				return db.View(ctx, func(tx storage.Tx) error { return read(tx, i) })
			}
			for i := range benchSecrets { // warm the cache, if any
				if err := view(i); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("serial", func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				b.ReportAllocs()
				for b.Loop() {
					if err := view(r.IntN(benchSecrets)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
			})
			b.Run("parallel", func(b *testing.B) {
				var seed atomic.Uint64
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					r := rand.New(rand.NewPCG(seed.Add(1), 2))
					for pb.Next() {
						if err := view(r.IntN(benchSecrets)); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
			})
		})
	}
}
