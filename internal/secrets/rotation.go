package secrets

// Rotation: RotateSecret and CancelRotateSecret (BEHAVIOUR.md §10), the
// rotation settings and the journal of the run in progress, both kept in
// the secret's Attrs document, and the calls the rotation engine
// (internal/rotation) makes to drive a run. This package never runs a
// rotation function itself: it calls Rotations.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

const (
	actRotateSecret       = "secretsmanager:RotateSecret"
	actCancelRotateSecret = "secretsmanager:CancelRotateSecret"
)

const (
	msgNoRotationFunction = "No Lambda rotation function ARN is associated with this secret."
	msgCannotInvoke       = "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com."
	msgRotationPending    = "A previous rotation isn't complete. That rotation will be reattempted."
	msgNoRotationToCancel = "You tried to cancel rotation on a secret that doesn't already have a Lambda function ARN configured and so can't be rotated."
	msgBadRotationToken   = "The RotationToken doesn't match the rotation in progress for this secret."
)

// ErrRotationStopped is what the engine's calls return when the run they
// name is no longer the secret's run (cancelled, abandoned by a new value,
// or finished by someone else): the engine stops.
var ErrRotationStopped = errors.New("secrets: rotation run stopped")

// Rotations is the rotation engine as this package sees it.
type Rotations interface {
	// Check returns nil when lambdaARN names a function coffer can invoke
	// for a secret of account and region.
	Check(ctx context.Context, account, region, lambdaARN string) error
	// Start runs, in the background, the run recorded on the secret arn.
	Start(arn string)
}

// rotationAttrs is the rotation part of a secret's Attrs document.
type rotationAttrs struct {
	Enabled   bool   `json:"enabled,omitempty"`
	LambdaARN string `json:"lambdaArn,omitempty"`
	Days      int64  `json:"days,omitempty"` // AutomaticallyAfterDays as configured
	Schedule  string `json:"schedule,omitempty"`
	Duration  string `json:"duration,omitempty"`
	// LastRotated is the end of the last successful rotation.
	LastRotated time.Time `json:"lastRotated,omitzero"`
	// Base is what the schedule counts from: the last rotation or manual
	// value change (BEHAVIOUR.md §10.2).
	Base time.Time    `json:"base,omitzero"`
	Run  *RotationRun `json:"run,omitempty"`
}

// RotationRun is the journal of a rotation in progress: durable before each
// step is invoked, so that a restarted engine resumes it.
type RotationRun struct {
	VersionID string `json:"versionId"` // the AWSPENDING version
	// Token is the RotationToken of the run: sensitive, never logged.
	Token       string    `json:"token"`
	Step        string    `json:"step"` // the step to invoke (again, after a crash)
	Attempts    int       `json:"attempts,omitempty"`
	LastError   string    `json:"lastError,omitempty"`
	Started     time.Time `json:"started"`
	Updated     time.Time `json:"updated"`              // the last journal entry
	NextAttempt time.Time `json:"nextAttempt,omitzero"` // zero: now
	// Validation marks the testSecret-only run of RotateImmediately=false.
	Validation bool `json:"validation,omitempty"`
}

// String implements fmt.Stringer without the token.
func (r RotationRun) String() string {
	return fmt.Sprintf("{VersionID:%s Token:REDACTED Step:%s Attempts:%d LastError:%q Started:%s Updated:%s NextAttempt:%s Validation:%t}",
		r.VersionID, r.Step, r.Attempts, r.LastError, r.Started, r.Updated, r.NextAttempt, r.Validation)
}

// GoString implements fmt.GoStringer without the token.
func (r RotationRun) GoString() string { return "secrets.RotationRun" + r.String() }

// LogValue implements slog.LogValuer without the token.
func (r RotationRun) LogValue() slog.Value {
	return slog.GroupValue(slog.String("versionId", r.VersionID), slog.String("step", r.Step),
		slog.Int("attempts", r.Attempts), slog.Bool("validation", r.Validation))
}

