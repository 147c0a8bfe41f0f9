package runenv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Watcher polls the AWSCURRENT version of every secret the mappings read
// (DescribeSecret, which returns no value) and, when one changes, resolves
// the mappings again and reports the new variables if they differ.
type Watcher struct {
	Resolver *Resolver
	Mappings []Mapping
	Interval time.Duration
	Warn     func(error) // poll or resolution failures; the child keeps running
}

type target struct{ store, id string }

// Versions maps each watched secret to its AWSCURRENT version id.
type Versions map[target]string

func (w *Watcher) targets() []target {
	var ts []target
	for _, m := range w.Mappings {
		if m.Literal != nil {
			continue
		}
		t := target{m.Store, m.Ref.SecretID}
		if !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// Current reads the AWSCURRENT version id of every watched secret.
func (w *Watcher) Current(ctx context.Context) (Versions, error) {
	vs := Versions{}
	var errs []error
	for _, t := range w.targets() {
		c, ok := w.Resolver.Clients[t.store]
		if !ok {
			errs = append(errs, fmt.Errorf("no secret store named %q", t.store))
			continue
		}
		out, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(t.id)})
		if err != nil {
			errs = append(errs, fmt.Errorf("watching %s: %w", t.id, apiError(err, Ref{SecretID: t.id})))
			continue
		}
		for id, stages := range out.VersionIdsToStages {
			if slices.Contains(stages, "AWSCURRENT") {
				vs[t] = id
			}
		}
	}
	return vs, errors.Join(errs...)
}

// Run polls until ctx ends. base is the state read before vars were
// resolved; send receives each changed set of variables.
func (w *Watcher) Run(ctx context.Context, base Versions, vars []Var, send func([]Var)) {
	if w.Warn == nil {
		w.Warn = func(error) {}
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, err := w.Current(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.Warn(err)
			}
			continue
		}
		if maps.Equal(cur, base) {
			continue
		}
		next, err := w.Resolver.Resolve(ctx, w.Mappings)
		if err != nil {
			if ctx.Err() == nil {
				w.Warn(err)
			}
			continue // base unchanged: retried on the next tick
		}
		base = cur
		if slices.Equal(next, vars) {
			continue
		}
		vars = next
		send(next)
	}
}
