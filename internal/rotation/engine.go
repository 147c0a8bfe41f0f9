// Package rotation runs secret rotations as AWS Secrets Manager does
// (BEHAVIOUR.md §10): the four-step protocol (createSecret, setSecret,
// testSecret, finishSecret) against a rotation Function, journalled in the
// secret so that a crashed run resumes, retried with backoff, and started
// by RotateSecret or by the schedule.
//
// api.go is the contract with the rotators: the built-ins
// (rotation/postgres, rotation/mysql) and custom functions
// (rotation/function). This package imports internal/secrets (it drives
// secrets operations); internal/secrets never imports it. Imported by
// internal/server (wiring) and the rotators.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/secrets"
)

// Builtin builds a built-in rotation function (a template of AWS's, such as
// SecretsManagerRDSPostgreSQLRotationSingleUser) over the Secrets Manager
// API of the secret's account.
type Builtin func(api SecretsAPI) Function

// Functions finds custom rotation functions (internal/rotation/function):
// Lookup returns ErrNotFound when account has no function name in region.
type Functions interface {
	Lookup(ctx context.Context, account, region, name string) (Function, error)
}

// Config is what an Engine needs.
type Config struct {
	Secrets   *secrets.Service
	Partition string             // "aws" unless configured
	Builtins  map[string]Builtin // by function name (AWS template names)
	Functions Functions          // nil: no custom functions
	Now       func() time.Time   // nil: time.Now
	Logger    *slog.Logger       // nil: discard
	// StepTimeout bounds one step's invocation; 0: DefaultStepTimeout.
	StepTimeout time.Duration
	// Retries are the waits before each retry of a failed run; nil:
	// DefaultRetries. After the last one the run waits for the next
	// rotation window.
	Retries []time.Duration
	// ResumeAfter is how old the journal of a run in flight must be before
	// the scheduler resumes it: 0 on a store of one process (a run left is
	// a crashed one), the step timeout when nodes share the store (the run
	// may be going on on another node).
	ResumeAfter time.Duration
	// Scopes lists the (account, region) pairs the scheduler scans for
	// secrets with rotation configured.
	Scopes func(ctx context.Context) ([]Scope, error)
	// Trail records the rotation service events and the built-in
	// rotators' calls (audit.go); nil only when auditing is off.
	Trail *audit.Trail
}

// Scope is one account in one region.
type Scope struct{ Account, Region string }

// DefaultStepTimeout is AWS Lambda's longest run time.
const DefaultStepTimeout = 15 * time.Minute

// DefaultRetries: a failed run is attempted five times in all, the last
// about 81 minutes after the first failure.
var DefaultRetries = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}

// ErrBusy is Run's answer when the secret's rotation is already running in
// this process.
var ErrBusy = errors.New("rotation: a run of this secret is in progress")

// Engine runs rotations. It implements secrets.Rotations.
type Engine struct {
	cfg  Config
	now  func() time.Time
	log  *slog.Logger
	base context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	running map[string]bool     // secret ARN -> a run is active here
	known   map[string]struct{} // ARNs seen rotating, for the scheduler
}

// New returns an Engine. Close stops its background runs.
func New(cfg Config) *Engine {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Partition == "" {
		cfg.Partition = "aws"
	}
	if cfg.StepTimeout == 0 {
		cfg.StepTimeout = DefaultStepTimeout
	}
	if cfg.Retries == nil {
		cfg.Retries = DefaultRetries
	}
	base, stop := context.WithCancel(context.Background())
	return &Engine{cfg: cfg, now: now, log: log, base: base, stop: stop,
		running: map[string]bool{}, known: map[string]struct{}{}}
}

// SetTrail sets the audit trail (see Config.Trail) of an engine built
// before it. Call it before the engine runs anything.
func (e *Engine) SetTrail(t *audit.Trail) { e.cfg.Trail = t }

// Close stops the runs started in the background and waits for them: an
// interrupted step is invoked again by the next engine (steps are
// idempotent).
func (e *Engine) Close() {
	e.stop()
	e.wg.Wait()
}

// Wait waits for the runs started in the background to end.
func (e *Engine) Wait() { e.wg.Wait() }

// Start runs the secret's recorded run in the background.
func (e *Engine) Start(arn string) {
	e.remember(arn)
	e.wg.Go(func() {
		if err := e.Run(e.base, arn); err != nil && !errors.Is(err, ErrBusy) && e.base.Err() == nil {
			e.log.Warn("rotation failed", "secret", arn, "err", err)
		}
	})
}

func (e *Engine) remember(arn string) {
	e.mu.Lock()
	e.known[arn] = struct{}{}
	e.mu.Unlock()
}

// Check implements secrets.Rotations: nil when lambdaARN names a function.
func (e *Engine) Check(ctx context.Context, account, region, lambdaARN string) error {
	_, err := e.Function(ctx, account, region, lambdaARN)
	return err
}

