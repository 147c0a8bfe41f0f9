package secrets

import (
	"context"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
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
				var ids []string
				if s.trail != nil {
					vs, err := tx.Versions(arn, false)
					if err != nil {
						return err
					}
					for _, v := range vs {
						ids = append(ids, v.VersionID)
					}
				}
				if err := s.auditPurge(tx, arn, "StartSecretVersionDelete", ids); err != nil {
					return err
				}
				if err := tx.DeleteSecret(arn); err != nil {
					return err
				}
				if err := s.auditPurge(tx, arn, "EndSecretVersionDelete", ids); err != nil {
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

// auditRestore records, inside RestoreSecret's transaction, one
// CancelSecretVersionDelete service event per version of the restored
// secret arn (BEHAVIOUR.md §15.1).
func (s *Service) auditRestore(tx storage.Tx, arn string) error {
	if s.trail == nil {
		return nil
	}
	vs, err := tx.Versions(arn, false)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(vs))
	for _, v := range vs {
		ids = append(ids, v.VersionID)
	}
	return s.auditPurge(tx, arn, "CancelSecretVersionDelete", ids)
}

// auditPurge records, inside the purge transaction, one service event per
// version of the secret arn (BEHAVIOUR.md §15.1): StartSecretVersionDelete
// before it goes, EndSecretVersionDelete once it is gone. A secret without
// versions gets one event naming only the secret. A failing append rolls
// the purge back; it is retried on the next tick.
func (s *Service) auditPurge(tx storage.Tx, arn, event string, ids []string) error {
	if s.trail == nil {
		return nil
	}
	region, account := "", ""
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
		region, account = parts[3], parts[4]
	}
	if len(ids) == 0 {
		ids = []string{""}
	}
	for _, id := range ids {
		rec := serviceEvent(event, account, region, arn)
		rec.Resources = []audit.Resource{secretResource(account, arn)}
		if id != "" {
			rec.AdditionalEventData["VersionId"] = id
		}
		if err := s.trail.Append(tx, rec); err != nil {
			return err
		}
	}
	return nil
}