// RotationStatus is a secret's rotation state for the engine and the
// operator commands.
type RotationStatus struct {
	ARN, Account, Region, Name string
	Deleted                    bool
	Configured                 bool // RotateSecret was called once
	Enabled                    bool
	LambdaARN                  string
	Days                       int64
	Schedule                   string
	Duration                   string
	LastRotated                time.Time
	NextWindowStart            time.Time // zero when there is no schedule
	NextRotation               time.Time
	Current                    string // AWSCURRENT version
	Pending                    string // AWSPENDING version ("" if none)
	Run                        *RotationRun
}

// RotateInput is RotateSecret's request. Rules is nil when RotationRules
// was not given.
type RotateInput struct {
	SecretID           string
	ClientRequestToken *string
	RotationLambdaARN  *string
	Rules              *RotationRules
	RotateImmediately  *bool
}

// RotationRules is RotateSecret's and DescribeSecret's RotationRules.
type RotationRules struct {
	AutomaticallyAfterDays int64 // 0: not given
	ScheduleExpression     string
	Duration               string
}

func decodeRotation(sec *storage.Secret) (attrs, *rotationAttrs, error) {
	at, err := decodeAttrs(sec.Attrs)
	if err != nil {
		return at, nil, err
	}
	if at.Rotation == nil {
		return at, nil, nil
	}
	r := *at.Rotation
	if r.Run != nil {
		run := *r.Run
		r.Run = &run
	}
	return at, &r, nil
}

func (r *rotationAttrs) schedule() *Schedule {
	if r == nil || (r.Days == 0 && r.Schedule == "") {
		return nil
	}
	s, err := parseRules(r.Days, r.Schedule, r.Duration)
	if err != nil {
		return nil // stored rules were checked when saved
	}
	return s
}

// pendingElsewhere reports whether AWSPENDING sits on a version that is not
// AWSCURRENT: an unfinished rotation.
func pendingElsewhere(st stages) string {
	p := st.holder(StagePending)
	if p != "" && p != st.holder(StageCurrent) {
		return p
	}
	return ""
}

func newRotationToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// RotateSecret configures rotation and starts a run (BEHAVIOUR.md §10.1):
// with RotateImmediately (the default) a full rotation, otherwise the
// validation run that invokes testSecret alone on a copy of the current
// value.
func (s *Service) RotateSecret(ctx context.Context, c Caller, in RotateInput) (*WriteResult, error) {
	token := uuid.NewString()
	if in.ClientRequestToken != nil {
		if err := checkToken(in.ClientRequestToken); err != nil {
			return nil, err
		}
		token = *in.ClientRequestToken
	}
	if in.Rules != nil {
		r := in.Rules
		if _, err := ParseSchedule(r.AutomaticallyAfterDays, r.ScheduleExpression, r.Duration); err != nil {
			return nil, err
		}
	}
	immediately := in.RotateImmediately == nil || *in.RotateImmediately
	a := access{action: actRotateSecret, id: in.SecretID, keys: func(pc *policy.Context) {
		setIf(pc, "secretsmanager:rotationlambdaarn", in.RotationLambdaARN)
		pc.Set("secretsmanager:rotateimmediately", strconv.FormatBool(immediately))
		pc.Set("secretsmanager:modifyrotationrules", strconv.FormatBool(in.Rules != nil))
	}}
	sec, err := s.active(ctx, c, a, "RotateSecret")
	if err != nil {
		return nil, err
	}
	_, rot, err := decodeRotation(sec)
	if err != nil {
		return nil, s.internal(ctx, "RotateSecret", err)
	}
	lambda := deref(in.RotationLambdaARN)
	if lambda == "" && rot != nil {
		lambda = rot.LambdaARN
	}
	if lambda == "" {
		return nil, &Error{Kind: KindInvalidRequest, Message: msgNoRotationFunction}
	}
	if pendingElsewhere(sec.Stages) != "" || (rot != nil && rot.Run != nil) {
		return nil, &Error{Kind: KindInvalidRequest, Message: msgRotationPending}
	}
	if s.rotations == nil || s.rotations.Check(ctx, sec.Account, sec.Region, lambda) != nil {
		return nil, &Error{Kind: KindAccessDenied, Message: msgCannotInvoke}
	}
	// The validation run tests a copy of the current value.
	var ct []byte
	var binary bool
	if cur := stages(sec.Stages).holder(StageCurrent); !immediately && cur != "" {
		var ver *storage.Version
		err := s.store.View(ctx, func(tx storage.Tx) error {
			var err error
			ver, err = tx.Version(sec.ARN, cur)
			return err
		})
		if err != nil {
			return nil, s.internal(ctx, "RotateSecret", err)
		}
		if ver.Ciphertext != nil {
			v, err := s.keys.open(ctx, sec.ARN, ver)
			if err != nil {
				return nil, err
			}
			if ct, err = s.keys.seal(ctx, sec.Account, sec.Region, sec.KmsKeyID, sec.ARN, token, v); err != nil {
				return nil, err
			}
			binary = v.IsBinary()
		}
	}
	now := s.now()
	started := false
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := tx.SecretByARN(sec.ARN)
		if err != nil {
			return notFound(err)
		}
		if deleted(cur) {
			return errMarked()
		}
		at, rot, err := decodeRotation(cur)
		if err != nil {
			return err
		}
		if pendingElsewhere(cur.Stages) != "" || (rot != nil && rot.Run != nil) {
			return &Error{Kind: KindInvalidRequest, Message: msgRotationPending}
		}
		if rot == nil {
			rot = &rotationAttrs{}
		}
		rot.Enabled, rot.LambdaARN = true, lambda
		if in.Rules != nil {
			rot.Days, rot.Schedule, rot.Duration = in.Rules.AutomaticallyAfterDays, in.Rules.ScheduleExpression, in.Rules.Duration
		}
		if rot.Base.IsZero() {
			rot.Base = now
			if v := stages(cur.Stages).holder(StageCurrent); v != "" {
				if ver, err := tx.Version(cur.ARN, v); err == nil {
					rot.Base = ver.Created
				}
			}
		}
		if immediately || ct != nil {
			if _, err := tx.Version(cur.ARN, token); err == nil {
				return errTokenInUse(token, cur.ARN)
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			st := stages(cur.Stages).clone()
			st.attach(StagePending, token)
			if st.count() > maxLabels {
				return &Error{Kind: KindLimitExceeded, Message: msgTooManyLabels}
			}
			if err := s.purgeVersions(tx, cur.ARN, st, now); err != nil {
				return err
			}
			if err := tx.InsertVersion(&storage.Version{SecretARN: cur.ARN, VersionID: token, Created: now,
				KmsKeyID: cur.KmsKeyID, Binary: binary, Ciphertext: ct}); err != nil {
				return err
			}
			cur.Stages = st
			step := "createSecret"
			if !immediately {
				step = "testSecret"
			}
			rot.Run = &RotationRun{VersionID: token, Token: newRotationToken(), Step: step, Started: now, Updated: now, Validation: !immediately}
			started = true
		}
		at.Rotation = rot
		cur.Attrs = at.encode()
		cur.LastChanged = now
		if err := tx.UpdateSecret(cur); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, cur.Account, cur.ARN, elems(cur.ARN, cur.Name, token))
	})
	if err != nil {
		return nil, s.internal(ctx, "RotateSecret", err)
	}
	if started {
		s.rotations.Start(sec.ARN)
	}
	return &WriteResult{ARN: sec.ARN, Name: sec.Name, VersionID: token}, nil
}

