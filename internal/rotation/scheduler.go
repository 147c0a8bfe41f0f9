package rotation

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/secrets"
)

// DefaultTick is how often the scheduler looks for due rotations.
const DefaultTick = time.Minute

// Schedule runs the scheduler until ctx ends: a Tick every interval (0:
// DefaultTick), the first at once, which resumes the runs a previous
// process left.
func (e *Engine) Schedule(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultTick
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("rotation scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick starts, and waits for, every rotation that is due now, at most
// MaxParallel at a time: a recorded run whose next attempt has come (a
// retry, or a run a stopped process left), and a new run of each enabled
// secret whose next rotation window has opened (a window that passed while
// coffer was down opens a run at once). The next Tick waits for this one.
func (e *Engine) Tick(ctx context.Context) error {
	statuses, err := e.statuses(ctx)
	if err != nil {
		return err
	}
	now := e.now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, MaxParallel)
	defer wg.Wait()
	for _, st := range statuses {
		if !Due(st, now, e.cfg.ResumeAfter) {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			e.runDue(ctx, st)
		})
	}
	return nil
}

// MaxParallel bounds the rotations one scheduler pass runs at once.
const MaxParallel = 8

func (e *Engine) runDue(ctx context.Context, st *secrets.RotationStatus) {
	if st.Run == nil {
		if _, err := e.cfg.Secrets.BeginRotation(ctx, st.ARN); err != nil {
			e.log.Warn("rotation: cannot start", "secret", st.ARN, "err", err)
			return
		}
	}
	if err := e.Run(ctx, st.ARN); err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
		e.log.Warn("rotation failed", "secret", st.ARN, "err", err)
	}
}

// Due reports whether the scheduler runs st's rotation at now. A run in
// flight (no failure recorded) is due once its journal is resumeAfter old:
// the process that ran it stopped.
func Due(st *secrets.RotationStatus, now time.Time, resumeAfter time.Duration) bool {
	if st.Deleted {
		return false
	}
	if r := st.Run; r != nil {
		if r.NextAttempt.IsZero() {
			return now.Sub(r.Updated) >= resumeAfter
		}
		return !r.NextAttempt.After(now)
	}
	return st.Enabled && !st.NextWindowStart.IsZero() && !now.Before(st.NextWindowStart)
}

// statuses lists the secrets with rotation configured: those of every
// scope, and those the engine saw rotating in other regions.
func (e *Engine) statuses(ctx context.Context) ([]*secrets.RotationStatus, error) {
	var out []*secrets.RotationStatus
	seen := map[string]bool{}
	if e.cfg.Scopes != nil {
		scopes, err := e.cfg.Scopes(ctx)
		if err != nil {
			return nil, err
		}
		for _, sc := range scopes {
			sts, err := e.cfg.Secrets.RotatingSecrets(ctx, sc.Account, sc.Region)
			if err != nil {
				return nil, err
			}
			for _, st := range sts {
				seen[st.ARN] = true
				out = append(out, st)
			}
		}
	}
	e.mu.Lock()
	var extra []string
	for arn := range e.known {
		if !seen[arn] {
			extra = append(extra, arn)
		}
	}
	e.mu.Unlock()
	for _, arn := range extra {
		st, err := e.cfg.Secrets.RotationStatus(ctx, arn)
		if err != nil {
			var de *secrets.Error
			if errors.As(err, &de) && de.Kind == secrets.KindResourceNotFound {
				e.mu.Lock()
				delete(e.known, arn)
				e.mu.Unlock()
				continue
			}
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
