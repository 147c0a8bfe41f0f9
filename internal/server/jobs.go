package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Background jobs run once across a cluster.
//
// On a store shared by several nodes (one that implements storage.Leaser:
// PostgreSQL), a job runs only on the node that holds its lease. Every node
// tries to take or renew the lease every leaseTTL/3; the holder runs the
// job, the others wait. A holder that cannot renew (database unreachable,
// lease taken) stops its job at once, before its lease can expire. A node
// killed mid-job stops renewing; its lease expires at most leaseTTL after
// its last renewal and another node takes it within leaseTTL/3 after that:
// the job moves within leaseTTL*4/3 (20 s by default). On shutdown the
// holder releases the lease, so another node takes it within leaseTTL/3.
//
// On a store used by one process (SQLite), the job simply runs.
//
// The jobs themselves stay idempotent (the purge deletes what has expired,
// in transactions), so the rare overlap of a holder that stalled past its
// lease with its successor does no harm.

// defaultLeaseTTL is how long a lease lasts without renewal.
// Config.LeaseTTL (COFFER_LEASE_TTL) overrides it, for tests and for
// operators who want a faster takeover at the cost of more lease writes.
const defaultLeaseTTL = 15 * time.Second

// leaseTTL returns the lease duration in effect: c.LeaseTTL when it is at
// least 300ms, else defaultLeaseTTL.
func (c Config) leaseTTL() time.Duration {
	if c.LeaseTTL >= 300*time.Millisecond {
		return c.LeaseTTL
	}
	return defaultLeaseTTL
}

// holderID names this process in the leases table: host, pid and a random
// part (a restarted process is a new holder).
func holderID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// runJob runs job until ctx ends: under the lease name (held for ttl) when
// store is shared, else directly. job must return soon after its context
// ends.
func runJob(ctx context.Context, store storage.Store, ttl time.Duration, name string, log *slog.Logger, job func(context.Context)) {
	l, ok := store.(storage.Leaser)
	if !ok {
		job(ctx)
		return
	}
	runUnderLease(ctx, l, name, holderID(), ttl, log, job)
}

func runUnderLease(ctx context.Context, l storage.Leaser, name, holder string, ttl time.Duration, log *slog.Logger, job func(context.Context)) {
	renew := ttl / 3
	var (
		stop func()
		wg   sync.WaitGroup
	)
	stopJob := func() {
		if stop != nil {
			stop()
			wg.Wait()
			stop = nil
		}
	}
	tick := time.NewTicker(renew)
	defer tick.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, renew)
		held, err := l.AcquireLease(actx, name, holder, ttl)
		cancel()
		switch {
		case ctx.Err() != nil:
		case err != nil:
			log.WarnContext(ctx, "background job lease: cannot renew", "job", name, "err", err)
			held = false
		}
		if held && stop == nil && ctx.Err() == nil {
			log.InfoContext(ctx, "background job lease taken: running it on this node", "job", name, "holder", holder)
			jctx, jcancel := context.WithCancel(ctx)
			stop = jcancel
			wg.Go(func() { job(jctx) })
		} else if !held && stop != nil {
			log.InfoContext(ctx, "background job lease lost: stopping it on this node", "job", name, "holder", holder)
			stopJob()
		}
		select {
		case <-ctx.Done():
			wasHolder := stop != nil
			stopJob()
			if wasHolder {
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := l.ReleaseLease(rctx, name, holder); err != nil {
					log.Warn("background job lease: release", "job", name, "err", err)
				}
				cancel()
			}
			return
		case <-tick.C:
		}
	}
}