// CancelRotateSecret turns automatic rotation off and stops the run in
// progress, leaving the labels as they are (BEHAVIOUR.md §10.5). The
// answer names the version of the interrupted run, if any.
func (s *Service) CancelRotateSecret(ctx context.Context, c Caller, secretID string) (*WriteResult, error) {
	var res *WriteResult
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := s.resolve(tx, c, access{action: actCancelRotateSecret, id: secretID})
		if err != nil {
			return err
		}
		if deleted(cur) {
			return errMarked()
		}
		at, rot, err := decodeRotation(cur)
		if err != nil {
			return err
		}
		if rot == nil || rot.LambdaARN == "" {
			return &Error{Kind: KindInvalidRequest, Message: msgNoRotationToCancel}
		}
		res = &WriteResult{ARN: cur.ARN, Name: cur.Name}
		if rot.Run != nil {
			res.VersionID = rot.Run.VersionID
		} else {
			res.VersionID = pendingElsewhere(cur.Stages)
		}
		rot.Enabled, rot.Run = false, nil
		at.Rotation = rot
		cur.Attrs = at.encode()
		cur.LastChanged = s.now()
		if err := tx.UpdateSecret(cur); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, cur.Account, cur.ARN, elems(res.ARN, res.Name, res.VersionID))
	})
	if err != nil {
		return nil, s.internal(ctx, "CancelRotateSecret", err)
	}
	return res, nil
}

// rotationMetadata fills the rotation members of DescribeSecret.
func rotationMetadata(m *Metadata, sec *storage.Secret) {
	_, rot, err := decodeRotation(sec)
	if err != nil || rot == nil {
		return
	}
	enabled := rot.Enabled
	m.RotationEnabled = &enabled
	m.RotationLambdaARN = rot.LambdaARN
	m.LastRotated = rot.LastRotated
	if sch := rot.schedule(); sch != nil {
		m.RotationRules = &RotationRules{AutomaticallyAfterDays: sch.afterDays(), ScheduleExpression: rot.Schedule, Duration: rot.Duration}
		if rot.Enabled {
			_, m.NextRotation = sch.nextWindow(rot.Base)
		}
	}
}

// noteNewVersion updates the rotation state of cur (whose record the caller
// saves) when a version written by PutSecretValue or UpdateSecret, or a
// filled placeholder, carries AWSCURRENT: a manual value change counts as a
// rotation for the schedule, and a run for another version is abandoned
// (its AWSPENDING label was dropped with the move).
func noteNewVersion(cur *storage.Secret, versionID string, now time.Time) error {
	if !slices.Contains(cur.Stages[versionID], StageCurrent) {
		return nil
	}
	at, rot, err := decodeRotation(cur)
	if err != nil || rot == nil {
		return err
	}
	rot.Base = now
	if rot.Run != nil && rot.Run.VersionID != versionID {
		rot.Run = nil
	}
	at.Rotation = rot
	cur.Attrs = at.encode()
	return nil
}

// checkRotationToken checks PutSecretValue's RotationToken against the run
// in progress on sec.
func checkRotationToken(sec *storage.Secret, token *string) error {
	if token == nil {
		return nil
	}
	_, rot, err := decodeRotation(sec)
	if err != nil {
		return err
	}
	if rot == nil || rot.Run == nil || rot.Run.Token != *token {
		return &Error{Kind: KindAccessDenied, Message: msgBadRotationToken}
	}
	return nil
}

// --- The engine's calls. They act on a secret by ARN, as coffer itself.

