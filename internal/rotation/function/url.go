package function

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/coffer-dev/coffer/internal/rotation"
)

// The headers of a URL function's request.
const (
	HeaderSignature = "X-Coffer-Signature"
	HeaderTimestamp = "X-Coffer-Timestamp"
	HeaderFunction  = "X-Coffer-Function"
)

// URLFunc posts each step's event to a URL (see the package documentation).
type URLFunc struct {
	Name    string
	URL     string
	Key     []byte // HMAC-SHA256 key
	Timeout time.Duration
	Client  *http.Client     // nil: http.DefaultClient
	Now     func() time.Time // nil: time.Now
}

// Sign returns the X-Coffer-Signature value of body sent at timestamp
// (the decimal Unix seconds of X-Coffer-Timestamp): "sha256=" and the hex
// HMAC-SHA256 of timestamp + "." + body.
func Sign(key []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature (X-Coffer-Signature) is body's at
// timestamp (X-Coffer-Timestamp) under key and the timestamp is within
// skew of now: what a receiver written in Go does.
func Verify(key []byte, timestamp, signature string, body []byte, now time.Time, skew time.Duration) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(ts, 0)); d > skew || d < -skew {
		return false
	}
	return hmac.Equal([]byte(Sign(key, timestamp, body)), []byte(signature))
}

// Invoke posts the event and returns the start of the answer's body; an
// error unless the answer is 2xx within the timeout.
func (f *URLFunc) Invoke(ctx context.Context, ev rotation.Event) (string, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return "", err
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, f.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("function %s: %w", f.Name, err)
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "coffer-rotation")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(f.Key, ts, body))
	req.Header.Set(HeaderFunction, f.Name)
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if tctx.Err() != nil && ctx.Err() == nil {
			return "", fmt.Errorf("function %s: no answer within %s", f.Name, timeout)
		}
		return "", fmt.Errorf("function %s: %w", f.Name, err)
	}
	defer resp.Body.Close()
	// The body is only the log: a read cut short (by the timeout) keeps
	// what arrived, and the status decides.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxLog))
	log := string(b)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return log, fmt.Errorf("function %s: answered HTTP %d", f.Name, resp.StatusCode)
	}
	return log, nil
}
