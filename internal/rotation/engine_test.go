package rotation

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/seal"
	"github.com/coffer-dev/coffer/internal/secrets"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

const (
	account = "123456789012"
	region  = "us-east-1"
	fnARN   = "arn:aws:lambda:us-east-1:123456789012:function:Fake"
)

var caller = secrets.SystemCaller("aws", account, region)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// target is the system whose credential the fake function rotates.
type target struct {
	mu          sync.Mutex
	password    string
	generated   int      // new passwords created (createSecret)
	calls       []string // steps invoked
	failures    map[string]int
	after       func(step string) // called after a step succeeded
	testStages  []string          // labels of the version testSecret saw
	testedValue string
}

// fake is a rotation function that behaves like AWS's single-user
// template: idempotent steps over SecretsAPI.
type fake struct {
	api SecretsAPI
	t   *target
}

func (f *fake) Invoke(ctx context.Context, ev Event) (string, error) {
	f.t.mu.Lock()
	f.t.calls = append(f.t.calls, ev.Step)
	if f.t.failures[ev.Step] > 0 {
		f.t.failures[ev.Step]--
		f.t.mu.Unlock()
		return "", errors.New("injected failure")
	}
	f.t.mu.Unlock()
	err := f.step(ctx, ev)
	if err == nil && f.t.after != nil {
		f.t.after(ev.Step)
	}
	return "", err
}

func (f *fake) step(ctx context.Context, ev Event) error {
	d, err := f.api.DescribeSecret(ctx, ev.SecretID)
	if err != nil {
		return err
	}
	labels, ok := d.VersionIDsToStages[ev.ClientRequestToken]
	if !ok {
		return errors.New("version has no stage")
	}
	if slices.Contains(labels, "AWSCURRENT") && ev.Step != StepFinish {
		return nil
	}
	if !slices.Contains(labels, "AWSPENDING") && !slices.Contains(labels, "AWSCURRENT") {
		return errors.New("version not set as AWSPENDING")
	}
	switch ev.Step {
	case StepCreate:
		if _, err := f.api.GetSecretValue(ctx, ev.SecretID, "", "AWSCURRENT"); err != nil {
			return err
		}
		_, err := f.api.GetSecretValue(ctx, ev.SecretID, ev.ClientRequestToken, "AWSPENDING")
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		pw, err := f.api.GetRandomPassword(ctx, PasswordOptions{ExcludePunctuation: true})
		if err != nil {
			return err
		}
		f.t.mu.Lock()
		f.t.generated++
		f.t.mu.Unlock()
		return f.api.PutSecretValue(ctx, ev.SecretID, ev.ClientRequestToken, pw, []string{"AWSPENDING"})
	case StepSet:
		pw, err := f.api.GetSecretValue(ctx, ev.SecretID, ev.ClientRequestToken, "AWSPENDING")
		if err != nil {
			return err
		}
		f.t.mu.Lock()
		f.t.password = pw
		f.t.mu.Unlock()
	case StepTest:
		pw, err := f.api.GetSecretValue(ctx, ev.SecretID, ev.ClientRequestToken, "AWSPENDING")
		if err != nil {
			return err
		}
		f.t.mu.Lock()
		defer f.t.mu.Unlock()
		f.t.testStages, f.t.testedValue = labels, pw
		if f.t.password != "" && pw != f.t.password {
			return errors.New("cannot log in with the pending credential")
		}
	case StepFinish:
		cur := ""
		for v, ls := range d.VersionIDsToStages {
			if slices.Contains(ls, "AWSCURRENT") {
				cur = v
			}
		}
		if cur == ev.ClientRequestToken {
			return nil
		}
		return f.api.UpdateSecretVersionStage(ctx, ev.SecretID, "AWSCURRENT", ev.ClientRequestToken, cur)
	}
	return nil
}

type env struct {
	store storage.Store
	svc   *secrets.Service
	clk   *clock
	tgt   *target
	eng   *Engine
	arn   string
}

func (v *env) newEngine() *Engine {
	e := New(Config{
		Secrets:  v.svc,
		Builtins: map[string]Builtin{"Fake": func(api SecretsAPI) Function { return &fake{api: api, t: v.tgt} }},
		Now:      v.clk.now,
		Scopes:   func(context.Context) ([]Scope, error) { return []Scope{{account, region}}, nil },
	})
	v.svc.SetRotations(e)
	return e
}