// RotationStatus returns the rotation state of the secret arn.
func (s *Service) RotationStatus(ctx context.Context, arn string) (*RotationStatus, error) {
	var st *RotationStatus
	err := s.store.View(ctx, func(tx storage.Tx) error {
		sec, err := tx.SecretByARN(arn)
		if err != nil {
			return notFound(err)
		}
		st, err = rotationStatus(sec)
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

func rotationStatus(sec *storage.Secret) (*RotationStatus, error) {
	_, rot, err := decodeRotation(sec)
	if err != nil {
		return nil, err
	}
	st := &RotationStatus{ARN: sec.ARN, Account: sec.Account, Region: sec.Region, Name: sec.Name, Deleted: deleted(sec),
		Current: stages(sec.Stages).holder(StageCurrent), Pending: stages(sec.Stages).holder(StagePending)}
	if rot == nil {
		return st, nil
	}
	st.Configured, st.Enabled, st.LambdaARN = true, rot.Enabled, rot.LambdaARN
	st.Days, st.Schedule, st.Duration, st.LastRotated = rot.Days, rot.Schedule, rot.Duration, rot.LastRotated
	st.Run = rot.Run
	if sch := rot.schedule(); sch != nil && rot.Enabled {
		st.NextWindowStart, st.NextRotation = sch.nextWindow(rot.Base)
	}
	return st, nil
}

// RotatingSecrets returns the status of every secret of account and region
// that has rotation configured.
func (s *Service) RotatingSecrets(ctx context.Context, account, region string) ([]*RotationStatus, error) {
	var out []*RotationStatus
	err := s.store.View(ctx, func(tx storage.Tx) error {
		q := storage.SecretQuery{Account: account, Region: region, IncludeDeleted: true, Limit: 500}
		for {
			page, err := tx.ListSecrets(q)
			if err != nil {
				return err
			}
			for _, sec := range page {
				if len(sec.Attrs) == 0 {
					continue
				}
				st, err := rotationStatus(sec)
				if err != nil {
					return err
				}
				if st.Configured {
					out = append(out, st)
				}
			}
			if len(page) < q.Limit {
				return nil
			}
			q.After = storage.CursorAt(page[len(page)-1])
		}
	})
	return out, err
}

// changeRun applies change to the rotation state of arn when its run is
// the one for versionID; otherwise it returns ErrRotationStopped.
func (s *Service) changeRun(ctx context.Context, arn, versionID string, change func(tx storage.Tx, cur *storage.Secret, rot *rotationAttrs) error) error {
	return s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := tx.SecretByARN(arn)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrRotationStopped
		}
		if err != nil {
			return err
		}
		at, rot, err := decodeRotation(cur)
		if err != nil {
			return err
		}
		if rot == nil || rot.Run == nil || rot.Run.VersionID != versionID || deleted(cur) {
			return ErrRotationStopped
		}
		if err := change(tx, cur, rot); err != nil {
			return err
		}
		at.Rotation = rot
		cur.Attrs = at.encode()
		return tx.UpdateSecret(cur)
	})
}

// RecordRotationStep journals that step of the run for versionID is about
// to be invoked.
func (s *Service) RecordRotationStep(ctx context.Context, arn, versionID, step string) error {
	now := s.now()
	return s.changeRun(ctx, arn, versionID, func(_ storage.Tx, _ *storage.Secret, rot *rotationAttrs) error {
		rot.Run.Step, rot.Run.Updated, rot.Run.NextAttempt = step, now, time.Time{}
		return nil
	})
}

// FailRotation records a failed attempt of the run for versionID. With
// retryAt set the run is retried then; otherwise the run is given up: for a
// validation run the temporary version goes, for a rotation the AWSPENDING
// version stays (a later RotateSecret answers that the rotation will be
// reattempted) and the next attempt waits for the next window.
func (s *Service) FailRotation(ctx context.Context, arn, versionID, msg string, retryAt time.Time) error {
	now := s.now()
	return s.changeRun(ctx, arn, versionID, func(tx storage.Tx, cur *storage.Secret, rot *rotationAttrs) error {
		run := rot.Run
		run.Attempts++
		run.LastError = msg
		run.Updated = now
		if !retryAt.IsZero() {
			run.NextAttempt = retryAt
			return nil
		}
		if run.Validation {
			rot.Run = nil
			return dropVersion(tx, cur, versionID)
		}
		run.Attempts = 0
		run.NextAttempt = time.Time{}
		if sch := rot.schedule(); sch != nil && rot.Enabled {
			run.NextAttempt, _ = sch.nextWindow(now)
		} else {
			run.NextAttempt = now.Add(day)
		}
		return nil
	})
}

