package secrets

import (
	"context"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// purgeBatch bounds the secrets one purge transaction removes, so a large
// backlog never holds the writer for long.
const purgeBatch = 100

// PurgeExpired removes the secrets whose recovery window has ended, with all
// their versions; their names become free. It returns how many it removed.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := s.store.Update(ctx, func(tx storage.Tx) error {
			arns, err := tx.ExpiredSecrets(s.now(), purgeBatch)
			if err != nil {
				return err
			}
			for _, arn := range arns {
				if err := tx.DeleteSecret(arn); err != nil {
					return err
				}
			}
			n = len(arns)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}

// RunPurge calls PurgeExpired every interval until ctx ends.
func (s *Service) RunPurge(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "purging deleted secrets", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "purged deleted secrets", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