func setup(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	root, err := seal.OpenKeyFile(filepath.Join(dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "coffer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	v := &env{store: store, clk: clk, tgt: &target{password: "initial", failures: map[string]int{}}}
	v.svc = secrets.New(secrets.Config{Store: store, Root: root, Now: clk.now})
	v.eng = v.newEngine()
	t.Cleanup(v.eng.Close)
	res, err := v.svc.CreateSecret(context.Background(), caller, secrets.CreateInput{Name: "db", SecretString: str("initial"), ClientRequestToken: str(tok(0))})
	if err != nil {
		t.Fatal(err)
	}
	v.arn = res.ARN
	return v
}

func str(s string) *string { return &s }
func tok(i int) string     { return fmt.Sprintf("00000000-0000-0000-0000-%012d", i) }

func (v *env) rotate(t *testing.T, in secrets.RotateInput) *secrets.WriteResult {
	t.Helper()
	in.SecretID = "db"
	if in.RotationLambdaARN == nil {
		in.RotationLambdaARN = str(fnARN)
	}
	res, err := v.svc.RotateSecret(context.Background(), caller, in)
	if err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	v.eng.Wait()
	return res
}

func (v *env) status(t *testing.T) *secrets.RotationStatus {
	t.Helper()
	st, err := v.svc.RotationStatus(context.Background(), v.arn)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (v *env) current(t *testing.T) string {
	t.Helper()
	sv, err := v.svc.GetSecretValue(context.Background(), caller, secrets.GetValueInput{SecretID: "db"})
	if err != nil {
		t.Fatal(err)
	}
	return sv.Value.Text()
}

// checkRotated checks the end state of a successful rotation to version.
func (v *env) checkRotated(t *testing.T, version string) {
	t.Helper()
	m, err := v.svc.DescribeSecret(context.Background(), caller, "db")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{tok(0): {"AWSPREVIOUS"}, version: {"AWSCURRENT"}}
	if fmt.Sprint(m.VersionIDsToStages) != fmt.Sprint(want) {
		t.Errorf("labels = %v, want %v", m.VersionIDsToStages, want)
	}
	if got := v.current(t); got == "initial" || got != v.tgt.password {
		t.Error("AWSCURRENT does not hold the password set in the target")
	}
	if v.tgt.generated != 1 {
		t.Errorf("%d passwords generated, want 1", v.tgt.generated)
	}
	if m.LastRotated.IsZero() || m.RotationEnabled == nil || !*m.RotationEnabled {
		t.Errorf("LastRotated %v, RotationEnabled %v", m.LastRotated, m.RotationEnabled)
	}
	if st := v.status(t); st.Run != nil {
		t.Errorf("run still recorded: step %s", st.Run.Step)
	}
}

func TestFullRotation(t *testing.T) {
	v := setup(t)
	res := v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(1)), Rules: &secrets.RotationRules{AutomaticallyAfterDays: 30}})
	if res.VersionID != tok(1) {
		t.Errorf("VersionId = %s", res.VersionID)
	}
	if want := []string{StepCreate, StepSet, StepTest, StepFinish}; !slices.Equal(v.tgt.calls, want) {
		t.Errorf("steps = %v, want %v", v.tgt.calls, want)
	}
	v.checkRotated(t, tok(1))
	m, _ := v.svc.DescribeSecret(context.Background(), caller, "db")
	if want := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC); !m.NextRotation.Equal(want) {
		t.Errorf("NextRotationDate = %v, want %v", m.NextRotation, want)
	}
	if m.RotationRules == nil || m.RotationRules.AutomaticallyAfterDays != 30 || m.RotationLambdaARN != fnARN {
		t.Errorf("rules %+v, lambda %s", m.RotationRules, m.RotationLambdaARN)
	}
}