// dropVersion removes the temporary version of a validation run: its
// AWSPENDING label and, when it has no other label, the version.
func dropVersion(tx storage.Tx, cur *storage.Secret, versionID string) error {
	st := stages(cur.Stages).clone()
	if st.holder(StagePending) == versionID && st.holder(StageCurrent) != versionID {
		st.detach(StagePending)
	}
	cur.Stages = st
	if len(st[versionID]) > 0 {
		return nil
	}
	if err := tx.DeleteVersion(cur.ARN, versionID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// CompleteRotation finalises the run for versionID after its last step:
// a rotation must have made versionID AWSCURRENT; AWSPENDING is removed,
// LastRotatedDate set and the schedule restarts from now. A validation run
// removes its temporary version.
func (s *Service) CompleteRotation(ctx context.Context, arn, versionID string) error {
	now := s.now()
	var stale bool
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := tx.SecretByARN(arn)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrRotationStopped
		}
		if err != nil {
			return err
		}
		at, rot, err := decodeRotation(cur)
		if err != nil {
			return err
		}
		if rot == nil || rot.Run == nil || rot.Run.VersionID != versionID {
			return ErrRotationStopped
		}
		st := stages(cur.Stages).clone()
		if rot.Run.Validation {
			if err := dropVersion(tx, cur, versionID); err != nil {
				return err
			}
			st = cur.Stages
			rot.Run = nil
		} else {
			if st.holder(StageCurrent) != versionID {
				stale = true
				return nil
			}
			if st.holder(StagePending) == versionID {
				st.detach(StagePending)
			}
			rot.Run = nil
			rot.LastRotated, rot.Base = now, now
			cur.LastChanged = now
		}
		cur.Stages = st
		at.Rotation = rot
		cur.Attrs = at.encode()
		return tx.UpdateSecret(cur)
	})
	if err != nil {
		return err
	}
	if stale {
		return errors.New("finishSecret did not make the pending version AWSCURRENT")
	}
	return nil
}

// BeginRotation starts a run on the secret arn with its stored settings
// (the schedule, coffer rotate): it reattempts the unfinished rotation
// whose AWSPENDING version is still there, or creates a new AWSPENDING
// placeholder. It returns the run; a run already in progress is returned
// as it is.
func (s *Service) BeginRotation(ctx context.Context, arn string) (*RotationRun, error) {
	now := s.now()
	var run *RotationRun
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := tx.SecretByARN(arn)
		if err != nil {
			return notFound(err)
		}
		if deleted(cur) {
			return errMarked()
		}
		at, rot, err := decodeRotation(cur)
		if err != nil {
			return err
		}
		if rot == nil || rot.LambdaARN == "" {
			return &Error{Kind: KindInvalidRequest, Message: msgNoRotationFunction}
		}
		if rot.Run != nil {
			r := *rot.Run
			run = &r
			return nil
		}
		run = &RotationRun{Token: newRotationToken(), Step: "createSecret", Started: now, Updated: now}
		if p := pendingElsewhere(cur.Stages); p != "" {
			run.VersionID = p
		} else {
			run.VersionID = uuid.NewString()
			st := stages(cur.Stages).clone()
			st.attach(StagePending, run.VersionID)
			if st.count() > maxLabels {
				return &Error{Kind: KindLimitExceeded, Message: msgTooManyLabels}
			}
			if err := s.purgeVersions(tx, cur.ARN, st, now); err != nil {
				return err
			}
			if err := tx.InsertVersion(&storage.Version{SecretARN: cur.ARN, VersionID: run.VersionID, Created: now, KmsKeyID: cur.KmsKeyID}); err != nil {
				return err
			}
			cur.Stages = st
		}
		rot.Run = run
		r := *run
		run = &r
		at.Rotation = rot
		cur.Attrs = at.encode()
		return tx.UpdateSecret(cur)
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}
