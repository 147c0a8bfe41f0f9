package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scrape returns the value of the sample line that starts with prefix
// (metric name and labels), or -1 when there is none.
func scrape(t *testing.T, prefix string) float64 {
	t.Helper()
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", w.Code)
	}
	body, _ := io.ReadAll(w.Body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, prefix+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	return -1
}

func TestObserveRequest(t *testing.T) {
	ObserveRequest("secretsmanager", "TestOpA", "", 3*time.Millisecond)
	ObserveRequest("secretsmanager", "TestOpA", "", 20*time.Millisecond)
	ObserveRequest("secretsmanager", "TestOpA", "ResourceNotFoundException", time.Millisecond)

	if v := scrape(t, `coffer_requests_total{error_code="none",operation="TestOpA",service="secretsmanager"}`); v != 2 {
		t.Errorf("successes = %v, want 2", v)
	}
	if v := scrape(t, `coffer_requests_total{error_code="ResourceNotFoundException",operation="TestOpA",service="secretsmanager"}`); v != 1 {
		t.Errorf("errors = %v, want 1", v)
	}
	h := `coffer_request_duration_seconds_bucket{error_code="none",operation="TestOpA",service="secretsmanager",le="%s"}`
	for le, want := range map[string]float64{"0.0025": 0, "0.005": 1, "0.025": 2, "+Inf": 2} {
		if v := scrape(t, strings.Replace(h, "%s", le, 1)); v != want {
			t.Errorf("bucket le=%s = %v, want %v", le, v, want)
		}
	}
	if v := scrape(t, `coffer_request_duration_seconds_sum{error_code="none",operation="TestOpA",service="secretsmanager"}`); v < 0.0229 || v > 0.0231 {
		t.Errorf("sum = %v, want 0.023", v)
	}
}

func TestObserveRequestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				ObserveRequest("iam", "TestOpC", strconv.Itoa((g+i)%3), time.Microsecond)
			}
		})
	}
	wg.Wait()
	total := 0.0
	for code := range 3 {
		total += scrape(t, `coffer_requests_total{error_code="`+strconv.Itoa(code)+`",operation="TestOpC",service="iam"}`)
	}
	if total != 8000 {
		t.Errorf("total = %v, want 8000", total)
	}
}

func TestBadLabels(t *testing.T) {
	ObserveRequest("sts", "Bad\xffUTF8", "", time.Millisecond)
	ObserveRequest("sts", strings.Repeat("x", maxLabel+1), "", time.Millisecond)
	if v := scrape(t, `coffer_requests_total{error_code="none",operation="other",service="sts"}`); v != 2 {
		t.Errorf("other = %v, want 2", v)
	}
}

func TestSeriesCap(t *testing.T) {
	n := len(*series.Load())
	for i := range maxSeries - n + 5 {
		ObserveRequest("captest", "Op"+strconv.Itoa(i), "", time.Millisecond)
	}
	if got := len(*series.Load()); got > maxSeries+100 {
		t.Fatalf("cache holds %d series, cap %d", got, maxSeries)
	}
	if v := scrape(t, `coffer_requests_total{error_code="other",operation="other",service="captest"}`); v < 5 {
		t.Errorf("overflow = %v, want >= 5", v)
	}
}

func TestObserveRotationAuditStore(t *testing.T) {
	before := scrape(t, `coffer_rotations_total{result="abandoned"}`)
	ObserveRotation(RotationAbandoned)
	if v := scrape(t, `coffer_rotations_total{result="abandoned"}`); v != before+1 {
		t.Errorf("abandoned = %v, want %v", v, before+1)
	}
	ObserveRotation("nonsense")
	if v := scrape(t, `coffer_rotations_total{result="other"}`); v < 1 {
		t.Errorf("other = %v", v)
	}
	ac := scrape(t, `coffer_audit_duration_seconds_count`)
	ObserveAudit(time.Millisecond)
	if v := scrape(t, `coffer_audit_duration_seconds_count`); v != ac+1 {
		t.Errorf("audit count = %v, want %v", v, ac+1)
	}
	sc := scrape(t, `coffer_store_duration_seconds_count{op="update"}`)
	ObserveStore(StoreUpdate, time.Millisecond)
	if v := scrape(t, `coffer_store_duration_seconds_count{op="update"}`); v != sc+1 {
		t.Errorf("store update count = %v, want %v", v, sc+1)
	}
}

func TestNoAllocations(t *testing.T) {
	ObserveRequest("secretsmanager", "GetSecretValue", "", time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() {
		ObserveRequest("secretsmanager", "GetSecretValue", "", time.Millisecond)
		ObserveStore(StoreView, time.Millisecond)
		ObserveRotation(RotationSucceeded)
		ObserveAudit(time.Millisecond)
	}); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}

func BenchmarkObserveRequest(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ObserveRequest("secretsmanager", "GetSecretValue", "", time.Millisecond)
		}
	})
}