func TestFailureAtEachStepResumes(t *testing.T) {
	for _, step := range []string{StepCreate, StepSet, StepTest, StepFinish} {
		t.Run(step, func(t *testing.T) {
			v := setup(t)
			v.tgt.failures[step] = 1
			v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(1))})
			st := v.status(t)
			if st.Run == nil || st.Run.Attempts != 1 || !strings.Contains(st.Run.LastError, "during "+step+" step") {
				t.Fatalf("run after failure: %+v", st.Run)
			}
			if want := v.clk.now().Add(time.Minute); !st.Run.NextAttempt.Equal(want) {
				t.Errorf("next attempt %v, want %v", st.Run.NextAttempt, want)
			}
			// A second RotateSecret is refused while the run is pending.
			_, err := v.svc.RotateSecret(context.Background(), caller, secrets.RotateInput{SecretID: "db"})
			var de *secrets.Error
			if !errors.As(err, &de) || de.Message != "A previous rotation isn't complete. That rotation will be reattempted." {
				t.Errorf("RotateSecret during a run: %v", err)
			}
			// Not yet due: nothing happens.
			n := len(v.tgt.calls)
			if err := v.eng.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(v.tgt.calls) != n {
				t.Errorf("retried before its time")
			}
			v.clk.add(time.Minute)
			if err := v.eng.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := v.tgt.calls[n]; got != step {
				t.Errorf("resumed at %s, want %s", got, step)
			}
			v.checkRotated(t, tok(1))
		})
	}
}

// A run gives up after its retries and waits for the next window; the
// pending version stays and is reattempted.
func TestRetriesExhausted(t *testing.T) {
	v := setup(t)
	v.tgt.failures[StepSet] = 5
	v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(1)), Rules: &secrets.RotationRules{AutomaticallyAfterDays: 1}})
	for _, d := range DefaultRetries {
		v.clk.add(d)
		if err := v.eng.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st := v.status(t)
	if st.Run == nil || st.Run.Attempts != 0 || st.Pending != tok(1) {
		t.Fatalf("after 5 failures: run %+v pending %s", st.Run, st.Pending)
	}
	if want := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC); !st.Run.NextAttempt.Equal(want) {
		t.Errorf("next attempt %v, want the next window %v", st.Run.NextAttempt, want)
	}
	v.clk.set(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	if err := v.eng.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	v.checkRotated(t, tok(1))
}

// The process stops right after setSecret: a new engine resumes the run at
// setSecret with the same pending value, never a second password.
func TestCrashResume(t *testing.T) {
	v := setup(t)
	v.tgt.after = func(step string) {
		if step == StepSet {
			v.eng.stop() // the process dies
		}
	}
	v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(1))})
	st := v.status(t)
	if st.Run == nil || st.Run.Step != StepSet || st.Run.Attempts != 0 {
		t.Fatalf("journal after the crash: %+v", st.Run)
	}
	pending, err := v.svc.GetSecretValue(context.Background(), caller, secrets.GetValueInput{SecretID: "db", VersionID: str(tok(1))})
	if err != nil {
		t.Fatal(err)
	}
	v.tgt.after = nil
	v.eng = v.newEngine()
	defer v.eng.Close()
	if err := v.eng.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{StepCreate, StepSet, StepSet, StepTest, StepFinish}; !slices.Equal(v.tgt.calls, want) {
		t.Errorf("steps = %v, want %v", v.tgt.calls, want)
	}
	if v.current(t) != pending.Value.Text() {
		t.Error("the resumed run made another value current")
	}
	v.checkRotated(t, tok(1))
}

func TestCancelRotateSecret(t *testing.T) {
	v := setup(t)
	ctx := context.Background()
	v.tgt.failures[StepSet] = 1
	v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(1)), Rules: &secrets.RotationRules{ScheduleExpression: "rate(10 days)"}})
	res, err := v.svc.CancelRotateSecret(ctx, caller, "db")
	if err != nil {
		t.Fatal(err)
	}
	if res.VersionID != tok(1) {
		t.Errorf("VersionId = %q, want the interrupted version", res.VersionID)
	}
	m, _ := v.svc.DescribeSecret(ctx, caller, "db")
	if m.RotationEnabled == nil || *m.RotationEnabled || m.RotationLambdaARN != fnARN || m.RotationRules == nil || !m.NextRotation.IsZero() {
		t.Errorf("after cancel: enabled %v lambda %q rules %+v next %v", m.RotationEnabled, m.RotationLambdaARN, m.RotationRules, m.NextRotation)
	}
	if !slices.Contains(m.VersionIDsToStages[tok(1)], "AWSPENDING") {
		t.Error("cancel removed AWSPENDING")
	}
	v.clk.add(time.Hour)
	n := len(v.tgt.calls)
	if err := v.eng.Tick(ctx); err != nil || len(v.tgt.calls) != n {
		t.Errorf("a cancelled run went on (err %v)", err)
	}
	if _, err := v.svc.RotateSecret(ctx, caller, secrets.RotateInput{SecretID: "db"}); err == nil || !strings.Contains(err.Error(), "previous rotation isn't complete") {
		t.Errorf("RotateSecret with AWSPENDING left: %v", err)
	}
	// The documented recovery: remove AWSPENDING, then rotate.
	if _, err := v.svc.UpdateSecretVersionStage(ctx, caller, secrets.StageInput{SecretID: "db", VersionStage: "AWSPENDING", RemoveFromVersionID: str(tok(1))}); err != nil {
		t.Fatal(err)
	}
	v.tgt.generated = 0
	v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(2))})
	v.checkRotated(t, tok(2))
}

