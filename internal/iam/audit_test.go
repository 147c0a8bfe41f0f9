package iam

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/storage"
)

// brokenAuditStore is a store whose audit appends fail while broken is set.
type brokenAuditStore struct {
	storage.Store
	broken atomic.Bool
}

type brokenAuditTx struct {
	storage.Tx
	s *brokenAuditStore
}

var errAuditDown = errors.New("test: the audit trail is down")

func (t brokenAuditTx) AppendAudit(rs ...*storage.AuditRecord) error {
	if t.s.broken.Load() {
		return errAuditDown
	}
	return t.Tx.AppendAudit(rs...)
}

func (s *brokenAuditStore) View(ctx context.Context, fn func(storage.Tx) error) error {
	return s.Store.View(ctx, func(tx storage.Tx) error { return fn(brokenAuditTx{tx, s}) })
}

func (s *brokenAuditStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	return s.Store.Update(ctx, func(tx storage.Tx) error { return fn(brokenAuditTx{tx, s}) })
}

// auditEnv is newEnv's service over a store whose appends can be broken,
// with a trail.
func auditEnv(t *testing.T) (*env, *brokenAuditStore, *audit.Trail) {
	t.Helper()
	e := newEnv(t)
	bs := &brokenAuditStore{Store: e.store}
	trail, err := audit.New(bs, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	s := New(bs, e.root, "aws", e.clk.now)
	s.SetTrail(trail)
	e.s = s
	return e, bs, trail
}

func pendingCtx(t *testing.T, name string) (context.Context, *audit.Pending) {
	p := audit.NewPending(&audit.Record{EventSource: audit.SourceIAM, EventName: name})
	return audit.WithPending(t.Context(), p), p
}

func auditDocs(t *testing.T, store storage.Store) []map[string]any {
	t.Helper()
	var out []map[string]any
	err := store.View(t.Context(), func(tx storage.Tx) error {
		recs, err := tx.AuditRecords(0, 1000)
		if err != nil {
			return err
		}
		for _, r := range recs {
			var m map[string]any
			if err := json.Unmarshal(r.Doc, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAuditFailingAppendRollsBackCreateUser(t *testing.T) {
	e, bs, _ := auditEnv(t)
	bs.broken.Store(true)
	ctx, p := pendingCtx(t, "CreateUser")
	if _, err := e.s.CreateUser(ctx, e.rootOf(acctA), "alice", "", nil); !errors.Is(err, errAuditDown) {
		t.Fatalf("CreateUser with a failing trail: err = %v, want the append's error", err)
	}
	if p.Committed() {
		t.Fatal("the pending record is marked committed after a failed append")
	}
	bs.broken.Store(false)
	if _, err := e.s.GetUser(t.Context(), e.rootOf(acctA), "alice"); !isNoSuchEntity(err) {
		t.Fatalf("GetUser after the rolled-back CreateUser: err = %v, want NoSuchEntity", err)
	}
	if docs := auditDocs(t, bs); len(docs) != 0 {
		t.Fatalf("%d records after a rolled-back write, want 0", len(docs))
	}

	// With the trail working, the user and its record commit together.
	ctx, p = pendingCtx(t, "CreateUser")
	if _, err := e.s.CreateUser(ctx, e.rootOf(acctA), "alice", "", nil); err != nil {
		t.Fatal(err)
	}
	if !p.Committed() {
		t.Fatal("CreateUser did not commit its record")
	}
	docs := auditDocs(t, bs)
	if len(docs) != 1 || docs[0]["eventName"] != "CreateUser" || docs[0]["recipientAccountId"] != acctA {
		t.Fatalf("records = %v, want one CreateUser of %s", docs, acctA)
	}
	user, _ := docs[0]["responseElements"].(map[string]any)["user"].(map[string]any)
	if user["userName"] != "alice" || !strings.HasSuffix(user["arn"].(string), ":user/alice") {
		t.Fatalf("responseElements.user = %v", user)
	}
}

func TestAuditCreateAccessKeyRecordHasNoSecret(t *testing.T) {
	e, bs, _ := auditEnv(t)
	if _, err := e.s.CreateUser(t.Context(), e.rootOf(acctA), "bob", "", nil); err != nil {
		t.Fatal(err)
	}
	ctx, _ := pendingCtx(t, "CreateAccessKey")
	k, err := e.s.CreateAccessKey(ctx, e.rootOf(acctA), "bob")
	if err != nil {
		t.Fatal(err)
	}
	docs := auditDocs(t, bs)
	if len(docs) != 1 {
		t.Fatalf("%d records, want 1 (CreateAccessKey)", len(docs))
	}
	raw, _ := json.Marshal(docs[0])
	if strings.Contains(string(raw), k.Secret) {
		t.Fatal("the CreateAccessKey record holds the secret access key")
	}
	ak, _ := docs[0]["responseElements"].(map[string]any)["accessKey"].(map[string]any)
	if ak["accessKeyId"] != k.ID || ak["userName"] != "bob" {
		t.Fatalf("responseElements.accessKey = %v, want key %s of bob", ak, k.ID)
	}

	// A failing append rolls a delete back too.
	bs.broken.Store(true)
	ctx, _ = pendingCtx(t, "DeleteAccessKey")
	if err := e.s.DeleteAccessKey(ctx, e.rootOf(acctA), "bob", k.ID); !errors.Is(err, errAuditDown) {
		t.Fatalf("DeleteAccessKey with a failing trail: err = %v", err)
	}
	bs.broken.Store(false)
	keys, err := e.s.ListAccessKeys(t.Context(), e.rootOf(acctA), "bob")
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys after a rolled-back delete = %v, %v; want the key", keys, err)
	}
}
