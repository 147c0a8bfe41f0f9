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
