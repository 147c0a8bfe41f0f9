package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
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
	Identity      string   `json:"identity"` // who the load signed as: user or root
	Audit         bool     `json:"audit"`    // coffer ran with its audit trail
	ResponseBytes int      `json:"get_response_bytes"`
	LoadBefore    string   `json:"load_average_before,omitempty"` // 1, 5, 15 min
	LoadAfter     string   `json:"load_average_after,omitempty"`
	Results       []result `json:"results"`
	Ratios        []ratio  `json:"ratios"`

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
		Audit:         cfg.audit,
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
	Concurrency int     `json:"concurrency"`
	Throughput  float64 `json:"throughput"`  // coffer req/s / bare req/s
	P50Latency  float64 `json:"p50_latency"` // coffer p50 / bare p50
	ServerCPU   float64 `json:"server_cpu"`  // coffer CPU/request / bare CPU/request; 0: unknown
}

func newRatio(conc int, coffer, bare result) ratio {
	r := ratio{Concurrency: conc}
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

// printer writes the table as results arrive, or the JSON report at the
// end.
type printer struct {
	w    io.Writer
	json bool
}

func newPrinter(w io.Writer, asJSON bool) *printer { return &printer{w: w, json: asJSON} }

const rowFormat = "%-15s %5s %9s %9s %9s %9s %9s %7s %10s\n"

func (p *printer) header(rep *report) {
	if p.json {
		return
	}
	fmt.Fprintf(p.w, "# %d CPUs, %s %s/%s; %v measured after %v warm-up per row; %d secrets; GetSecretValue response %d bytes; signed as %s; audit %v\n",
		rep.CPUs, rep.Go, rep.OS, rep.Arch, rep.duration, rep.warmup, rep.Secrets, rep.ResponseBytes, rep.Identity, rep.Audit)
	if rep.LoadBefore != "" {
		fmt.Fprintf(p.w, "# load average before: %s\n", rep.LoadBefore)
	}
	fmt.Fprintf(p.w, rowFormat, "op", "conc", "req/s", "p50", "p90", "p99", "max", "errors", "cpu/req")
}

func (p *printer) row(r result) {
	if p.json {
		return
	}
	fmt.Fprintf(p.w, rowFormat, r.Op, fmt.Sprint(r.Concurrency), fmt.Sprintf("%.0f", r.ReqPerSec),
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
	fmt.Fprintf(p.w, "ratio %s/bare at %d: %.2f (req/s); p50 latency %.2fx%s\n",
		opGet, r.Concurrency, r.Throughput, r.P50Latency, cpu)
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
