package main

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// result is one measured op at one concurrency level.
type result struct {
	Op          string  `json:"op"`
	Audit       string  `json:"audit,omitempty"` // the coffer's audit trail: on or off; empty for the bare handler
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"` // successful (200) requests
	Errors      int     `json:"errors"`   // failed requests: non-200 or transport errors
	Seconds     float64 `json:"seconds"`  // until the last worker finished
	ReqPerSec   float64 `json:"req_per_sec"`
	P50         ms      `json:"p50_ms"`
	P90         ms      `json:"p90_ms"`
	P99         ms      `json:"p99_ms"`
	Max         ms      `json:"max_ms"`
	// ServerCPU is the server process's CPU time (user + system) per
	// successful request; 0 where it cannot be read.
	ServerCPU us `json:"server_cpu_us_per_req"`

	firstError string
}

// ms is a latency that marshals as fractional milliseconds.
type ms time.Duration

func (d ms) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(d)/float64(time.Millisecond), 'f', 3, 64), nil
}

// us is a duration that marshals as fractional microseconds.
type us time.Duration

func (d us) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(d)/float64(time.Microsecond), 'f', 1, 64), nil
}

// summarize merges the workers' latencies and computes throughput and
// percentiles over elapsed.
func summarize(perWorker [][]time.Duration, elapsed time.Duration) result {
	var n int
	for _, l := range perWorker {
		n += len(l)
	}
	all := make([]time.Duration, 0, n)
	for _, l := range perWorker {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := result{Requests: n, Seconds: elapsed.Seconds()}
	if elapsed > 0 {
		r.ReqPerSec = float64(n) / elapsed.Seconds()
	}
	r.P50 = ms(percentile(all, 50))
	r.P90 = ms(percentile(all, 90))
	r.P99 = ms(percentile(all, 99))
	r.Max = ms(percentile(all, 100))
	return r
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest value at or below which at least p% of the values
// lie. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// rank = ceil(p/100 * n); the tolerance keeps float rounding from
	// pushing an exact rank up by one (99.9/100*1000 is 999.0000000000001).
	n := len(sorted)
	rank := int(math.Ceil(p/100*float64(n) - 1e-9))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// merge sums samples of one op against one server: their requests over
// their summed time, their latencies together, their CPU time.
func merge(ss []sample) result {
	var lat [][]time.Duration
	var elapsed, cpu time.Duration
	cpuOK := len(ss) > 0
	var errs int
	var first string
	for _, s := range ss {
		lat = append(lat, s.lat...)
		elapsed += s.elapsed
		cpu += s.cpu
		cpuOK = cpuOK && s.cpuOK
		if s.errors > 0 && errs == 0 {
			first = s.firstError
		}
		errs += s.errors
	}
	r := summarize(lat, elapsed)
	r.Errors, r.firstError = errs, first
	if cpuOK && r.Requests > 0 {
		r.ServerCPU = us(cpu / time.Duration(r.Requests))
	}
	return r
}

// median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
