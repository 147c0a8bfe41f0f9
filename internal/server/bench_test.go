package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/storage"
)

// benchApp builds the whole server in-process on a temporary data directory.
func benchApp(b *testing.B) *app {
	b.Helper()
	return benchAppAudit(b, true)
}

// benchAppAudit is benchApp with the audit trail on or off.
func benchAppAudit(b *testing.B, auditOn bool) *app {
	b.Helper()
	cfg := Config{DisableAudit: !auditOn, Listen: DefaultListen, DataDir: b.TempDir(), AccountID: "123456789012",
		RootAccessKeyID: "AKIAIOSFODNN7EXAMPLE", RootSecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		Partition: "aws", LogLevel: "info"}
	a, err := build(context.Background(), cfg, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.store.Close() })
	return a
}

var signer = v4.NewSigner()

// call signs one awsJson request as an SDK would and serves it.
func call(b *testing.B, h http.Handler, op, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7700/", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager."+op)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "secretsmanager", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", op, w.Code, w.Body)
	}
	return w
}

// BenchmarkGetSecretValue is the server's whole work for one read, SigV4,
// store, decryption and encoding included (the client's signing is excluded).
func BenchmarkGetSecretValue(b *testing.B) {
	a := benchApp(b)
	createReadSecrets(b, a)
	benchReads(b, a, aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
}

// BenchmarkGetSecretValueNoAudit is BenchmarkGetSecretValue with the audit
// trail off: the baseline its cost is measured against.
func BenchmarkGetSecretValueNoAudit(b *testing.B) {
	a := benchAppAudit(b, false)
	createReadSecrets(b, a)
	benchReads(b, a, aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
}

// createReadSecrets creates the 64 secrets app/db-N that benchReads reads.
func createReadSecrets(b *testing.B, a *app) {
	const value = `{"engine":"mysql","host":"db.internal","port":3306,"username":"admin","password":"hG#2kL9!sP0qR"}`
	for i := range 64 {
		call(b, a.handler, "CreateSecret", fmt.Sprintf(`{"Name":"app/db-%d","SecretString":%q,"ClientRequestToken":"00000000-0000-0000-0000-%012d"}`, i, value, i))
	}
}

// benchReads measures GetSecretValue of the secrets app/db-N, signed with
// creds.
func benchReads(b *testing.B, a *app, creds aws.Credentials) {
	reqs := make([]*http.Request, 64)
	for i := range reqs {
		body := fmt.Sprintf(`{"SecretId":"app/db-%d"}`, i)
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7700/", nil)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
		sum := sha256.Sum256([]byte(body))
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "secretsmanager", "us-east-1", time.Now()); err != nil {
			b.Fatal(err)
		}
		req.Body = io.NopCloser(bytes.NewReader([]byte(body)))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte(body))), nil }
		reqs[i] = req
	}
	b.ReportAllocs()
	b.SetParallelism(8) // 16 clients on 2 CPUs, as the load program's middle level
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r := reqs[i%len(reqs)].Clone(context.Background())
			r.Body, _ = reqs[i%len(reqs)].GetBody()
			w := httptest.NewRecorder()
			a.handler.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
			i++
		}
	})
}

// BenchmarkPutSecretValue is the server's whole work for one durable write
// of a new version, spread over many secrets as real writers are.
func BenchmarkPutSecretValue(b *testing.B) {
	a := benchApp(b)
	const secrets = 2000
	for i := range secrets {
		call(b, a.handler, "CreateSecret", fmt.Sprintf(`{"Name":"w-%d","SecretString":"v","ClientRequestToken":"00000000-0000-0000-0000-%012d"}`, i, i))
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			call(b, a.handler, "PutSecretValue", fmt.Sprintf(`{"SecretId":"w-%d","SecretString":"value %d","ClientRequestToken":"10000000-0000-0000-0000-%012d"}`, i%secrets, i, i))
		}
	})
}

// benchPolicies are a realistic identity for BenchmarkGetSecretValueAsUser:
// 10 managed policies of 10 statements each, with wildcards and conditions,
// and the one statement that allows the read last.
func benchPolicies() []string {
	var docs []string
	for p := range 10 {
		var st []string
		for i := range 10 {
			switch {
			case p == 9 && i == 9:
				st = append(st, `{"Sid":"ReadApp","Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:*:123456789012:secret:app/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"core"}}}`)
			case i%3 == 0:
				st = append(st, fmt.Sprintf(`{"Effect":"Deny","Action":"secretsmanager:Delete*","Resource":"arn:aws:secretsmanager:*:*:secret:locked-%d-*"}`, p*10+i))
			case i%3 == 1:
				st = append(st, fmt.Sprintf(`{"Effect":"Allow","Action":["secretsmanager:Get*","secretsmanager:List*"],"Resource":"arn:aws:secretsmanager:us-west-2:*:secret:team-%d/*","Condition":{"IpAddress":{"aws:SourceIp":["10.%d.0.0/16"]}}}`, p*10+i, i))
			default:
				st = append(st, fmt.Sprintf(`{"Effect":"Allow","Action":"secretsmanager:PutSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:svc-%d-??????","Condition":{"StringLike":{"aws:username":"svc-*"}}}`, p*10+i))
			}
		}
		docs = append(docs, `{"Version":"2012-10-17","Statement":[`+strings.Join(st, ",")+`]}`)
	}
	return docs
}

// BenchmarkGetSecretValueAsUser is BenchmarkGetSecretValue for an IAM user
// whose 10 policies of 10 statements are evaluated on every read.
func BenchmarkGetSecretValueAsUser(b *testing.B) {
	a := benchApp(b)
	ctx := context.Background()
	rootID, err := a.iam.Identity(ctx, iam.Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:root", Kind: iam.KindRoot, UserID: "123456789012"})
	if err != nil {
		b.Fatal(err)
	}
	root := iam.Caller{Identity: rootID, Request: iam.RequestContext{Region: "us-east-1", Now: time.Now()}}
	if _, err := a.iam.CreateUser(ctx, root, "bench", "/", []iam.Tag{{Key: "team", Value: "core"}}); err != nil {
		b.Fatal(err)
	}
	for i, doc := range benchPolicies() {
		mp, err := a.iam.CreatePolicy(ctx, root, iam.PolicyInput{Name: fmt.Sprintf("p%d", i), Path: "/", Document: doc})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.iam.AttachPolicy(ctx, root, storage.EntityUser, "bench", mp.ARN); err != nil {
			b.Fatal(err)
		}
	}
	key, err := a.iam.CreateAccessKey(ctx, root, "bench")
	if err != nil {
		b.Fatal(err)
	}
	createReadSecrets(b, a)
	benchReads(b, a, aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret})
}