// Function resolves a rotation function ARN,
// arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER], for a
// secret of account and region: a built-in by name when the ARN is in the
// secret's account, else a custom function. It returns ErrNotFound when
// there is none.
func (e *Engine) Function(ctx context.Context, account, region, lambdaARN string) (Function, error) {
	p := strings.Split(lambdaARN, ":")
	if len(p) < 7 || len(p) > 8 || p[0] != "arn" || p[1] != e.cfg.Partition || p[2] != "lambda" || p[5] != "function" || p[6] == "" {
		return nil, fmt.Errorf("%w: not a function ARN", ErrNotFound)
	}
	fnRegion, fnAccount, name := p[3], p[4], p[6]
	if b, ok := e.cfg.Builtins[name]; ok && fnAccount == account && fnRegion == region {
		api := &serviceAPI{svc: e.cfg.Secrets, caller: secrets.SystemCaller(e.cfg.Partition, account, region), trail: e.cfg.Trail}
		return b(api), nil
	}
	if e.cfg.Functions == nil {
		return nil, ErrNotFound
	}
	return e.cfg.Functions.Lookup(ctx, fnAccount, fnRegion, name)
}

// steps returns the steps of a run from its recorded step on.
func steps(run *secrets.RotationRun) []string {
	if run.Validation {
		return []string{StepTest}
	}
	all := []string{StepCreate, StepSet, StepTest, StepFinish}
	for i, s := range all {
		if s == run.Step {
			return all[i:]
		}
	}
	return all
}

// Run runs the secret's recorded run to its end, from its journalled step:
// each step is made durable before it is invoked. A failed attempt is
// recorded with its next retry. It returns ErrBusy when this process runs
// the secret already, nil when there is no run or it was stopped (cancel,
// new value), ctx's error when ctx ended (the run resumes later).
func (e *Engine) Run(ctx context.Context, arn string) error {
	e.mu.Lock()
	if e.running[arn] {
		e.mu.Unlock()
		return ErrBusy
	}
	e.running[arn] = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.running, arn)
		e.mu.Unlock()
	}()

	st, err := e.cfg.Secrets.RotationStatus(ctx, arn)
	if err != nil {
		return fmt.Errorf("rotation state: %w", err)
	}
	run := st.Run
	if run == nil || st.Deleted {
		return nil
	}
	if run.Attempts == 0 && (run.Step == StepCreate || (run.Validation && run.Step == StepTest)) {
		e.event(ctx, st, eventName(run, "Started"), "")
	}
	fn, err := e.Function(ctx, st.Account, st.Region, st.LambdaARN)
	if err != nil {
		return e.fail(ctx, st, "Secrets Manager cannot invoke the rotation function "+st.LambdaARN, "")
	}
	for _, step := range steps(run) {
		if err := e.cfg.Secrets.RecordRotationStep(ctx, arn, run.VersionID, step); err != nil {
			if errors.Is(err, secrets.ErrRotationStopped) {
				e.event(ctx, st, "RotationAbandoned", "")
			}
			return stopped(err)
		}
		sctx, cancel := context.WithTimeout(ctx, e.cfg.StepTimeout)
		out, err := fn.Invoke(sctx, Event{SecretID: arn, ClientRequestToken: run.VersionID, Step: step, RotationToken: run.Token})
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if out != "" {
			e.log.Debug("rotation step output", "secret", arn, "step", step, "output", out)
		}
		if err != nil {
			return e.fail(ctx, st, fmt.Sprintf("Error when executing lambda %s during %s step: %v", st.LambdaARN, step, err),
				fmt.Sprintf("Error when executing lambda %s during %s step", st.LambdaARN, step))
		}
	}
	if err := e.cfg.Secrets.CompleteRotation(ctx, arn, run.VersionID); err != nil {
		if errors.Is(err, secrets.ErrRotationStopped) {
			e.event(ctx, st, "RotationAbandoned", "")
			return nil
		}
		return e.fail(ctx, st, fmt.Sprintf("Error when executing lambda %s during %s step: %v", st.LambdaARN, StepFinish, err),
			fmt.Sprintf("Error when executing lambda %s during %s step", st.LambdaARN, StepFinish))
	}
	e.event(ctx, st, eventName(run, "Succeeded"), "")
	e.log.Info("rotation succeeded", "secret", arn, "version", run.VersionID, "validation", run.Validation)
	metrics.ObserveRotation(metrics.RotationSucceeded)
	return nil
}

func stopped(err error) error {
	if errors.Is(err, secrets.ErrRotationStopped) {
		return nil
	}
	return err
}

// fail records a failed attempt and returns it as an error. auditMsg is
// the audit record's errorMessage ("": msg); it leaves out the function's
// own error text, which could quote anything the function saw.
func (e *Engine) fail(ctx context.Context, st *secrets.RotationStatus, msg, auditMsg string) error {
	attempt := st.Run.Attempts // failures before this one
	var retryAt time.Time
	if attempt < len(e.cfg.Retries) && !st.Run.Validation {
		retryAt = e.now().Add(e.cfg.Retries[attempt])
	}
	if err := e.cfg.Secrets.FailRotation(ctx, st.ARN, st.Run.VersionID, msg, retryAt); err != nil {
		if errors.Is(err, secrets.ErrRotationStopped) {
			return nil
		}
		return fmt.Errorf("recording a failed rotation: %w", err)
	}
	if auditMsg == "" {
		auditMsg = msg
	}
	e.event(ctx, st, eventName(st.Run, "Failed"), auditMsg)
	if retryAt.IsZero() {
		metrics.ObserveRotation(metrics.RotationAbandoned)
	} else {
		metrics.ObserveRotation(metrics.RotationFailed)
	}
	return errors.New(msg)
}
