// Command load measures coffer under load in one run: GetSecretValue against a
// real coffer process, the same load against a bare net/http handler in its
// own process (the floor any Go HTTP server pays), and durable
// PutSecretValue; by default against two coffers side by side, one with its
// audit trail and one without, to measure what the trail costs. Every
// request is a raw awsJson POST signed with aws-sdk-go-v2's SigV4 signer, as
// every SDK sends it.
//
// It starts each coffer (building it when -coffer is empty) on 127.0.0.1
// with a fresh data directory and stops it at the end. It never targets any
// other host. See bench/README.md.
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
	coffer    string        // path to a built coffer binary; "" builds one
	levels    []int         // concurrency levels
	duration  time.Duration // measured time per level and op
	warmup    time.Duration // unmeasured time before each measurement
	secrets   int           // secrets read
	writes    int           // secrets written (each takes at most 99 new versions)
	timeout   time.Duration // global bound on the whole run
	json      bool          // machine-readable output
	workDir   string        // parent of the fresh data directory
	identity  string        // "user" or "root": who the load signs as
	audit     auditMode     // which coffers run: with the audit trail, without, or both
	rounds    int           // -audit both: rounds each measurement is split into, alternating the coffers
	auditSync string        // COFFER_AUDIT_SYNC of the audited coffer (empty: coffer's default)
}

// auditMode says which coffers a run measures.
type auditMode string

const (
	auditOn   auditMode = "on"   // one coffer, with its audit trail
	auditOff  auditMode = "off"  // one coffer, COFFER_AUDIT=off
	auditBoth auditMode = "both" // two coffers, on and off, measured interleaved
)

// settings returns the audit setting of each coffer the mode starts; the
// first is the one compared with the bare handler.
func (m auditMode) settings() []bool {
	switch m {
	case auditOff:
		return []bool{false}
	case auditBoth:
		return []bool{true, false}
	default:
		return []bool{true}
	}
}

