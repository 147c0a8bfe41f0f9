package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/awsapi"
	"github.com/coffer-dev/coffer/internal/secrets"
	"github.com/coffer-dev/coffer/internal/storage"
)

// brokenTrailStore is a store whose audit appends fail while broken is set.
type brokenTrailStore struct {
	storage.Store
	broken atomic.Bool
}

type brokenTrailTx struct {
	storage.Tx
	s *brokenTrailStore
}

var errTrailDown = errors.New("test: the audit trail is down")

func (t brokenTrailTx) AppendAudit(rs ...*storage.AuditRecord) error {
	if t.s.broken.Load() {
		return errTrailDown
	}
	return t.Tx.AppendAudit(rs...)
}

func (s *brokenTrailStore) View(ctx context.Context, fn func(storage.Tx) error) error {
	return s.Store.View(ctx, func(tx storage.Tx) error { return fn(brokenTrailTx{tx, s}) })
}

func (s *brokenTrailStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	return s.Store.Update(ctx, func(tx storage.Tx) error { return fn(brokenTrailTx{tx, s}) })
}

// signedCall signs one awsJson request as an SDK would and serves it.
func signedCall(t *testing.T, h http.Handler, op, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7700/", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager."+op)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "secretsmanager", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// When the audit trail cannot be written, calls fail closed: a write fails
// with InternalServiceError and changes nothing, a read returns no value.
func TestAuditFailClosed(t *testing.T) {
	cfg := Config{Listen: DefaultListen, DataDir: t.TempDir(), AccountID: "123456789012",
		RootAccessKeyID: "AKIAIOSFODNN7EXAMPLE", RootSecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		Partition: "aws", LogLevel: "info"}
	log := slog.New(slog.DiscardHandler)
	a, err := build(context.Background(), cfg, io.Discard, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.store.Close() })
	if a.trail == nil {
		t.Fatal("build made no audit trail with auditing on")
	}
	bs := &brokenTrailStore{Store: a.store}
	trail, err := audit.New(bs, audit.Config{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	svc := secrets.New(secrets.Config{Store: bs, Root: a.root, Partition: "aws", Logger: log, Trail: trail})
	h := awsapi.New(awsapi.Config{Secrets: svc, IAM: a.iam, Logger: log, Trail: trail})

	const first, second = "first-value-0001", "second-value-0002"
	if w := signedCall(t, h, "CreateSecret", `{"Name":"fc","SecretString":"`+first+`","ClientRequestToken":"`+strings.Repeat("a", 32)+`"}`); w.Code != 200 {
		t.Fatalf("CreateSecret: %d %s", w.Code, w.Body)
	}
	count := func() int {
		n := 0
		err := a.store.View(context.Background(), func(tx storage.Tx) error {
			recs, err := tx.AuditRecords(0, 1000)
			n = len(recs)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()

	bs.broken.Store(true)
	w := signedCall(t, h, "PutSecretValue", `{"SecretId":"fc","SecretString":"`+second+`","ClientRequestToken":"`+strings.Repeat("b", 32)+`"}`)
	if w.Code != http.StatusInternalServerError || w.Header().Get("X-Amzn-ErrorType") != "InternalServiceError" {
		t.Errorf("PutSecretValue with the trail down: %d %s, want 500 InternalServiceError", w.Code, w.Header().Get("X-Amzn-ErrorType"))
	}
	w = signedCall(t, h, "GetSecretValue", `{"SecretId":"fc"}`)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "SecretString") || strings.Contains(w.Body.String(), "value-000") {
		t.Errorf("GetSecretValue with the trail down: %d, body holds a value: %v", w.Code, strings.Contains(w.Body.String(), "value-000"))
	}
	if got := count(); got != before {
		t.Errorf("%d records appended while the trail was down", got-before)
	}

	bs.broken.Store(false)
	w = signedCall(t, h, "GetSecretValue", `{"SecretId":"fc"}`)
	var out struct{ SecretString string }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.SecretString != first {
		t.Errorf("after the failed PutSecretValue: GetSecretValue %d, value changed: %v", w.Code, out.SecretString != first)
	}
	w = signedCall(t, h, "ListSecretVersionIds", `{"SecretId":"fc","IncludeDeprecated":true}`)
	var vs struct{ Versions []struct{ VersionId string } }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &vs) != nil || len(vs.Versions) != 1 {
		t.Errorf("after the failed PutSecretValue: %d versions (status %d), want 1", len(vs.Versions), w.Code)
	}
	if got := count(); got != before+2 {
		t.Errorf("%d records for the two calls after the trail came back, want 2", got-before)
	}
}
