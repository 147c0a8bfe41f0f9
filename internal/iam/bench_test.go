package iam

import (
	"testing"
)

// The hot path of every request: a cached credential and a cached identity.
// Both are a map read under a read lock, without allocating.

func BenchmarkLookupAccessKeyHit(b *testing.B) {
	e := newEnv(b)
	k := e.userWithKey(b, acctA, "alice", allowAll)
	ctx := b.Context()
	if _, err := e.s.LookupAccessKey(ctx, k.ID, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.s.LookupAccessKey(ctx, k.ID, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIdentityHit(b *testing.B) {
	e := newEnv(b)
	k := e.userWithKey(b, acctA, "alice", allowAll)
	c := e.callerOf(b, k.ID, "")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.s.Identity(ctx, c.Identity.Principal); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	e := newEnv(t)
	k := e.userWithKey(t, acctA, "alice", allowAll)
	c := e.callerOf(t, k.ID, "")
	ctx := t.Context()
	if n := testing.AllocsPerRun(100, func() { _, _ = e.s.LookupAccessKey(ctx, k.ID, "") }); n != 0 {
		t.Errorf("LookupAccessKey cache hit: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = e.s.Identity(ctx, c.Identity.Principal) }); n != 0 {
		t.Errorf("Identity cache hit: %v allocations", n)
	}
	root := e.rootOf(acctA).Identity.Principal
	_, _ = e.s.Identity(ctx, root)
	if n := testing.AllocsPerRun(100, func() { _, _ = e.s.Identity(ctx, root) }); n != 0 {
		t.Errorf("Identity of the root, cached: %v allocations", n)
	}
}
