package function

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/rotation"
)

func TestURLSignedPost(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	var got rotation.Event
	var verified bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get(HeaderFunction) != "hook" {
			t.Errorf("request %s %s %v", r.Method, r.Header.Get("Content-Type"), r.Header)
		}
		verified = Verify(key, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Now(), 5*time.Minute)
		// A receiver in any language: recompute over timestamp "." body.
		if want := Sign(key, r.Header.Get(HeaderTimestamp), body); !strings.HasPrefix(want, "sha256=") || len(want) != 7+64 {
			t.Errorf("signature %q is not sha256=<64 hex>", want)
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "rotated the thing")
	}))
	defer srv.Close()
	f := &URLFunc{Name: "hook", URL: srv.URL, Key: key, Timeout: 5 * time.Second, Now: func() time.Time { return now }}
	log, err := f.Invoke(t.Context(), event)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if !verified {
		t.Error("the receiver could not verify the signature")
	}
	if got != event {
		t.Errorf("receiver got %+v, want %+v", got, event)
	}
	if log != "rotated the thing" {
		t.Errorf("log %q, want the answer's body", log)
	}
}

func TestSignAndVerify(t *testing.T) {
	key, body := []byte("k"), []byte(`{"a":1}`)
	now := time.Unix(1767268800, 0)
	sig := Sign(key, "1767268800", body)
	// Known answer (Python: hmac.new(b"k", b'1767268800.{"a":1}', hashlib.sha256).hexdigest()).
	if sig != "sha256=ec63f7651c32db666367da706c6dc310b21bf08055f4982f56938bfeb63491fb" {
		t.Errorf("signature %q", sig)
	}
	if !Verify(key, "1767268800", sig, body, now, time.Minute) {
		t.Error("Verify refuses a good signature")
	}
	for name, ok := range map[string]bool{
		"other body":      Verify(key, "1767268800", sig, []byte(`{"a":2}`), now, time.Minute),
		"other key":       Verify([]byte("j"), "1767268800", sig, body, now, time.Minute),
		"other timestamp": Verify(key, "1767268801", sig, body, now.Add(time.Second), time.Minute),
		"stale":           Verify(key, "1767268800", sig, body, now.Add(10*time.Minute), 5*time.Minute),
		"garbage time":    Verify(key, "soon", sig, body, now, time.Minute),
	} {
		if ok {
			t.Errorf("Verify accepts a signature with %s", name)
		}
	}
}

func TestURLNon2xxFails(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadRequest, http.StatusFound} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if status == http.StatusFound {
				http.Redirect(w, r, "/elsewhere", status)
				return
			}
			w.WriteHeader(status)
			io.WriteString(w, "database refused the new password")
		}))
		r := New(nil, nil, Config{}) // its client follows no redirect
		f := &URLFunc{Name: "hook", URL: srv.URL, Key: []byte("k"), Timeout: 5 * time.Second, Client: r.cfg.HTTPClient}
		log, err := f.Invoke(t.Context(), event)
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(status)) {
			t.Errorf("status %d: error %v, want a failure naming the status", status, err)
		}
		if status == http.StatusInternalServerError && log != "database refused the new password" {
			t.Errorf("status %d: log %q, want the body", status, log)
		}
	}
}

func TestURLTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	f := &URLFunc{Name: "slow", URL: srv.URL, Key: []byte("k"), Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := f.Invoke(t.Context(), event)
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("error %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Invoke took %s with a 200ms timeout", d)
	}
}
