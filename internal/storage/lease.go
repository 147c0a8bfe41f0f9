package storage

import (
	"context"
	"time"
)

// Leaser is an optional interface of a Store shared by several coffer
// processes (storage/postgres): named, time-bounded leases, so that a
// background job (the deletion purge, later rotation and audit digests)
// runs on one node of the cluster at a time.
//
// It is owned by internal/server, which runs background jobs under it. A
// Store that does not implement it is used by one process only (SQLite
// holds an exclusive lock on its file), which then runs every job itself.
type Leaser interface {
	// AcquireLease takes the lease name for holder until ttl from now, or
	// renews it when holder holds it already. It reports whether holder
	// holds the lease afterwards; false (and a nil error) when another
	// holder's lease has not expired. Expiry is measured on the store's
	// clock, so the nodes' clocks need not agree.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if holder holds it, so that another
	// node can take it at once.
	ReleaseLease(ctx context.Context, name, holder string) error
}