// parseAuditMode accepts both, on/true and off/false.
func parseAuditMode(s string) (auditMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "both":
		return auditBoth, nil
	case "on", "true":
		return auditOn, nil
	case "off", "false":
		return auditOff, nil
	}
	return "", fmt.Errorf("-audit: %q is not both, on (true) or off (false)", s)
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
	fs.StringVar(&cfg.workDir, "workdir", "", "`dir`ectory in which to make each coffer's fresh data directory (empty: the system temp dir); PutSecretValue fsyncs there, so put it on the disk you mean to measure, not tmpfs")
	fs.StringVar(&cfg.identity, "identity", "user", "who the load signs as: user (an IAM user whose policy is evaluated on every request) or root (the account's root, no policy to evaluate)")
	audit := fs.String("audit", "both", "`mode`: both (two coffers, audit trail on and off, measured interleaved, with the ratio on/off), on (true) or off (false: COFFER_AUDIT=off, one coffer without a trail)")
	fs.IntVar(&cfg.rounds, "rounds", 6, "with -audit both, split each measurement into this many rounds, the two coffers taking turns (on, off, off, on, ...), so that noise on the machine hits both alike")
	fs.StringVar(&cfg.auditSync, "audit-sync", "", "`setting` of COFFER_AUDIT_SYNC for the coffer with its trail: always, or a duration such as 10ms (empty: coffer's default, always)")
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
	if cfg.rounds < 1 || cfg.rounds > 1000 {
		problems = append(problems, "-rounds must be in 1..1000")
	}
	if cfg.timeout < 0 {
		problems = append(problems, "-timeout must not be negative")
	}
	if cfg.identity != "user" && cfg.identity != "root" {
		problems = append(problems, "-identity must be user or root")
	}
	if m, err := parseAuditMode(*audit); err != nil {
		problems = append(problems, err.Error())
	} else {
		cfg.audit = m
	}
	if len(problems) > 0 {
		return config{}, errors.New(strings.Join(problems, "; "))
	}
	if cfg.timeout == 0 {
		// Per level, a Get and a Put per coffer and the bare handler, each
		// with its warm-up, plus room for building coffer, creating
		// secrets and draining slow requests.
		phases := 2*len(cfg.audit.settings()) + 1
		perPhase := cfg.duration + cfg.warmup + 30*time.Second
		cfg.timeout = 5*time.Minute + time.Duration(phases*len(cfg.levels))*perPhase
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

	// The coffers, in the order they are measured at each level; the first
	// is compared with the bare handler.
	var coffers []*cofferRun
	defer func() {
		for _, cr := range coffers {
			cr.close()
		}
	}()
	for _, audit := range cfg.audit.settings() {
		cr, err := setupCoffer(ctx, cfg, bin, audit, progress)
		if err != nil {
			return err
		}
		coffers = append(coffers, cr)
	}
	ref := coffers[0]

	progress("starting the bare handler (%d-byte responses)", len(ref.sample))
	bare, err := startBare(ctx, ref.sample)
	if err != nil {
		return err
	}
	defer bare.stop()

	rep := newReport(cfg, len(ref.sample))
	out := newPrinter(stdout, cfg.json)
	out.header(rep)

	measure := func(name, audit string, c *client, target *proc, conc int, next requestFunc) (result, error) {
		label := name
		if audit != "" {
			label += " (audit " + audit + ")"
		}
		progress("%s at concurrency %d: %v warm-up, %v measured", label, conc, cfg.warmup, cfg.duration)
		r, err := c.measure(ctx, target, conc, cfg.warmup, cfg.duration, next)
		r.Op, r.Audit, r.Concurrency = name, audit, conc
		if err != nil {
			return r, err
		}
		rep.Results = append(rep.Results, r)
		out.row(r)
		if r.Errors > 0 {
			return r, fmt.Errorf("%s at concurrency %d: %d of %d requests failed; first: %s",
				label, conc, r.Errors, r.Requests+r.Errors, r.firstError)
		}
		return r, nil
	}
	// measureAll measures one op against every coffer: after a warm-up
	// of each, in cfg.rounds rounds in which they take turns (the order
	// reversed every other round, so that a drift of the machine favours
	// neither), each for cfg.duration/cfg.rounds. It returns each coffer's
	// merged result and, for two coffers, each round's throughput ratio of
	// the first to the second.
	measureAll := func(op string, conc int) ([]result, []float64, error) {
		nexts := make([]requestFunc, len(coffers))
		for i, cr := range coffers {
			nexts[i] = cr.get
			if op == opPut {
				nexts[i] = cr.put
			}
			progress("%s (audit %s) at concurrency %d: %v warm-up", op, cr.auditLabel(), conc, cfg.warmup)
			if err := cr.client.warm(ctx, cr.proc, conc, cfg.warmup, nexts[i]); err != nil {
				return nil, nil, fmt.Errorf("%s (audit %s) at concurrency %d: %w", op, cr.auditLabel(), conc, err)
			}
		}
		rounds := 1
		if len(coffers) == 2 {
			rounds = cfg.rounds
		}
		progress("%s at concurrency %d: %v measured per coffer in %d rounds", op, conc, cfg.duration, rounds)
		samples := make([][]sample, len(coffers))
		var ratios []float64
		for round := range rounds {
			order := make([]int, len(coffers))
			for i := range order {
				order[i] = i
			}
			if round%2 == 1 {
				slices.Reverse(order)
			}
			got := make([]sample, len(coffers))
			for _, i := range order {
				s, err := coffers[i].client.sample(ctx, coffers[i].proc, conc, cfg.duration/time.Duration(rounds), nexts[i])
				if err != nil {
					return nil, nil, err
				}
				got[i] = s
				samples[i] = append(samples[i], s)
			}
			if len(coffers) == 2 && got[1].rate() > 0 {
				ratios = append(ratios, got[0].rate()/got[1].rate())
			}
		}
		rs := make([]result, len(coffers))
		for i, cr := range coffers {
			r := merge(samples[i])
			r.Op, r.Audit, r.Concurrency = op, cr.auditLabel(), conc
			rep.Results = append(rep.Results, r)
			out.row(r)
			if r.Errors > 0 {
				return nil, nil, fmt.Errorf("%s (audit %s) at concurrency %d: %d of %d requests failed; first: %s",
					op, cr.auditLabel(), conc, r.Errors, r.Requests+r.Errors, r.firstError)
			}
			rs[i] = r
		}
		return rs, ratios, nil
	}

	for _, conc := range cfg.levels {
		gets, getRounds, err := measureAll(opGet, conc)
		if err != nil {
			return err
		}
		// The bare handler checks no signature: the reference coffer's
		// client drives it, with the reference coffer's bodies.
		base, err := measure(opBare, "", ref.client, bare, conc, ref.get)
		if err != nil {
			return err
		}
		puts, putRounds, err := measureAll(opPut, conc)
		if err != nil {
			return err
		}
		ratio := newRatio(conc, gets[0], base)
		rep.Ratios = append(rep.Ratios, ratio)
		out.ratio(ratio)
		if len(coffers) == 2 {
			for _, ar := range []auditRatio{newAuditRatio(opGet, conc, gets[0], gets[1], getRounds), newAuditRatio(opPut, conc, puts[0], puts[1], putRounds)} {
				rep.AuditRatios = append(rep.AuditRatios, ar)
				out.auditRatio(ar)
			}
		}
		for _, cr := range coffers {
			cr.client.CloseIdleConnections()
		}
	}
	if err := out.final(rep); err != nil {
		return err
	}

	for _, cr := range coffers {
		if err := cr.proc.stop(); err != nil {
			return fmt.Errorf("stopping coffer (audit %s): %w", cr.auditLabel(), err)
		}
	}
	if err := bare.stop(); err != nil {
		return fmt.Errorf("stopping the bare handler: %w", err)
	}
	return nil
}

