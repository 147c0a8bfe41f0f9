// Package metrics holds coffer's Prometheus collectors and the small API the
// other packages call to feed them: ObserveRequest (the front doors),
// ObserveRotation (the rotation engine), ObserveAudit (the audit trail) and
// ObserveStore (the store decorator of internal/server). Handler serves them
// in the Prometheus text format on the admin listener.
//
// Any package of coffer may import it; it imports none of ours. Every
// function is safe for concurrent use, and the Observe functions neither
// allocate nor lock once a label combination has been seen.
//
// Labels are only ever a service name, an operation name, an error code or a
// rotation result: never a secret's name, ARN, value or any other request
// data. Callers pass operation names from their own tables (an unknown
// operation is "Unknown"), and the package caps the number of label
// combinations (maxSeries) so that no client can grow it without bound.
package metrics

import (
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Rotation results, the values of ObserveRotation's result.
const (
	RotationSucceeded = "succeeded" // the run finished: the new version is AWSCURRENT
	RotationFailed    = "failed"    // an attempt failed; the run is retried later
	RotationAbandoned = "abandoned" // an attempt failed and no retry is left
)

// Store operations, the values of ObserveStore's op.
const (
	StoreView   = "view"
	StoreUpdate = "update"
)

// NoError is the error_code label of a request that succeeded.
const NoError = "none"

// Overflow replaces operation and error code once maxSeries request label
// combinations exist, and any label value that is not short valid UTF-8.
const Overflow = "other"

// maxSeries bounds the request label combinations (service, operation,
// error code). coffer's tables have a few hundred at most.
const maxSeries = 1000

// maxLabel bounds the length of one label value.
const maxLabel = 64

// latencyBuckets, in seconds, from half a millisecond (a cached read) to
// ten seconds (a stuck store).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

var (
	registry = prometheus.NewRegistry()

	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coffer", Name: "requests_total",
		Help: "API requests by service (secretsmanager, iam, sts), operation and error code (none for a success).",
	}, []string{"service", "operation", "error_code"})
	requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "coffer", Name: "request_duration_seconds",
		Help:    "Time to serve an API request, by service, operation and error code.",
		Buckets: latencyBuckets,
	}, []string{"service", "operation", "error_code"})
	rotations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coffer", Name: "rotations_total",
		Help: "Rotation attempts that ended, by result (succeeded, failed, abandoned).",
	}, []string{"result"})
	auditSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "coffer", Name: "audit_duration_seconds",
		Help:    "Time to append a record to the audit trail.",
		Buckets: latencyBuckets,
	})
	storeSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "coffer", Name: "store_duration_seconds",
		Help:    "Time of a store transaction (view or update), the closure included.",
		Buckets: latencyBuckets,
	}, []string{"op"})

	storeView   = storeSeconds.WithLabelValues(StoreView)
	storeUpdate = storeSeconds.WithLabelValues(StoreUpdate)
	storeOther  = storeSeconds.WithLabelValues(Overflow)

	rotationCounters = map[string]prometheus.Counter{
		RotationSucceeded: rotations.WithLabelValues(RotationSucceeded),
		RotationFailed:    rotations.WithLabelValues(RotationFailed),
		RotationAbandoned: rotations.WithLabelValues(RotationAbandoned),
	}
	rotationOther = rotations.WithLabelValues(Overflow)
)

func init() {
	registry.MustRegister(requests, requestSeconds, rotations, auditSeconds, storeSeconds,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Handler serves every collector in the Prometheus exposition format.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
}

// requestKey is one label combination of the request collectors.
type requestKey struct{ service, op, code string }

// requestSeries are the resolved collectors of one requestKey.
type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// series is a copy-on-write cache of resolved collectors: readers load the
// map without a lock; a new combination copies it under mu.
var (
	series   atomic.Pointer[map[requestKey]*requestSeries]
	seriesMu sync.Mutex
)

func init() {
	m := map[requestKey]*requestSeries{}
	series.Store(&m)
}

// ObserveRequest counts one API request of service's operation op that
// ended with errCode ("" or NoError for a success) after d.
func ObserveRequest(service, op, errCode string, d time.Duration) {
	if errCode == "" {
		errCode = NoError
	}
	k := requestKey{service, op, errCode}
	s, ok := (*series.Load())[k]
	if !ok {
		s = resolve(k)
	}
	s.count.Inc()
	s.latency.Observe(d.Seconds())
}

// resolve returns the collectors of k, adding them to the cache.
func resolve(k requestKey) *requestSeries {
	seriesMu.Lock()
	defer seriesMu.Unlock()
	old := *series.Load()
	if s, ok := old[k]; ok {
		return s
	}
	orig := k
	k.service, k.op, k.code = label(k.service), label(k.op), label(k.code)
	if len(old) >= maxSeries {
		k.op, k.code = Overflow, Overflow
	}
	s := &requestSeries{
		count:   requests.WithLabelValues(k.service, k.op, k.code),
		latency: requestSeconds.WithLabelValues(k.service, k.op, k.code),
	}
	if len(old) >= maxSeries+100 {
		return s // full: further combinations resolve every time, still bounded
	}
	m := make(map[requestKey]*requestSeries, len(old)+1)
	maps.Copy(m, old)
	m[orig] = s
	series.Store(&m)
	return s
}

// label returns v if it is a usable label value, else Overflow.
func label(v string) string {
	if v == "" || len(v) > maxLabel || !utf8.ValidString(v) {
		return Overflow
	}
	return v
}

// ObserveRotation counts one rotation attempt that ended with result
// (RotationSucceeded, RotationFailed or RotationAbandoned).
func ObserveRotation(result string) {
	if c, ok := rotationCounters[result]; ok {
		c.Inc()
		return
	}
	rotationOther.Inc()
}

// ObserveAudit records the time one audit record took to append.
func ObserveAudit(d time.Duration) { auditSeconds.Observe(d.Seconds()) }

// ObserveStore records the time of one store transaction of kind op
// (StoreView or StoreUpdate).
func ObserveStore(op string, d time.Duration) {
	switch op {
	case StoreView:
		storeView.Observe(d.Seconds())
	case StoreUpdate:
		storeUpdate.Observe(d.Seconds())
	default:
		storeOther.Observe(d.Seconds())
	}
}
