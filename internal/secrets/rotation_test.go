package secrets

import (
	"context"
	"sync"
	"testing"
)

// engine stands in for internal/rotation (which imports this package): it
// knows one function and records the runs it is asked to start.
type engine struct {
	mu      sync.Mutex
	started []string
}

func (e *engine) Check(_ context.Context, _, _, arn string) error {
	if arn != "arn:aws:lambda:us-east-1:"+acctA+":function:known" {
		return errNotFound()
	}
	return nil
}

func (e *engine) Start(arn string) { e.mu.Lock(); e.started = append(e.started, arn); e.mu.Unlock() }

// RotateSecret authorizes secretsmanager:RotateSecret with its condition
// keys: RotationLambdaARN, RotateImmediately (true when omitted) and
// ModifyRotationRules.
func TestRotateSecretConditionKeys(t *testing.T) {
	s, _, _ := newTestService(t)
	eng := &engine{}
	s.SetRotations(eng)
	ctx := context.Background()
	root := SystemCaller("aws", acctA, "us-east-1")
	if _, err := s.CreateSecret(ctx, root, CreateInput{Name: "db", SecretString: ptr("v"), ClientRequestToken: token(0)}); err != nil {
		t.Fatal(err)
	}
	fn := "arn:aws:lambda:us-east-1:" + acctA + ":function:known"
	u := userCaller(t, acctA, "ops", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"secretsmanager:RotateSecret","Resource":"*",
		 "Condition":{"Bool":{"secretsmanager:RotateImmediately":"false","secretsmanager:ModifyRotationRules":"true"},
		              "ArnLike":{"secretsmanager:RotationLambdaARN":"arn:aws:lambda:*:*:function:known"}}}]}`)
	days := &RotationRules{AutomaticallyAfterDays: 10}
	wantKind(t, "RotateImmediately omitted", func() error {
		_, err := s.RotateSecret(ctx, u, RotateInput{SecretID: "db", RotationLambdaARN: &fn, Rules: days})
		return err
	}(), KindAccessDenied, "is not authorized to perform: secretsmanager:RotateSecret")
	wantKind(t, "no rules", func() error {
		_, err := s.RotateSecret(ctx, u, RotateInput{SecretID: "db", RotationLambdaARN: &fn, RotateImmediately: new(false)})
		return err
	}(), KindAccessDenied, "is not authorized")
	res, err := s.RotateSecret(ctx, u, RotateInput{SecretID: "db", RotationLambdaARN: &fn, RotateImmediately: new(false), Rules: days})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.DescribeSecret(ctx, root, "db")
	if err != nil {
		t.Fatal(err)
	}
	// The validation run's copy is AWSPENDING until the engine runs it.
	if got := m.VersionIDsToStages[res.VersionID]; len(got) != 1 || got[0] != StagePending || len(eng.started) != 1 {
		t.Errorf("validation copy labels %v, runs started %v", got, eng.started)
	}
	sv, err := s.GetSecretValue(ctx, root, GetValueInput{SecretID: "db", VersionID: &res.VersionID})
	if err != nil || sv.Value.Text() != "v" {
		t.Errorf("the validation copy does not hold the current value (err %v)", err)
	}
}

// PutSecretValue fills a rotation's placeholder and keeps it AWSPENDING;
// a second write with another value is a token conflict.
func TestFillPlaceholder(t *testing.T) {
	s, _, _ := newTestService(t)
	s.SetRotations(&engine{})
	ctx := context.Background()
	root := SystemCaller("aws", acctA, "us-east-1")
	if _, err := s.CreateSecret(ctx, root, CreateInput{Name: "db", SecretString: ptr("v"), ClientRequestToken: token(0)}); err != nil {
		t.Fatal(err)
	}
	fn := "arn:aws:lambda:us-east-1:" + acctA + ":function:known"
	res, err := s.RotateSecret(ctx, root, RotateInput{SecretID: "db", RotationLambdaARN: &fn, ClientRequestToken: token(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.GetSecretValue(ctx, root, GetValueInput{SecretID: "db", VersionID: &res.VersionID, VersionStage: ptr(StagePending)})
	wantKind(t, "placeholder read", err, KindResourceNotFound, "")
	put, err := s.PutSecretValue(ctx, root, PutInput{SecretID: "db", ClientRequestToken: token(1), SecretString: ptr("new"), VersionStages: []string{StagePending}})
	if err != nil {
		t.Fatal(err)
	}
	if len(put.Stages) != 1 || put.Stages[0] != StagePending {
		t.Errorf("labels %v", put.Stages)
	}
	if _, err := s.PutSecretValue(ctx, root, PutInput{SecretID: "db", ClientRequestToken: token(1), SecretString: ptr("new"), VersionStages: []string{StagePending}}); err != nil {
		t.Errorf("repeating the same write: %v", err)
	}
	_, err = s.PutSecretValue(ctx, root, PutInput{SecretID: "db", ClientRequestToken: token(1), SecretString: ptr("other"), VersionStages: []string{StagePending}})
	wantKind(t, "other value", err, KindResourceExists, "")
	sv, err := s.GetSecretValue(ctx, root, GetValueInput{SecretID: "db", VersionStage: ptr(StagePending)})
	if err != nil || sv.Value.Text() != "new" {
		t.Errorf("pending value (err %v)", err)
	}
}
