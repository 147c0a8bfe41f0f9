// Command load measures coffer under load in one run: GetSecretValue against a
// real coffer process, the same load against a bare net/http handler in its
// own process (the floor any Go HTTP server pays), and durable
// PutSecretValue. Every request is a raw awsJson POST signed with
// aws-sdk-go-v2's SigV4 signer, as every SDK sends it.
//
// It starts coffer (building it when -coffer is empty) on 127.0.0.1 with a
// fresh data directory and stops it at the end. It never targets any other
// host. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// bareCommand is the hidden first argument that turns the program into the
// bare-handler server it starts for phase 2.
const bareCommand = "bare-server"

func main() {
	if len(os.Args) > 1 && os.Args[1] == bareCommand {
		if err := serveBare(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "load: bare server: error:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "load: error:", err)
		}
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	coffer   string        // path to a built coffer binary; "" builds one
	levels   []int         // concurrency levels
	duration time.Duration // measured time per level and op
	warmup   time.Duration // unmeasured time before each measurement
	secrets  int           // secrets read
	writes   int           // secrets written (each takes at most 99 new versions)
	timeout  time.Duration // global bound on the whole run
	json     bool          // machine-readable output
	workDir  string        // parent of the fresh data directory
	identity string        // "user" or "root": who the load signs as
	audit    bool          // coffer records every call (false: COFFER_AUDIT=off)
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	levels := fs.String("concurrency", "1,16,64", "comma-separated concurrency `levels`")
	fs.StringVar(&cfg.coffer, "coffer", "", "`path` to a built coffer binary (empty: go build ./cmd/coffer into a temp dir)")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "measured duration per op and concurrency level")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured warm-up before each measurement")
	fs.IntVar(&cfg.secrets, "secrets", 64, "number of secrets read by GetSecretValue")
	fs.IntVar(&cfg.writes, "write-secrets", 3000, "number of secrets written by PutSecretValue, round robin (a secret holds at most 100 versions a day)")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "bound on the whole run (0: derived from the other flags)")
	fs.StringVar(&cfg.workDir, "workdir", "", "`dir`ectory in which to make coffer's fresh data directory (empty: the system temp dir); PutSecretValue fsyncs there, so put it on the disk you mean to measure, not tmpfs")
	fs.StringVar(&cfg.identity, "identity", "user", "who the load signs as: user (an IAM user whose policy is evaluated on every request) or root (the account's root, no policy to evaluate)")
	fs.BoolVar(&cfg.audit, "audit", true, "run coffer with its audit trail (false: COFFER_AUDIT=off, no trail, for measuring the trail's cost; run twice to compare)")
	fs.BoolVar(&cfg.json, "json", false, "print the results as JSON on stdout (progress stays on stderr)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench/load [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var problems []string
	for f := range strings.SplitSeq(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			problems = append(problems, fmt.Sprintf("-concurrency: %q is not an integer in 1..4096", f))
			continue
		}
		cfg.levels = append(cfg.levels, n)
	}
	if cfg.duration <= 0 {
		problems = append(problems, "-duration must be positive")
	}
	if cfg.warmup < 0 {
		problems = append(problems, "-warmup must not be negative")
	}
	if cfg.secrets < 1 || cfg.secrets > 10000 {
		problems = append(problems, "-secrets must be in 1..10000")
	}
	if cfg.writes < 1 || cfg.writes > 100000 {
		problems = append(problems, "-write-secrets must be in 1..100000")
	}
	if cfg.timeout < 0 {
		problems = append(problems, "-timeout must not be negative")
	}
	if cfg.identity != "user" && cfg.identity != "root" {
		problems = append(problems, "-identity must be user or root")
	}
	if len(problems) > 0 {
		return config{}, errors.New(strings.Join(problems, "; "))
	}
	if cfg.timeout == 0 {
		// Three measured phases per level, each with its warm-up, plus room
		// for building coffer, creating secrets and draining slow requests.
		perPhase := cfg.duration + cfg.warmup + 30*time.Second
		cfg.timeout = 5*time.Minute + time.Duration(3*len(cfg.levels))*perPhase
	}
	return cfg, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.timeout,
		fmt.Errorf("the run exceeded -timeout %v", cfg.timeout))
	defer cancel()

	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "load: "+format+"\n", a...) }

	bin := cfg.coffer
	if bin == "" {
		dir, err := os.MkdirTemp("", "coffer-load-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		progress("building coffer")
		if bin, err = buildCoffer(ctx, dir, stderr); err != nil {
			return err
		}
	}
	dataDir, err := os.MkdirTemp(cfg.workDir, "coffer-load-data-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)

	maxConc := slices.Max(cfg.levels)
	c := newClient(maxConc)
	defer c.CloseIdleConnections()

	progress("starting coffer (%s)", bin)
	coffer, err := startCoffer(ctx, bin, dataDir, cfg.audit)
	if err != nil {
		return err
	}
	defer coffer.stop()

	progress("creating %d secrets to read and %d to write", cfg.secrets, cfg.writes)
	getIDs, putIDs, err := createSecrets(ctx, c, coffer.url, cfg.secrets, cfg.writes)
	if err != nil {
		return err
	}
	if cfg.identity == "user" {
		progress("signing as the IAM user bench-app (policy evaluated on every request)")
		if err := c.useIAMUser(ctx, coffer.url); err != nil {
			return err
		}
	}
	sample, err := c.call(ctx, coffer.url, "GetSecretValue", getBody(getIDs[0]))
	if err != nil {
		return fmt.Errorf("sample GetSecretValue: %w", err)
	}

	progress("starting the bare handler (%d-byte responses)", len(sample))
	bare, err := startBare(ctx, sample)
	if err != nil {
		return err
	}
	defer bare.stop()

	rep := newReport(cfg, len(sample))
	out := newPrinter(stdout, cfg.json)
	out.header(rep)

	measure := func(name string, target *proc, conc int, next requestFunc) (result, error) {
		progress("%s at concurrency %d: %v warm-up, %v measured", name, conc, cfg.warmup, cfg.duration)
		r, err := c.measure(ctx, target, conc, cfg.warmup, cfg.duration, next)
		r.Op, r.Concurrency = name, conc
		if err != nil {
			return r, err
		}
		rep.Results = append(rep.Results, r)
		out.row(r)
		if r.Errors > 0 {
			return r, fmt.Errorf("%s at concurrency %d: %d of %d requests failed; first: %s",
				name, conc, r.Errors, r.Requests+r.Errors, r.firstError)
		}
		return r, nil
	}

	for _, conc := range cfg.levels {
		get, err := measure(opGet, coffer, conc, getRequests(getIDs))
		if err != nil {
			return err
		}
		base, err := measure(opBare, bare, conc, getRequests(getIDs))
		if err != nil {
			return err
		}
		ratio := newRatio(conc, get, base)
		rep.Ratios = append(rep.Ratios, ratio)
		out.ratio(ratio)
		c.CloseIdleConnections()
	}
	for _, conc := range cfg.levels {
		if _, err := measure(opPut, coffer, conc, putRequests(putIDs)); err != nil {
			return err
		}
	}
	if err := out.final(rep); err != nil {
		return err
	}

	if err := coffer.stop(); err != nil {
		return fmt.Errorf("stopping coffer: %w", err)
	}
	if err := bare.stop(); err != nil {
		return fmt.Errorf("stopping the bare handler: %w", err)
	}
	return nil
}
