package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The fixed identity coffer is started with, and the signing scope.
const (
	accountID = "123456789012"
	keyID     = "AKIAIOSFODNN7EXAMPLE"
	secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	region    = "us-east-1"
	service   = "secretsmanager"

	contentType = "application/x-amz-json-1.1"
	userAgent   = "aws-sdk-go-v2/1.47.7 os/linux lang/go coffer-bench-load"
)

// Operation names as the table prints them.
const (
	opGet  = "GetSecretValue"
	opBare = "bare handler"
	opPut  = "PutSecretValue"
)

// client sends signed awsJson requests the way an SDK does: build the
// request, hash the body, sign it with SigV4, send it over a shared
// keep-alive transport. The same client drives coffer and the bare handler.
type client struct {
	hc     *http.Client
	tr     *http.Transport
	signer *v4.Signer
	creds  aws.Credentials
}

// newClient returns a client whose transport keeps at least maxConc idle
// connections per host, so no measured request waits for a new connection.
func newClient(maxConc int) *client {
	tr := &http.Transport{
		Proxy:                 nil, // targets are loopback only; never a proxy
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          2 * maxConc,
		MaxIdleConnsPerHost:   maxConc,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &client{
		hc:     &http.Client{Transport: tr, Timeout: 30 * time.Second},
		tr:     tr,
		signer: v4.NewSigner(),
		creds:  aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secretKey, Source: "bench"},
	}
}

func (c *client) CloseIdleConnections() { c.tr.CloseIdleConnections() }

// send builds, signs and sends one request. The caller closes the body.
func (c *client) send(ctx context.Context, baseURL, op string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", service+"."+op)
	req.Header.Set("Amz-Sdk-Invocation-Id", newUUID())
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		return nil, err
	}
	// SDK transports add User-Agent after signing; it is never signed.
	req.Header.Set("User-Agent", userAgent)
	return c.hc.Do(req)
}

// call sends one request and returns the body of a 200 response.
func (c *client) call(ctx context.Context, baseURL, op string, body []byte) ([]byte, error) {
	resp, err := c.send(ctx, baseURL, op, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}

// requestFunc returns the operation and body of a worker's next request.
type requestFunc func(rng *mrand.Rand) (op string, body []byte)

// getRequests reads a random one of the secrets per request.
func getRequests(ids []string) requestFunc {
	bodies := make([][]byte, len(ids))
	for i, id := range ids {
		bodies[i] = getBody(id)
	}
	return func(rng *mrand.Rand) (string, []byte) {
		return opGet, bodies[rng.IntN(len(bodies))]
	}
}

func getBody(id string) []byte {
	b, _ := json.Marshal(map[string]string{"SecretId": id})
	return b
}

// putRequests writes a new version of the next secret in turn per request,
// with a fresh idempotency token as the SDKs fill in.
func putRequests(ids []string) requestFunc {
	// Round robin: every secret gets the same share of the writes, so none
	// reaches the quota of 100 versions a day before the others.
	var n atomic.Uint64
	return func(rng *mrand.Rand) (string, []byte) {
		i := int(n.Add(1)-1) % len(ids)
		b, _ := json.Marshal(map[string]string{
			"SecretId":           ids[i],
			"SecretString":       credential(i, rng),
			"ClientRequestToken": newUUID(),
		})
		return opPut, b
	}
}

// credential is a database credential as JSON, about 100 bytes, the shape
// most secrets have. Every call for a given i has the same length.
func credential(i int, rng *mrand.Rand) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%^*-_"
	pw := make([]byte, 20)
	for j := range pw {
		pw[j] = alphabet[rng.IntN(len(alphabet))]
	}
	b, _ := json.Marshal(struct {
		Engine   string `json:"engine"`
		Host     string `json:"host"`
		Port     int    `json:"port"`
		Username string `json:"username"`
		Password string `json:"password"`
	}{"postgres", fmt.Sprintf("db-%04d.internal", i), 5432, fmt.Sprintf("app_%04d", i), string(pw)})
	return string(b)
}

// createSecrets creates n secrets to read and n to write and returns their
// names.
func createSecrets(ctx context.Context, c *client, baseURL string, nGet, nPut int) (get, put []string, err error) {
	get = make([]string, nGet)
	put = make([]string, nPut)
	for i := range get {
		get[i] = fmt.Sprintf("bench/get-%05d", i)
	}
	for i := range put {
		put[i] = fmt.Sprintf("bench/put-%05d", i)
	}
	names := append(slices.Clone(get), put...)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(w)+1, 2))
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) || ctx.Err() != nil {
					return
				}
				body, _ := json.Marshal(map[string]string{
					"Name":               names[i],
					"SecretString":       credential(i, rng),
					"ClientRequestToken": newUUID(),
				})
				if _, err := c.call(ctx, baseURL, "CreateSecret", body); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("creating %s: %w", names[i], err)
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	return get, put, nil
}