// RotateImmediately=false tests the setup on a copy of the current value,
// with testSecret alone, then removes the copy.
func TestValidationRun(t *testing.T) {
	v := setup(t)
	v.tgt.password = ""
	v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(1)), RotateImmediately: new(false), Rules: &secrets.RotationRules{AutomaticallyAfterDays: 7}})
	if !slices.Equal(v.tgt.calls, []string{StepTest}) || !slices.Equal(v.tgt.testStages, []string{"AWSPENDING"}) || v.tgt.testedValue != "initial" {
		t.Errorf("calls %v, stages %v", v.tgt.calls, v.tgt.testStages)
	}
	vs, err := v.svc.ListSecretVersionIds(context.Background(), caller, secrets.ListVersionsInput{SecretID: "db", IncludeDeprecated: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions) != 1 || vs.Versions[0].VersionID != tok(0) {
		t.Errorf("versions after the validation run: %+v", vs.Versions)
	}
	st := v.status(t)
	if st.Run != nil || !st.Enabled || !st.LastRotated.IsZero() {
		t.Errorf("status %+v", st)
	}
}

func TestUnknownFunction(t *testing.T) {
	v := setup(t)
	ctx := context.Background()
	_, err := v.svc.RotateSecret(ctx, caller, secrets.RotateInput{SecretID: "db", RotationLambdaARN: str("arn:aws:lambda:us-east-1:123456789012:function:nope"),
		Rules: &secrets.RotationRules{AutomaticallyAfterDays: 3}})
	var de *secrets.Error
	if !errors.As(err, &de) || de.Kind != secrets.KindAccessDenied || !strings.HasPrefix(de.Message, "Secrets Manager cannot invoke the specified Lambda function.") {
		t.Fatalf("err = %v", err)
	}
	_, err = v.svc.RotateSecret(ctx, caller, secrets.RotateInput{SecretID: "db"})
	if !errors.As(err, &de) || de.Message != "No Lambda rotation function ARN is associated with this secret." {
		t.Fatalf("without a function: %v", err)
	}
	m, _ := v.svc.DescribeSecret(ctx, caller, "db")
	if m.RotationEnabled != nil || m.RotationRules != nil || len(m.VersionIDsToStages) != 1 {
		t.Errorf("something was saved: %+v", m)
	}
	if _, err := v.svc.CancelRotateSecret(ctx, caller, "db"); !errors.As(err, &de) || de.Kind != secrets.KindInvalidRequest {
		t.Errorf("cancel without rotation: %v", err)
	}
}

// A value written by PutSecretValue during a run abandons it and counts as
// a rotation for the schedule.
func TestNewValueAbandonsRun(t *testing.T) {
	v := setup(t)
	ctx := context.Background()
	v.tgt.failures[StepSet] = 1
	v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(1)), Rules: &secrets.RotationRules{AutomaticallyAfterDays: 5}})
	run := v.status(t).Run
	// The RotationToken of the run is checked.
	if _, err := v.svc.PutSecretValue(ctx, caller, secrets.PutInput{SecretID: "db", ClientRequestToken: str(tok(1)), SecretString: str("x"),
		VersionStages: []string{"AWSPENDING"}, RotationToken: str(strings.Repeat("a", 64))}); err == nil {
		t.Error("a wrong RotationToken was accepted")
	}
	pending, _ := v.svc.GetSecretValue(ctx, caller, secrets.GetValueInput{SecretID: "db", VersionStage: str("AWSPENDING")})
	if _, err := v.svc.PutSecretValue(ctx, caller, secrets.PutInput{SecretID: "db", ClientRequestToken: str(tok(1)), SecretString: str(pending.Value.Text()),
		VersionStages: []string{"AWSPENDING"}, RotationToken: &run.Token}); err != nil {
		t.Errorf("the run's RotationToken: %v", err)
	}
	v.clk.set(time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC))
	if _, err := v.svc.PutSecretValue(ctx, caller, secrets.PutInput{SecretID: "db", ClientRequestToken: str(tok(2)), SecretString: str("manual")}); err != nil {
		t.Fatal(err)
	}
	st := v.status(t)
	if st.Run != nil || st.Pending != "" {
		t.Errorf("run %+v pending %q after a new value", st.Run, st.Pending)
	}
	if want := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC); !st.NextWindowStart.Equal(want) {
		t.Errorf("next window %v, want %v", st.NextWindowStart, want)
	}
}

