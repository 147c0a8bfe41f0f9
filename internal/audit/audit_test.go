package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

// env is a real SQLite store in a temporary directory.
type env struct {
	t     *testing.T
	path  string
	store storage.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "coffer.db")}
	e.open()
	t.Cleanup(func() {
		if e.store != nil {
			e.store.Close()
		}
	})
	return e
}

func (e *env) open() {
	e.t.Helper()
	db, err := sqlite.Open(context.Background(), e.path)
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	e.store = db
}

// tamper closes the store, runs SQL statements on the database file
// directly, and reopens the store.
func (e *env) tamper(stmts ...func(db *sql.DB) error) {
	e.t.Helper()
	if err := e.store.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.store = nil
	db, err := sql.Open("sqlite", e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range stmts {
		if err := s(db); err != nil {
			e.t.Fatalf("tamper: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func exec(q string, args ...any) func(db *sql.DB) error {
	return func(db *sql.DB) error { _, err := db.Exec(q, args...); return err }
}

func newTrail(t *testing.T, store storage.Store, cfg audit.Config) *audit.Trail {
	t.Helper()
	tr, err := audit.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func rec(name string, params map[string]any) *audit.Record {
	return &audit.Record{
		EventName:          name,
		AWSRegion:          "us-east-1",
		RecipientAccountID: "111122223333",
		UserIdentity:       &audit.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/alice", AccountID: "111122223333"},
		RequestParameters:  params,
		RequestID:          "req-" + name,
		ReadOnly:           strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "Describe"),
	}
}

func records(t *testing.T, store storage.Store) []*storage.AuditRecord {
	t.Helper()
	var out []*storage.AuditRecord
	if err := store.View(context.Background(), func(tx storage.Tx) error {
		var err error
		out, err = tx.AuditRecords(0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func key(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// chain writes n records through Record and returns the signer's key.
func chain(t *testing.T, e *env, n int) ed25519.PrivateKey {
	t.Helper()
	ctx := context.Background()
	tr := newTrail(t, e.store, audit.Config{})
	for i := range n {
		if err := tr.Record(ctx, rec("GetSecretValue", map[string]any{"secretId": "db-" + string(rune('a'+i))})); err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
	}
	return key(t)
}

func TestChainAppendVerify(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tr := newTrail(t, e.store, audit.Config{Now: func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 987654321, time.UTC) }})
	priv := key(t)
	pub := priv.Public().(ed25519.PublicKey)

	rep, err := audit.Verify(ctx, e.store, pub)
	if err != nil || rep.Records != 0 {
		t.Fatalf("empty trail: %+v, %v", rep, err)
	}
	for range 3 {
		if err := tr.Record(ctx, rec("DescribeSecret", map[string]any{"secretId": "prod/db"})); err != nil {
			t.Fatal(err)
		}
	}
	// A write appends inside its own transaction.
	if err := e.store.Update(ctx, func(tx storage.Tx) error {
		return tr.Append(tx, rec("CreateSecret", map[string]any{"name": "prod/api"}))
	}); err != nil {
		t.Fatal(err)
	}
	// A transaction that rolls back takes its record with it.
	boom := errors.New("boom")
	if err := e.store.Update(ctx, func(tx storage.Tx) error {
		if err := tr.Append(tx, rec("DeleteSecret", nil)); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	signer := audit.NewSigner(e.store, priv, nil)
	d, err := signer.Digest(ctx)
	if err != nil || d == nil || d.Seq != 4 {
		t.Fatalf("digest: %+v, %v", d, err)
	}
	if d, err := signer.Digest(ctx); err != nil || d != nil {
		t.Fatalf("digest of an unmoved head: %+v, %v", d, err)
	}
	if err := tr.Record(ctx, rec("ListSecrets", nil)); err != nil {
		t.Fatal(err)
	}
	if d, err := signer.Digest(ctx); err != nil || d == nil || d.Seq != 5 {
		t.Fatalf("second digest: %+v, %v", d, err)
	}

	rs := records(t, e.store)
	if len(rs) != 5 {
		t.Fatalf("%d records, want 5", len(rs))
	}
	var prev []byte
	for i, r := range rs {
		if r.Seq != int64(i+1) || !bytes.Equal(r.PrevHash, prev) || !bytes.Equal(r.Hash, audit.ChainHash(prev, r.Doc)) {
			t.Fatalf("record %d: bad chain", i+1)
		}
		prev = r.Hash
	}
	var doc map[string]any
	if err := json.Unmarshal(rs[3].Doc, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"eventVersion": "1.09", "eventTime": "2025-01-02T03:04:05Z", "eventSource": "secretsmanager.amazonaws.com",
		"eventName": "CreateSecret", "eventType": "AwsApiCall", "managementEvent": true, "eventCategory": "Management",
		"recipientAccountId": "111122223333", "readOnly": false,
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
	if id, _ := doc["eventID"].(string); len(id) != 36 {
		t.Errorf("eventID %q is not a UUID", id)
	}
	if rs[3].EventName != "CreateSecret" || rs[3].Account != "111122223333" || !rs[3].Time.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("record columns: %+v", rs[3])
	}

	rep, err = audit.Verify(ctx, e.store, pub)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 5 || rep.Digests != 2 || rep.HeadSeq != 5 || rep.LastDigestSeq != 5 {
		t.Fatalf("report %+v", rep)
	}
	// Another key does not verify the digests.
	other := key(t).Public().(ed25519.PublicKey)
	if _, err := audit.Verify(ctx, e.store, other); err == nil || !strings.Contains(err.Error(), "digest at record 4 is forged") {
		t.Fatalf("verify with another key: %v", err)
	}
}

func TestVerifyNamesTampering(t *testing.T) {
	ctx := context.Background()
	hashOf := func(e *env, seq int) []byte { return records(t, e.store)[seq-1].Hash }
	cases := []struct {
		name    string
		digest  bool // sign the head before tampering
		tamper  func(e *env)
		wantErr string
	}{
		{"edit", false, func(e *env) {
			e.tamper(exec(`UPDATE audit_records SET doc = CAST(replace(CAST(doc AS TEXT), 'db-d', 'db-x') AS BLOB) WHERE seq = 4`))
		}, "record 4 was edited"},
		{"edit and rehash, pinned by a digest", true, func(e *env) {
			rs := records(t, e.store)
			doc := bytes.Replace(rs[7].Doc, []byte("db-h"), []byte("db-x"), 1)
			h := audit.ChainHash(rs[7].PrevHash, doc)
			e.tamper(exec(`UPDATE audit_records SET doc = ?, hash = ? WHERE seq = 8`, doc, h),
				exec(`UPDATE audit_records SET prev_hash = ?, hash = ? WHERE seq = 9`, h, audit.ChainHash(h, rs[8].Doc)))
			// Rechain everything after it as well.
			rs = records(t, e.store)
			prev := rs[8].Hash
			var stmts []func(*sql.DB) error
			for _, r := range rs[9:] {
				h := audit.ChainHash(prev, r.Doc)
				stmts = append(stmts, exec(`UPDATE audit_records SET prev_hash = ?, hash = ? WHERE seq = ?`, prev, h, r.Seq))
				prev = h
			}
			e.tamper(stmts...)
		}, "record 10 was edited"},
		{"delete", false, func(e *env) {
			e.tamper(exec(`DELETE FROM audit_records WHERE seq = 5`))
		}, "record 5 is missing (deleted)"},
		{"delete and renumber", false, func(e *env) {
			e.tamper(exec(`DELETE FROM audit_records WHERE seq = 5`),
				exec(`UPDATE audit_records SET seq = seq + 1000 WHERE seq > 5`),
				exec(`UPDATE audit_records SET seq = seq - 1001 WHERE seq > 1000`))
		}, "record 5 is missing (deleted)"},
		{"delete the tail, pinned by a digest", true, func(e *env) {
			e.tamper(exec(`DELETE FROM audit_records WHERE seq >= 9`))
		}, "record 10 is missing (deleted)"},
		{"insert", false, func(e *env) {
			prev := hashOf(e, 5)
			doc := []byte(`{"eventName":"Forged"}`)
			e.tamper(exec(`UPDATE audit_records SET seq = seq + 1000 WHERE seq >= 6`),
				exec(`UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1000`),
				exec(`INSERT INTO audit_records (seq, time_ms, account, event_name, doc, prev_hash, hash) VALUES (6, 0, '', 'Forged', ?, ?, ?)`,
					doc, prev, audit.ChainHash(prev, doc)))
		}, "record 6 was inserted"},
		{"insert with a bad link", false, func(e *env) {
			prev := []byte("0123456789abcdef0123456789abcdef")
			doc := []byte(`{"eventName":"Forged"}`)
			e.tamper(exec(`UPDATE audit_records SET seq = seq + 1000 WHERE seq >= 3`),
				exec(`UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1000`),
				exec(`INSERT INTO audit_records (seq, time_ms, account, event_name, doc, prev_hash, hash) VALUES (3, 0, '', 'Forged', ?, ?, ?)`,
					doc, prev, audit.ChainHash(prev, doc)))
		}, "record 3 was inserted"},
		{"reorder docs and hashes", false, func(e *env) {
			rs := records(t, e.store)
			a, b := rs[6], rs[7]
			e.tamper(exec(`UPDATE audit_records SET doc = ?, hash = ? WHERE seq = 7`, b.Doc, b.Hash),
				exec(`UPDATE audit_records SET doc = ?, hash = ? WHERE seq = 8`, a.Doc, a.Hash))
		}, "records reordered at 7"},
		{"reorder whole rows", false, func(e *env) {
			e.tamper(exec(`UPDATE audit_records SET seq = 1000 WHERE seq = 3`),
				exec(`UPDATE audit_records SET seq = 3 WHERE seq = 4`),
				exec(`UPDATE audit_records SET seq = 4 WHERE seq = 1000`))
		}, "records reordered at 3"},
		{"forged digest", true, func(e *env) {
			e.tamper(exec(`UPDATE audit_digests SET signature = ? WHERE seq = 10`, bytes.Repeat([]byte{7}, ed25519.SignatureSize)))
		}, "digest at record 10 is forged"},
		{"digest moved", true, func(e *env) {
			e.tamper(exec(`UPDATE audit_digests SET seq = 9 WHERE seq = 10`))
		}, "digest at record 9 is forged"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			priv := chain(t, e, 10)
			pub := priv.Public().(ed25519.PublicKey)
			if c.digest {
				if _, err := audit.NewSigner(e.store, priv, nil).Digest(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := audit.Verify(ctx, e.store, pub); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			c.tamper(e)
			_, err := audit.Verify(ctx, e.store, pub)
			if err == nil || !errors.Is(err, audit.ErrTampered) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("verify: %v, want %q", err, c.wantErr)
			}
		})
	}
}

// TestVerifyNamesTamperingInBlocks: records the store keeps as a block
// (SQLite keeps a large batch so, as the journal's mover appends them)
// are checked as rows are: an edit inside a block, a deleted block and a
// damaged one are found and named.
func TestVerifyNamesTamperingInBlocks(t *testing.T) {
	ctx := context.Background()
	// blockData reads the one block's data, and tamperBlock writes it back.
	blockData := func(e *env) []byte {
		var data []byte
		e.tamper(func(db *sql.DB) error {
			return db.QueryRow(`SELECT data FROM audit_blocks`).Scan(&data)
		})
		return data
	}
	cases := []struct {
		name    string
		digest  bool
		tamper  func(e *env)
		wantErr string
	}{
		{"edit", false, func(e *env) {
			// Record 10's event id, 1006, is stored once: the block keeps
			// what differs from the record before it.
			data := blockData(e)
			if n := bytes.Count(data, []byte("1006")); n != 1 {
				e.t.Fatalf("the block holds %q %d times, want once", "1006", n)
			}
			e.tamper(exec(`UPDATE audit_blocks SET data = ?`, bytes.Replace(data, []byte("1006"), []byte("1099"), 1)))
		}, "record 10 was edited"},
		{"delete the block", false, func(e *env) {
			e.tamper(exec(`DELETE FROM audit_blocks`))
		}, "record 4 is missing (deleted)"},
		{"delete the block and the tail, pinned by a digest", true, func(e *env) {
			e.tamper(exec(`DELETE FROM audit_blocks`), exec(`DELETE FROM audit_records WHERE seq > 3`))
		}, "record 25 is missing (deleted)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			priv := blockChain(t, e)
			pub := priv.Public().(ed25519.PublicKey)
			if c.digest {
				if _, err := audit.NewSigner(e.store, priv, nil).Digest(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if rep, err := audit.Verify(ctx, e.store, pub); err != nil || rep.Records != 25 {
				t.Fatalf("before tampering: %+v, %v", rep, err)
			}
			c.tamper(e)
			_, err := audit.Verify(ctx, e.store, pub)
			if err == nil || !errors.Is(err, audit.ErrTampered) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("verify: %v, want %q", err, c.wantErr)
			}
		})
	}
	t.Run("damaged", func(t *testing.T) {
		e := newEnv(t)
		pub := blockChain(t, e).Public().(ed25519.PublicKey)
		data := blockData(e)
		e.tamper(exec(`UPDATE audit_blocks SET data = ?`, data[:len(data)/2]))
		_, err := audit.Verify(ctx, e.store, pub)
		if err == nil || !strings.Contains(err.Error(), "records 4 to 23") || !strings.Contains(err.Error(), "does not decode") {
			t.Fatalf("verify: %v, want the records of the damaged block named", err)
		}
	})
}

// blockChain makes a trail of 25 records: 3 recorded one by one, 20
// appended at once (a block, in SQLite), 2 more one by one.
func blockChain(t *testing.T, e *env) ed25519.PrivateKey {
	t.Helper()
	priv := chain(t, e, 3)
	if err := e.store.Update(context.Background(), func(tx storage.Tx) error {
		seq, head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		var rs []*storage.AuditRecord
		for i := range 20 {
			doc := fmt.Appendf(nil, `{"eventName":"GetSecretValue","requestParameters":{"secretId":"db-%02d"},"eventID":"%d"}`, i, 1000+i)
			h := audit.ChainHash(head, doc)
			rs = append(rs, &storage.AuditRecord{Seq: seq + 1, Time: time.Now(), Account: "111122223333", EventName: "GetSecretValue", Doc: doc, PrevHash: head, Hash: h})
			seq, head = seq+1, h
		}
		return tx.AppendAudit(rs...)
	}); err != nil {
		t.Fatal(err)
	}
	tr := newTrail(t, e.store, audit.Config{})
	for range 2 {
		if err := tr.Record(context.Background(), rec("DescribeSecret", map[string]any{"secretId": "db-z"})); err != nil {
			t.Fatal(err)
		}
	}
	return priv
}

func TestSecretSafetyNet(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tr := newTrail(t, e.store, audit.Config{})
	const value = "hunter2-very-secret"
	bad := []*audit.Record{
		{EventName: "PutSecretValue", RequestParameters: map[string]any{"secretId": "x", "SecretString": value}},
		{EventName: "PutSecretValue", RequestParameters: map[string]any{"secretId": "x", "secretBinary": value}},
		{EventName: "GetRandomPassword", ResponseElements: map[string]any{"RANDOMPASSWORD": value}},
		{EventName: "RotateSecret", RequestParameters: map[string]any{"nested": []any{map[string]any{"rotationToken": value}}}},
		{EventName: "CreateAccessKey", ResponseElements: map[string]any{"accessKey": map[string]any{"SecretAccessKey": value}}},
		{EventName: "AssumeRole", ResponseElements: map[string]any{"credentials": struct {
			SessionToken string
		}{value}}},
		{EventName: "ChangePassword", RequestParameters: map[string]any{"a": map[string]string{"Password": value}}},
		{EventName: "Extra", Extra: json.RawMessage(`{"serviceEventDetails":{"secretString":"` + value + `"}}`)},
	}
	for _, r := range bad {
		err := tr.Record(ctx, r)
		if !errors.Is(err, audit.ErrSecretInRecord) {
			t.Errorf("%s: %v, want ErrSecretInRecord", r.EventName, err)
		}
		if err != nil && strings.Contains(err.Error(), value) {
			t.Errorf("%s: the error carries the value", r.EventName)
		}
		err = e.store.Update(ctx, func(tx storage.Tx) error { return tr.Append(tx, r) })
		if !errors.Is(err, audit.ErrSecretInRecord) {
			t.Errorf("%s: Append: %v, want ErrSecretInRecord", r.EventName, err)
		}
	}
	if rs := records(t, e.store); len(rs) != 0 {
		t.Fatalf("%d records written", len(rs))
	}
	// Harmless look-alikes pass.
	ok := &audit.Record{EventName: "CreateSecret", RequestParameters: map[string]any{"name": "password-db", "secretId": "secretString"},
		Extra: json.RawMessage(`{"sharedEventID":"abc"}`)}
	if err := tr.Record(ctx, ok); err != nil {
		t.Fatal(err)
	}
	rs := records(t, e.store)
	if len(rs) != 1 || !bytes.HasSuffix(rs[0].Doc, []byte(`,"sharedEventID":"abc"}`)) {
		t.Fatalf("records: %d, doc %s", len(rs), rs[0].Doc)
	}
}

func TestPendingCommitFinish(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tr := newTrail(t, e.store, audit.Config{})
	count := func() int { return len(records(t, e.store)) }

	// A write: Commit in the domain's transaction, Finish writes nothing.
	p := audit.NewPending(rec("CreateSecret", map[string]any{"name": "a"}))
	ctx1 := audit.WithPending(ctx, p)
	if audit.PendingFrom(ctx1) != p || audit.PendingFrom(ctx) != nil {
		t.Fatal("PendingFrom")
	}
	if err := e.store.Update(ctx, func(tx storage.Tx) error {
		if err := audit.PendingFrom(ctx1).Commit(tx, tr, map[string]any{"arn": "arn:a"}, audit.Resource{ARN: "arn:a", AccountID: "111122223333"}); err != nil {
			return err
		}
		if err := p.Commit(tx, tr, nil); err == nil {
			t.Error("second Commit in the same transaction succeeded")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(ctx, tr, "", "", nil); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("after commit+finish: %d records, want 1", n)
	}
	if err := p.Finish(ctx, tr, "", "", nil); err == nil {
		t.Error("second Finish succeeded")
	}

	// A read: no Commit, Finish records it.
	p = audit.NewPending(rec("GetSecretValue", map[string]any{"secretId": "a"}))
	if err := p.Finish(ctx, tr, "", "", nil); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("after a read: %d records, want 2", n)
	}

	// A write whose transaction committed its record, then failed later:
	// still one record.
	p = audit.NewPending(rec("UpdateSecret", map[string]any{"secretId": "a"}))
	if err := e.store.Update(ctx, func(tx storage.Tx) error { return p.Commit(tx, tr, nil) }); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(ctx, tr, "InternalServiceError", "later failure", nil); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Fatalf("after a committed write that failed later: %d records, want 3", n)
	}

	// A write whose transaction rolled back (after a retry with a new
	// transaction): Finish records the failure, once.
	p = audit.NewPending(rec("DeleteSecret", map[string]any{"secretId": "a"}))
	for range 2 {
		err := e.store.Update(ctx, func(tx storage.Tx) error {
			if err := p.Commit(tx, tr, nil); err != nil {
				t.Errorf("commit in a new transaction: %v", err)
			}
			return errors.New("conflict")
		})
		if err == nil {
			t.Fatal("update succeeded")
		}
	}
	if err := p.Finish(ctx, tr, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", nil); err != nil {
		t.Fatal(err)
	}
	rs := records(t, e.store)
	if len(rs) != 4 {
		t.Fatalf("after a rolled-back write: %d records, want 4", len(rs))
	}
	var doc audit.Record
	if err := json.Unmarshal(rs[3].Doc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.EventName != "DeleteSecret" || doc.ErrorCode != "ResourceNotFoundException" || doc.ErrorMessage == "" {
		t.Fatalf("failure record: %s", rs[3].Doc)
	}
	// A denied call: Finish with the error code.
	p = audit.NewPending(rec("GetSecretValue", map[string]any{"secretId": "b"}))
	if err := p.Finish(ctx, tr, "AccessDeniedException", "denied", nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(nil, tr, nil); err == nil {
		t.Error("Commit after Finish succeeded")
	}
	if n := count(); n != 5 {
		t.Fatalf("%d records, want 5", n)
	}
	if _, err := audit.Verify(ctx, e.store, key(t).Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
}

func TestRecordFailsClosed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tr := newTrail(t, e.store, audit.Config{})
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Record(ctx, rec("GetSecretValue", nil)); err == nil {
		t.Fatal("Record on a closed store succeeded")
	}
	p := audit.NewPending(rec("GetSecretValue", nil))
	if err := p.Finish(ctx, tr, "", "", nil); err == nil {
		t.Fatal("Finish on a closed store succeeded")
	}
	e.open()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := tr.Record(cctx, rec("GetSecretValue", nil)); err == nil {
		t.Fatal("Record with a done context succeeded")
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// failingSink fails every write and counts them.
type failingSink struct{ n atomic.Int64 }

func (s *failingSink) Write([]byte) error { s.n.Add(1); return errors.New("disk full") }
func (s *failingSink) Close() error       { return nil }

// slowSink blocks until released.
type slowSink struct{ release chan struct{} }

func (s *slowSink) Write([]byte) error { <-s.release; return nil }
func (s *slowSink) Close() error       { return nil }

func TestSinks(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	file, err := audit.NewFileSink(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := &failingSink{}
	var stdout bytes.Buffer
	tr, err := audit.New(e.store, audit.Config{Sinks: []audit.Sink{bad, file, audit.NewWriterSink(&stdout)}, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Record(ctx, rec("GetSecretValue", map[string]any{"secretId": "a"})); err != nil {
		t.Fatalf("a failing sink failed the request: %v", err)
	}
	p := audit.NewPending(rec("CreateSecret", map[string]any{"name": "b"}))
	if err := e.store.Update(ctx, func(tx storage.Tx) error { return p.Commit(tx, tr, nil) }); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(ctx, tr, "", "", nil); err != nil {
		t.Fatal(err)
	}
	// An Append without a Pending reaches the sinks once seen committed;
	// a rolled-back one never does.
	if err := e.store.Update(ctx, func(tx storage.Tx) error { return tr.Append(tx, rec("RotationSucceeded", nil)) }); err != nil {
		t.Fatal(err)
	}
	_ = e.store.Update(ctx, func(tx storage.Tx) error {
		if err := tr.Append(tx, rec("RolledBack", nil)); err != nil {
			return err
		}
		return errors.New("rollback")
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if bytes.Count(b, []byte("\n")) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rs := records(t, e.store)
	want := string(rs[0].Doc) + "\n" + string(rs[1].Doc) + "\n" + string(rs[2].Doc) + "\n"
	if string(b) != want {
		t.Fatalf("file sink:\n%s\nwant:\n%s", b, want)
	}
	if stdout.String() != want {
		t.Fatalf("stdout sink differs from the store:\n%s", stdout.String())
	}
	if bad.n.Load() != 3 {
		t.Fatalf("failing sink saw %d writes, want 3", bad.n.Load())
	}
}

func TestSlowSinkDoesNotBlock(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	slow := &slowSink{release: make(chan struct{})}
	tr, err := audit.New(e.store, audit.Config{Sinks: []audit.Sink{slow}, QueueSize: 2, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range 10 {
			if err := tr.Record(ctx, rec("GetSecretValue", nil)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a blocked sink blocked Record")
	}
	if d := tr.Dropped(); d < 7 {
		t.Fatalf("dropped %d records, want at least 7 (queue of 2, one in the sink)", d)
	}
	close(slow.release)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(records(t, e.store)); n != 10 {
		t.Fatalf("store has %d records, want 10", n)
	}
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := newTrail(t, e.store, audit.Config{Now: func() time.Time { return now }})
	add := func(r *audit.Record) {
		t.Helper()
		if err := tr.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
	}
	arn := "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf"
	add(rec("CreateSecret", map[string]any{"name": "prod/db"}))       // 00:00
	add(rec("GetSecretValue", map[string]any{"secretId": "prod/db"})) // 01:00
	r := rec("GetSecretValue", map[string]any{"secretId": arn})       // 02:00
	r.UserIdentity = &audit.UserIdentity{ARN: "arn:aws:iam::111122223333:user/bob"}
	r.ErrorCode, r.ErrorMessage = "AccessDeniedException", "denied"
	add(r)
	r = rec("PutSecretValue", map[string]any{"secretId": "other"}) // 03:00
	r.Resources = []audit.Resource{{ARN: arn}}
	add(r)
	add(rec("GetSecretValue", map[string]any{"secretId": "other"})) // 04:00

	names := func(f audit.Filter) string {
		t.Helper()
		rs, err := audit.Lookup(ctx, e.store, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.EventName+"@"+r.Time.Format("15"))
		}
		return strings.Join(out, ",")
	}
	yes, no := true, false
	for _, c := range []struct {
		f    audit.Filter
		want string
	}{
		{audit.Filter{}, "CreateSecret@00,GetSecretValue@01,GetSecretValue@02,PutSecretValue@03,GetSecretValue@04"},
		{audit.Filter{EventName: "GetSecretValue"}, "GetSecretValue@01,GetSecretValue@02,GetSecretValue@04"},
		{audit.Filter{From: now.Add(-3 * time.Hour), To: now.Add(-1 * time.Hour)}, "GetSecretValue@02,PutSecretValue@03"},
		{audit.Filter{Secret: "prod/db"}, "CreateSecret@00,GetSecretValue@01,GetSecretValue@02,PutSecretValue@03"},
		{audit.Filter{Secret: arn}, "CreateSecret@00,GetSecretValue@01,GetSecretValue@02,PutSecretValue@03"},
		{audit.Filter{Secret: "other"}, "PutSecretValue@03,GetSecretValue@04"},
		{audit.Filter{Principal: "arn:aws:iam::111122223333:user/bob"}, "GetSecretValue@02"},
		{audit.Filter{ErrorCode: "AccessDeniedException"}, "GetSecretValue@02"},
		{audit.Filter{ReadOnly: &no}, "CreateSecret@00,PutSecretValue@03"},
		{audit.Filter{ReadOnly: &yes, Limit: 2}, "GetSecretValue@01,GetSecretValue@02"},
	} {
		if got := names(c.f); got != c.want {
			t.Errorf("lookup %+v:\n got %s\nwant %s", c.f, got, c.want)
		}
	}
}
