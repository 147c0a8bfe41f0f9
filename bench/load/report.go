package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is the whole run, as -json prints it.
type report struct {
	Date          string   `json:"date"`
	Command       string   `json:"command"`
	Go            string   `json:"go"`
	OS            string   `json:"os"`
	Arch          string   `json:"arch"`
	CPUs          int      `json:"cpus"`
	DurationSec   float64  `json:"duration_seconds"`
	WarmupSec     float64  `json:"warmup_seconds"`
	Secrets       int      `json:"secrets"`
	Identity      string   `json:"identity"`   // who the load signed as: user or root
	Audit         string   `json:"audit"`      // both, on or off: which coffers ran
	AuditSync     string   `json:"audit_sync"` // COFFER_AUDIT_SYNC of the audited coffer
	ResponseBytes int      `json:"get_response_bytes"`
	LoadBefore    string   `json:"load_average_before,omitempty"` // 1, 5, 15 min
	LoadAfter     string   `json:"load_average_after,omitempty"`
	Results       []result `json:"results"`
	Ratios        []ratio  `json:"ratios"` // the first coffer (audit on, unless -audit off) / bare
	// AuditRatios compares the coffer with its audit trail with the one
	// without, per op and level (-audit both only).
	AuditRatios []auditRatio `json:"audit_ratios,omitempty"`

	duration, warmup time.Duration
}

func newReport(cfg config, respBytes int) *report {
	return &report{
		Date:          time.Now().UTC().Format(time.RFC3339),
		Command:       strings.Join(append([]string{"go run ./bench/load"}, os.Args[1:]...), " "),
		Go:            runtime.Version(),
		OS:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		CPUs:          runtime.NumCPU(),
		DurationSec:   cfg.duration.Seconds(),
		WarmupSec:     cfg.warmup.Seconds(),
		Secrets:       cfg.secrets,
		Identity:      cfg.identity,
		Audit:         string(cfg.audit),
		AuditSync:     cmp.Or(cfg.auditSync, "always"),
		ResponseBytes: respBytes,
		LoadBefore:    loadAverage(),
		Results:       []result{},
		Ratios:        []ratio{},
		duration:      cfg.duration,
		warmup:        cfg.warmup,
	}
}

// ratio compares coffer's GetSecretValue with the bare handler at one
// concurrency level.
type ratio struct {
	Audit       string  `json:"audit"` // the coffer's audit trail: on or off
	Concurrency int     `json:"concurrency"`
	Throughput  float64 `json:"throughput"`  // coffer req/s / bare req/s
	P50Latency  float64 `json:"p50_latency"` // coffer p50 / bare p50
	ServerCPU   float64 `json:"server_cpu"`  // coffer CPU/request / bare CPU/request; 0: unknown
}

func newRatio(conc int, coffer, bare result) ratio {
	r := ratio{Audit: coffer.Audit, Concurrency: conc}
	if bare.ReqPerSec > 0 {
		r.Throughput = coffer.ReqPerSec / bare.ReqPerSec
	}
	if bare.P50 > 0 {
		r.P50Latency = float64(coffer.P50) / float64(bare.P50)
	}
	if bare.ServerCPU > 0 {
		r.ServerCPU = float64(coffer.ServerCPU) / float64(bare.ServerCPU)
	}
	return r
}

// auditRatio compares an op against the coffer with its audit trail with
// the same op against the coffer without it, at one concurrency level.
type auditRatio struct {
	Op          string  `json:"op"`
	Concurrency int     `json:"concurrency"`
	Throughput  float64 `json:"throughput"`  // on req/s / off req/s
	P50Latency  float64 `json:"p50_latency"` // on p50 / off p50
	P99Latency  float64 `json:"p99_latency"` // on p99 / off p99
	ServerCPU   float64 `json:"server_cpu"`  // on CPU/request / off CPU/request; 0: unknown
	// Rounds are the throughput ratios of each round (on and off measured
	// back to back), and RoundsMedian their median: a stall of the machine
	// spoils one round, not the figure.
	Rounds       []float64 `json:"rounds"`
	RoundsMedian float64   `json:"rounds_median"`
}