// cofferRun is one coffer process under load, with the client that signs
// for it (each coffer has its own IAM user and key) and its request
// generators, kept across levels so that the round robin of writes spreads
// every level's versions evenly over the secrets.
type cofferRun struct {
	audit   bool
	proc    *proc
	client  *client
	dataDir string
	get     requestFunc
	put     requestFunc
	sample  []byte // one GetSecretValue response body
}

// setupCoffer starts a coffer with a fresh data directory under
// cfg.workDir, with or without its audit trail, creates the secrets the load
// reads and writes, and, with -identity user, the IAM user the load signs
// as. On error it leaves nothing running and nothing on disk.
func setupCoffer(ctx context.Context, cfg config, bin string, audit bool, progress func(string, ...any)) (_ *cofferRun, err error) {
	cr := &cofferRun{audit: audit, client: newClient(slices.Max(cfg.levels))}
	defer func() {
		if err != nil {
			cr.close()
		}
	}()
	if cr.dataDir, err = os.MkdirTemp(cfg.workDir, "coffer-load-data-"); err != nil {
		return nil, err
	}
	progress("starting coffer with audit %s (%s)", cr.auditLabel(), bin)
	if cr.proc, err = startCoffer(ctx, bin, cr.dataDir, audit, cfg.auditSync); err != nil {
		return nil, err
	}
	progress("creating %d secrets to read and %d to write", cfg.secrets, cfg.writes)
	getIDs, putIDs, err := createSecrets(ctx, cr.client, cr.proc.url, cfg.secrets, cfg.writes)
	if err != nil {
		return nil, err
	}
	if cfg.identity == "user" {
		progress("signing as the IAM user bench-app (policy evaluated on every request)")
		if err := cr.client.useIAMUser(ctx, cr.proc.url); err != nil {
			return nil, err
		}
	}
	if cr.sample, err = cr.client.call(ctx, cr.proc.url, opGet, getBody(getIDs[0])); err != nil {
		return nil, fmt.Errorf("sample GetSecretValue: %w", err)
	}
	cr.get, cr.put = getRequests(getIDs), putRequests(putIDs)
	return cr, nil
}

func (cr *cofferRun) auditLabel() string {
	if cr.audit {
		return string(auditOn)
	}
	return string(auditOff)
}

// close stops the coffer (if still running), closes the client's idle
// connections and removes the data directory. It is safe to call more than
// once.
func (cr *cofferRun) close() {
	if cr.proc != nil {
		_ = cr.proc.stop()
	}
	cr.client.CloseIdleConnections()
	if cr.dataDir != "" {
		_ = os.RemoveAll(cr.dataDir)
	}
}