// measure warms srv up and measures conc workers against it for dur.
func (c *client) measure(ctx context.Context, srv *proc, conc int, warmup, dur time.Duration, next requestFunc) (result, error) {
	if err := c.warm(ctx, srv, conc, warmup, next); err != nil {
		return result{}, err
	}
	s, err := c.sample(ctx, srv, conc, dur, next)
	if err != nil {
		return result{}, err
	}
	return merge([]sample{s}), nil
}

// warm runs conc workers against srv for warmup, unmeasured; any failed
// request is an error.
func (c *client) warm(ctx context.Context, srv *proc, conc int, warmup time.Duration, next requestFunc) error {
	if warmup <= 0 {
		return nil
	}
	w, _ := c.runWorkers(ctx, srv.url, conc, warmup, next)
	if err := context.Cause(ctx); err != nil {
		return err
	}
	if n, first := errorsOf(w); n > 0 {
		return fmt.Errorf("%d requests failed during warm-up; first: %s", n, first)
	}
	return nil
}

// sample is one measured stretch of load against one server.
type sample struct {
	lat        [][]time.Duration // per worker
	elapsed    time.Duration
	cpu        time.Duration // the server's CPU time over the stretch
	cpuOK      bool
	errors     int
	firstError string
}

// requests is the number of successful requests of s.
func (s sample) requests() int {
	n := 0
	for _, l := range s.lat {
		n += len(l)
	}
	return n
}

// rate is s's successful requests per second.
func (s sample) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.requests()) / s.elapsed.Seconds()
}

// sample measures conc workers against srv for dur.
func (c *client) sample(ctx context.Context, srv *proc, conc int, dur time.Duration, next requestFunc) (sample, error) {
	cpu0, cpuOK := processCPU(srv.cmd.Process.Pid)
	ws, elapsed := c.runWorkers(ctx, srv.url, conc, dur, next)
	if err := context.Cause(ctx); err != nil {
		return sample{}, err
	}
	cpu1, cpuOK1 := processCPU(srv.cmd.Process.Pid)
	s := sample{elapsed: elapsed, cpu: cpu1 - cpu0, cpuOK: cpuOK && cpuOK1}
	s.lat = make([][]time.Duration, len(ws))
	for i := range ws {
		s.lat[i] = ws[i].lat
	}
	s.errors, s.firstError = errorsOf(ws)
	return s, nil
}

// worker holds what one worker goroutine recorded.
type worker struct {
	lat      []time.Duration
	errors   int
	firstErr string
}

func (w *worker) fail(msg string) {
	if w.errors == 0 {
		w.firstErr = msg
	}
	w.errors++
}

func errorsOf(ws []worker) (n int, first string) {
	for _, w := range ws {
		if w.errors > 0 && n == 0 {
			first = w.firstErr
		}
		n += w.errors
	}
	return n, first
}

// runWorkers runs conc workers for dur and returns what each recorded and
// the time until the last one finished.
func (c *client) runWorkers(ctx context.Context, baseURL string, conc int, dur time.Duration, next requestFunc) ([]worker, time.Duration) {
	ws := make([]worker, conc)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for i := range ws {
		w := &ws[i]
		w.lat = make([]time.Duration, 0, 4096)
		seed := uint64(i) + 1
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(seed, uint64(start.UnixNano())))
			for ctx.Err() == nil && time.Now().Before(deadline) {
				op, body := next(rng)
				t0 := time.Now()
				if err := c.once(ctx, baseURL, op, body); err != nil {
					if ctx.Err() != nil {
						return
					}
					w.fail(err.Error())
					continue
				}
				w.lat = append(w.lat, time.Since(t0))
			}
		})
	}
	wg.Wait()
	return ws, time.Since(start)
}

// once sends one request and reads the whole response. Any status but 200
// is an error.
func (c *client) once(ctx context.Context, baseURL, op string, body []byte) error {
	resp, err := c.send(ctx, baseURL, op, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, bytes.TrimSpace(b))
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if n == 0 {
		return errors.New(op + ": empty response body")
	}
	return nil
}

// newUUID returns a random (version 4) UUID, as the SDKs generate for
// invocation ids and idempotency tokens.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}
