package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const (
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// testApp builds the whole server in-process, as benchApp does.
func testApp(t *testing.T) *app { return testAppLog(t, slog.New(slog.DiscardHandler)) }

// testAppLog is testApp logging to log.
func testAppLog(t *testing.T, log *slog.Logger) *app {
	t.Helper()
	cfg := Config{Listen: DefaultListen, DataDir: t.TempDir(), AccountID: "123456789012",
		RootAccessKeyID: testKeyID, RootSecretAccessKey: testSecret, Partition: "aws", LogLevel: "info"}
	a, err := build(context.Background(), cfg, io.Discard, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.store.Close() })
	return a
}

// signed serves one request signed with the root key for service.
func signed(t *testing.T, h http.Handler, service, contentType, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7700/", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w.Code, w.Body.String()
}

// sample returns the value of the sample of text whose name and labels are
// series, 0 when there is none.
func sample(t *testing.T, text, series string) float64 {
	t.Helper()
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return v
		}
	}
	return 0
}

func TestAdminHealthAndReady(t *testing.T) {
	a := testApp(t)
	h := adminHandler(a.store, slog.New(slog.DiscardHandler))
	if code, body := get(t, h, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, h, "/readyz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if code, _ := get(t, h, "/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing: %d, want 404", code)
	}
	if err := a.store.Close(); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz on a closed store: %d, want 503", code)
	}
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz on a closed store: %d, want 200", code)
	}
}

// TestMetricsAfterRequests sends requests through the real handler and
// reads their counters and histograms back from /metrics.
func TestMetricsAfterRequests(t *testing.T) {
	a := testApp(t)
	admin := adminHandler(a.store, slog.New(slog.DiscardHandler))
	_, before := get(t, admin, "/metrics")

	const name, value = "metrics/db-password", "s3cr3t-VALUE-never-in-metrics"
	const sm = "application/x-amz-json-1.1"
	if w := signed(t, a.handler, "secretsmanager", sm, "secretsmanager.CreateSecret", `{"Name":"`+name+`","SecretString":"`+value+`","ClientRequestToken":"00000000-0000-0000-0000-000000000001"}`); w.Code != http.StatusOK {
		t.Fatalf("CreateSecret: %d %s", w.Code, w.Body)
	}
	for range 2 {
		if w := signed(t, a.handler, "secretsmanager", sm, "secretsmanager.GetSecretValue", `{"SecretId":"metrics/missing"}`); w.Code != http.StatusBadRequest {
			t.Fatalf("GetSecretValue of a missing secret: %d %s", w.Code, w.Body)
		}
	}
	if w := signed(t, a.handler, "secretsmanager", sm, "secretsmanager.NoSuchOperation", `{}`); w.Code != http.StatusBadRequest {
		t.Fatalf("unknown operation: %d %s", w.Code, w.Body)
	}
	const form = "application/x-www-form-urlencoded"
	if w := signed(t, a.handler, "sts", form, "", "Action=GetCallerIdentity&Version=2011-06-15"); w.Code != http.StatusOK {
		t.Fatalf("GetCallerIdentity: %d %s", w.Code, w.Body)
	}
	if w := signed(t, a.handler, "iam", form, "", "Action=NoSuchAction&Version=2010-05-08"); w.Code != http.StatusBadRequest {
		t.Fatalf("unknown IAM action: %d %s", w.Code, w.Body)
	}

	code, after := get(t, admin, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for series, want := range map[string]float64{
		`coffer_requests_total{error_code="none",operation="CreateSecret",service="secretsmanager"}`:                                                   1,
		`coffer_requests_total{error_code="ResourceNotFoundException",operation="GetSecretValue",service="secretsmanager"}`:                            2,
		`coffer_request_duration_seconds_count{error_code="ResourceNotFoundException",operation="GetSecretValue",service="secretsmanager"}`:            2,
		`coffer_request_duration_seconds_bucket{error_code="ResourceNotFoundException",operation="GetSecretValue",service="secretsmanager",le="+Inf"}`: 2,
		`coffer_requests_total{error_code="UnknownOperationException",operation="Unknown",service="secretsmanager"}`:                                   1,
		`coffer_requests_total{error_code="none",operation="GetCallerIdentity",service="sts"}`:                                                         1,
		`coffer_requests_total{error_code="InvalidAction",operation="Unknown",service="iam"}`:                                                          1,
	} {
		if got := sample(t, after, series) - sample(t, before, series); got != want {
			t.Errorf("%s grew by %v, want %v", series, got, want)
		}
	}
	// The store decorator times the services' transactions.
	for _, op := range []string{"view", "update"} {
		series := `coffer_store_duration_seconds_count{op="` + op + `"}`
		if sample(t, after, series) <= sample(t, before, series) {
			t.Errorf("%s did not grow", series)
		}
	}
	for _, leak := range []string{value, name, "metrics/missing", "NoSuchOperation", "NoSuchAction"} {
		if strings.Contains(after, leak) {
			t.Errorf("/metrics shows request data %q", leak)
		}
	}
}

func TestStartAdmin(t *testing.T) {
	a := testApp(t)
	if stop, err := startAdmin("", a.store, nil, slog.New(slog.DiscardHandler)); stop != nil || err != nil {
		t.Fatalf("empty address: %v, %v; want off", stop != nil, err)
	}
	var url string
	stop, err := startAdmin("127.0.0.1:0", a.store, func(u string) { url = u }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, []byte("ok\n")) {
		t.Errorf("/healthz: %d %q", resp.StatusCode, body)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("admin listener still serving after stop")
	}
}

func TestConfigAdminListen(t *testing.T) {
	base := Config{Listen: DefaultListen, DataDir: "/tmp/x", LogLevel: "info"}
	for addr, ok := range map[string]bool{"": true, "127.0.0.1:7701": true, ":9090": true, "nonsense": false, DefaultListen: false} {
		c := base
		c.AdminListen = addr
		err := c.Validate()
		if (err == nil) != ok {
			t.Errorf("AdminListen %q: %v, want ok=%v", addr, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "admin listen address") {
			t.Errorf("AdminListen %q: %v does not name the admin listen address", addr, err)
		}
	}
}

// TestLogsCarryRequestID checks that the front doors' log lines of a request
// carry the request ID they return in x-amzn-RequestId.
func TestLogsCarryRequestID(t *testing.T) {
	var buf bytes.Buffer
	a := testAppLog(t, slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, w := range []*httptest.ResponseRecorder{
		signed(t, a.handler, "secretsmanager", "application/x-amz-json-1.1", "secretsmanager.GetSecretValue", `{"SecretId":"logs/missing"}`),
		signed(t, a.handler, "sts", "application/x-www-form-urlencoded", "", "Action=GetCallerIdentity&Version=2011-06-15"),
	} {
		id := w.Header().Get("x-amzn-RequestId")
		if id == "" {
			t.Fatal("no x-amzn-RequestId")
		}
		var found bool
		for line := range strings.SplitSeq(buf.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "request" {
				continue
			}
			if rec["request_id"] == id {
				found = true
			}
		}
		if !found {
			t.Errorf("no request log line carries request_id %s", id)
		}
	}
}