func newAuditRatio(op string, conc int, on, off result, rounds []float64) auditRatio {
	r := auditRatio{Op: op, Concurrency: conc, Rounds: rounds, RoundsMedian: median(rounds)}
	if off.ReqPerSec > 0 {
		r.Throughput = on.ReqPerSec / off.ReqPerSec
	}
	if off.P50 > 0 {
		r.P50Latency = float64(on.P50) / float64(off.P50)
	}
	if off.P99 > 0 {
		r.P99Latency = float64(on.P99) / float64(off.P99)
	}
	if off.ServerCPU > 0 && on.ServerCPU > 0 {
		r.ServerCPU = float64(on.ServerCPU) / float64(off.ServerCPU)
	}
	return r
}

// printer writes the table as results arrive, or the JSON report at the
// end.
type printer struct {
	w    io.Writer
	json bool
}

func newPrinter(w io.Writer, asJSON bool) *printer { return &printer{w: w, json: asJSON} }

const rowFormat = "%-15s %5s %5s %9s %9s %9s %9s %9s %7s %10s\n"

func (p *printer) header(rep *report) {
	if p.json {
		return
	}
	fmt.Fprintf(p.w, "# %d CPUs, %s %s/%s; %v measured after %v warm-up per row; %d secrets; GetSecretValue response %d bytes; signed as %s; audit %s (sync %s)\n",
		rep.CPUs, rep.Go, rep.OS, rep.Arch, rep.duration, rep.warmup, rep.Secrets, rep.ResponseBytes, rep.Identity, rep.Audit, rep.AuditSync)
	if rep.LoadBefore != "" {
		fmt.Fprintf(p.w, "# load average before: %s\n", rep.LoadBefore)
	}
	fmt.Fprintf(p.w, rowFormat, "op", "audit", "conc", "req/s", "p50", "p90", "p99", "max", "errors", "cpu/req")
}

func (p *printer) row(r result) {
	if p.json {
		return
	}
	audit := r.Audit
	if audit == "" {
		audit = "-"
	}
	fmt.Fprintf(p.w, rowFormat, r.Op, audit, fmt.Sprint(r.Concurrency), fmt.Sprintf("%.0f", r.ReqPerSec),
		formatLatency(time.Duration(r.P50)), formatLatency(time.Duration(r.P90)),
		formatLatency(time.Duration(r.P99)), formatLatency(time.Duration(r.Max)), fmt.Sprint(r.Errors), formatCPU(time.Duration(r.ServerCPU)))
}

func (p *printer) ratio(r ratio) {
	if p.json {
		return
	}
	cpu := ""
	if r.ServerCPU > 0 {
		cpu = fmt.Sprintf("; server CPU per request %.2fx", r.ServerCPU)
	}
	fmt.Fprintf(p.w, "ratio %s (audit %s)/bare at %d: %.2f (req/s); p50 latency %.2fx%s\n",
		opGet, r.Audit, r.Concurrency, r.Throughput, r.P50Latency, cpu)
}

func (p *printer) auditRatio(r auditRatio) {
	if p.json {
		return
	}
	cpu := ""
	if r.ServerCPU > 0 {
		cpu = fmt.Sprintf("; server CPU per request %.2fx", r.ServerCPU)
	}
	rounds := ""
	if len(r.Rounds) > 1 {
		rounds = fmt.Sprintf("; median of %d rounds %.2f (%.2f to %.2f)", len(r.Rounds), r.RoundsMedian, slices.Min(r.Rounds), slices.Max(r.Rounds))
	}
	fmt.Fprintf(p.w, "ratio %s audit on/off at %d: %.2f (req/s)%s; p50 latency %.2fx; p99 latency %.2fx%s\n",
		r.Op, r.Concurrency, r.Throughput, rounds, r.P50Latency, r.P99Latency, cpu)
}

func (p *printer) final(rep *report) error {
	rep.LoadAfter = loadAverage()
	if !p.json {
		if rep.LoadAfter != "" {
			fmt.Fprintf(p.w, "# load average after: %s\n", rep.LoadAfter)
		}
		return nil
	}
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// formatLatency prints three significant digits at most: 850µs, 1.62ms,
// 16.2ms, 162ms, 1.62s.
func formatLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// formatCPU prints a server CPU time per request in microseconds, or "-"
// when it could not be measured.
func formatCPU(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}
