package server

import (
	"context"
	"time"

	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/storage"
)

// timedStore is a storage.Store that records the time of every View and
// Update (the closure included) in metrics.ObserveStore. It hides the
// optional interfaces of the store it wraps (storage.Leaser,
// storage.Snapshotter): give it to the services only, and keep the store
// itself for jobs, backups and Close.
type timedStore struct{ storage.Store }

// timeStore wraps s with metrics.
func timeStore(s storage.Store) storage.Store { return timedStore{s} }

func (s timedStore) View(ctx context.Context, fn func(storage.Tx) error) error {
	start := time.Now()
	err := s.Store.View(ctx, fn)
	metrics.ObserveStore(metrics.StoreView, time.Since(start))
	return err
}

func (s timedStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	start := time.Now()
	err := s.Store.Update(ctx, fn)
	metrics.ObserveStore(metrics.StoreUpdate, time.Since(start))
	return err
}
