package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	seq := func(n int) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(i + 1)
		}
		return s
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value p50", seq(1), 50, 1},
		{"one value max", seq(1), 100, 1},
		{"100 values p50", seq(100), 50, 50},
		{"100 values p90", seq(100), 90, 90},
		{"100 values p99", seq(100), 99, 99},
		{"100 values max", seq(100), 100, 100},
		{"10 values p99 is the max", seq(10), 99, 10},
		{"10 values p50", seq(10), 50, 5},
		{"3 values p50", seq(3), 50, 2},
		{"1000 values p99.9", seq(1000), 99.9, 999},
		{"tiny p picks the first", seq(1000), 0.01, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeMergesWorkers(t *testing.T) {
	r := summarize([][]time.Duration{{3, 1}, {2}, nil, {4}}, 2*time.Second)
	if r.Requests != 4 || r.ReqPerSec != 2 || r.P50 != 2 || r.Max != 4 {
		t.Errorf("summarize = %+v", r)
	}
}

func TestParseAuditMode(t *testing.T) {
	for in, want := range map[string]auditMode{
		"both": auditBoth, "on": auditOn, "true": auditOn, "OFF": auditOff, "false": auditOff,
	} {
		got, err := parseAuditMode(in)
		if err != nil || got != want {
			t.Errorf("parseAuditMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := parseAuditMode("sometimes"); err == nil {
		t.Error("parseAuditMode(sometimes) accepted")
	}
	if got := len(auditBoth.settings()); got != 2 {
		t.Errorf("both starts %d coffers, want 2", got)
	}
	if s := auditBoth.settings(); !s[0] || s[1] {
		t.Errorf("both = %v, want the audited coffer first", s)
	}
}

func TestAuditRatio(t *testing.T) {
	on := result{ReqPerSec: 500, P50: ms(3 * time.Millisecond), P99: ms(10 * time.Millisecond), ServerCPU: us(60 * time.Microsecond)}
	off := result{ReqPerSec: 1000, P50: ms(time.Millisecond), P99: ms(4 * time.Millisecond), ServerCPU: us(40 * time.Microsecond)}
	r := newAuditRatio(opPut, 16, on, off, []float64{0.9, 0.2, 0.5})
	if r.Throughput != 0.5 || r.P50Latency != 3 || r.P99Latency != 2.5 || r.ServerCPU != 1.5 || r.RoundsMedian != 0.5 {
		t.Errorf("newAuditRatio = %+v", r)
	}
	if z := newAuditRatio(opGet, 1, on, result{}, nil); z.Throughput != 0 || z.P50Latency != 0 || z.ServerCPU != 0 {
		t.Errorf("ratio against an empty result = %+v, want zeros (unknown)", z)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

func TestMergeSamples(t *testing.T) {
	ms1 := []time.Duration{time.Millisecond, 3 * time.Millisecond}
	a := sample{lat: [][]time.Duration{ms1}, elapsed: time.Second, cpu: 2 * time.Millisecond, cpuOK: true}
	b := sample{lat: [][]time.Duration{{2 * time.Millisecond}, {4 * time.Millisecond}}, elapsed: time.Second, cpu: 6 * time.Millisecond, cpuOK: true,
		errors: 1, firstError: "boom"}
	r := merge([]sample{a, b})
	if r.Requests != 4 || r.ReqPerSec != 2 || r.P50 != ms(2*time.Millisecond) || r.Max != ms(4*time.Millisecond) ||
		r.ServerCPU != us(2*time.Millisecond) || r.Errors != 1 || r.firstError != "boom" {
		t.Errorf("merge = %+v", r)
	}
	b.cpuOK = false
	if r := merge([]sample{a, b}); r.ServerCPU != 0 {
		t.Errorf("merge with an unknown CPU time = %v, want 0 (unknown)", r.ServerCPU)
	}
}