// The scheduler rotates when the window opens (the secret was created at
// 12:00 on 1 January), then counts from the last rotation.
func TestScheduler(t *testing.T) {
	v := setup(t)
	ctx := context.Background()
	v.tgt.password = ""
	v.rotate(t, secrets.RotateInput{RotateImmediately: new(false), Rules: &secrets.RotationRules{ScheduleExpression: "cron(0 16 1,15 * ? *)", Duration: "2h"}})
	m, _ := v.svc.DescribeSecret(ctx, caller, "db")
	if m.RotationRules.AutomaticallyAfterDays != 14 || !m.NextRotation.Equal(time.Date(2026, 1, 1, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("rules %+v next %v", m.RotationRules, m.NextRotation)
	}
	v.tgt.calls = nil
	v.clk.set(time.Date(2026, 1, 1, 15, 59, 0, 0, time.UTC))
	if err := v.eng.Tick(ctx); err != nil || len(v.tgt.calls) != 0 {
		t.Fatalf("rotated before the window: %v %v", err, v.tgt.calls)
	}
	v.clk.set(time.Date(2026, 1, 1, 16, 0, 30, 0, time.UTC))
	if err := v.eng.Tick(ctx); err != nil || len(v.tgt.calls) != 4 {
		t.Fatalf("window open: %v %v", err, v.tgt.calls)
	}
	st := v.status(t)
	if !st.LastRotated.Equal(v.clk.now()) || !st.NextWindowStart.Equal(time.Date(2026, 1, 15, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("last %v next %v", st.LastRotated, st.NextWindowStart)
	}
	if err := v.eng.Tick(ctx); err != nil || len(v.tgt.calls) != 4 {
		t.Errorf("rotated twice in one window")
	}
}

// One secret never runs twice at once in a process.
func TestOneRunPerSecret(t *testing.T) {
	v := setup(t)
	reached, release := make(chan struct{}), make(chan struct{})
	v.tgt.after = func(step string) {
		if step == StepCreate {
			close(reached)
			<-release
		}
	}
	if _, err := v.svc.RotateSecret(context.Background(), caller, secrets.RotateInput{SecretID: "db", RotationLambdaARN: str(fnARN), ClientRequestToken: str(tok(1))}); err != nil {
		t.Fatal(err)
	}
	<-reached
	if err := v.eng.Run(context.Background(), v.arn); !errors.Is(err, ErrBusy) {
		t.Errorf("a second run: %v, want ErrBusy", err)
	}
	close(release)
	v.eng.Wait()
	v.checkRotated(t, tok(1))
}

// A run in flight is resumed at once on a store of one process, and only
// after resumeAfter when nodes share the store.
func TestDueInFlight(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	st := &secrets.RotationStatus{Run: &secrets.RotationRun{Updated: now.Add(-time.Minute)}}
	if !Due(st, now, 0) {
		t.Error("single process: not due")
	}
	if Due(st, now, DefaultStepTimeout) {
		t.Error("shared store: a run touched a minute ago is due")
	}
	if !Due(st, now.Add(DefaultStepTimeout), DefaultStepTimeout) {
		t.Error("shared store: a stale run is not due")
	}
	st.Run.NextAttempt = now.Add(time.Minute)
	if Due(st, now, 0) {
		t.Error("a retry is due before its time")
	}
	st.Deleted = true
	st.Run.NextAttempt = now
	if Due(st, now, 0) {
		t.Error("a secret scheduled for deletion is due")
	}
}
