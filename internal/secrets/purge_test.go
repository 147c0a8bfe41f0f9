package secrets

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A deletion window really ends: after it the purge removes the secret and
// its versions, and the name is free for a new secret with a new ARN.
func TestPurgeExpired(t *testing.T) {
	s, clk, _ := newTestService(t)
	ctx := context.Background()
	str := func(v string) *string { return &v }
	old, err := s.CreateSecret(ctx, caller, CreateInput{Name: "gone", SecretString: str("v"), ClientRequestToken: token(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSecret(ctx, caller, CreateInput{Name: "kept", SecretString: str("v"), ClientRequestToken: token(2)}); err != nil {
		t.Fatal(err)
	}
	window := int64(7)
	if _, err := s.DeleteSecret(ctx, caller, DeleteInput{SecretID: "gone", RecoveryWindowInDays: &window}); err != nil {
		t.Fatal(err)
	}
	clk.add(6 * 24 * time.Hour)
	if n, err := s.PurgeExpired(ctx); err != nil || n != 0 {
		t.Fatalf("purge inside the window removed %d, %v", n, err)
	}
	clk.add(24*time.Hour + time.Millisecond)
	if n, err := s.PurgeExpired(ctx); err != nil || n != 1 {
		t.Fatalf("purge after the window removed %d, %v", n, err)
	}
	var de *Error
	if _, err := s.DescribeSecret(ctx, caller, "gone"); !errors.As(err, &de) || de.Kind != KindResourceNotFound {
		t.Fatalf("DescribeSecret after purge: %v", err)
	}
	if _, err := s.DescribeSecret(ctx, caller, "kept"); err != nil {
		t.Fatalf("an active secret was purged: %v", err)
	}
	again, err := s.CreateSecret(ctx, caller, CreateInput{Name: "gone", SecretString: str("new"), ClientRequestToken: token(1)})
	if err != nil || again.ARN == old.ARN {
		t.Fatalf("re-create after purge: %+v, %v (want a new ARN)", again, err)
	}
}
