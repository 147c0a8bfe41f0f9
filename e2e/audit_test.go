package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// auditRecord is what the tests read of a record printed by
// `coffer audit lookup`.
type auditRecord struct {
	EventName    string `json:"eventName"`
	EventSource  string `json:"eventSource"`
	EventType    string `json:"eventType"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	ReadOnly     bool   `json:"readOnly"`
	RequestID    string `json:"requestID"`
	UserIdentity *struct {
		Type        string `json:"type"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		AccessKeyID string `json:"accessKeyId"`
		InvokedBy   string `json:"invokedBy"`
	} `json:"userIdentity"`
	RequestParameters  map[string]any `json:"requestParameters"`
	ResponseElements   map[string]any `json:"responseElements"`
	RecipientAccountID string         `json:"recipientAccountId"`
}

// auditLookup prints the stopped server's trail with the CLI.
func auditLookup(t *testing.T, s *server) (raw string, recs []auditRecord) {
	t.Helper()
	raw = runCoffer(t, nil, "audit", "lookup", "--data-dir", s.DataDir)
	for _, line := range strings.Split(strings.TrimSpace(raw), "\n") {
		if line == "" {
			continue
		}
		var r auditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit lookup printed a line that is not a record: %v", err)
		}
		recs = append(recs, r)
	}
	return raw, recs
}

// requestID is the x-amzn-RequestId of a call's response, success or not.
func requestID(t *testing.T, md middleware.Metadata, err error) string {
	t.Helper()
	if err != nil {
		var re *awshttp.ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("no response: %v", err)
		}
		return re.ServiceRequestID()
	}
	id, ok := awsmiddleware.GetRequestIDMetadata(md)
	if !ok || id == "" {
		t.Fatal("response without x-amzn-RequestId")
	}
	return id
}

func errCode(err error) string {
	if err == nil {
		return ""
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		var ae interface{ ErrorCode() string }
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
	}
	return "?"
}

// Every call through the front door leaves exactly one record, with the
// operation's name, readOnly, the error code of a failure, the caller and
// the request id the response carried.
func TestAuditOneRecordPerCall(t *testing.T) {
	s := startServer(t, "")
	ctx := ctx(t)
	c := s.client(testRegion)
	token := func(b byte) *string { return aws.String(strings.Repeat(string(rune('a'+b)), 32)) }

	type call struct {
		event    string
		readOnly bool
		code     string // "" for success
		id       string
		anon     bool // refused before the caller was known
	}
	var calls []call
	do := func(event string, readOnly bool, md middleware.Metadata, err error) {
		t.Helper()
		calls = append(calls, call{event: event, readOnly: readOnly, code: errCode(err), id: requestID(t, md, err)})
	}
	var md middleware.Metadata
	var err error

	cr, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("aud"), SecretString: aws.String("v1"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	do("CreateSecret", false, cr.ResultMetadata, nil)
	{
		o, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("aud"), SecretString: aws.String("other")})
		if o != nil {
			md = o.ResultMetadata
		}
		do("CreateSecret", false, md, err)
	}
	if o, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("aud2"), SecretString: aws.String("x")}); err != nil {
		t.Fatal(err)
	} else {
		do("CreateSecret", false, o.ResultMetadata, nil)
	}
	{
		o, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("aud")})
		if err != nil {
			t.Fatal(err)
		}
		do("DescribeSecret", true, o.ResultMetadata, nil)
	}
	{
		o, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("aud")})
		if err != nil {
			t.Fatal(err)
		}
		do("GetSecretValue", true, o.ResultMetadata, nil)
		_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("missing")})
		do("GetSecretValue", true, middleware.Metadata{}, err)
	}
	pv, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("aud"), SecretString: aws.String("v2"), ClientRequestToken: token(1)})
	if err != nil {
		t.Fatal(err)
	}
	do("PutSecretValue", false, pv.ResultMetadata, nil)
	{ // an idempotent retry writes nothing but is still a call
		o, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("aud"), SecretString: aws.String("v2"), ClientRequestToken: token(1)})
		if err != nil {
			t.Fatal(err)
		}
		do("PutSecretValue", false, o.ResultMetadata, nil)
	}
	{
		o, err := c.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("aud"), Description: aws.String("d")})
		if err != nil {
			t.Fatal(err)
		}
		do("UpdateSecret", false, o.ResultMetadata, nil)
	}
	{
		o, err := c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("aud"),
			VersionStage: aws.String("blue"), MoveToVersionId: pv.VersionId})
		if err != nil {
			t.Fatal(err)
		}
		do("UpdateSecretVersionStage", false, o.ResultMetadata, nil)
	}
	{
		o, err := c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
		if err != nil {
			t.Fatal(err)
		}
		do("ListSecrets", true, o.ResultMetadata, nil)
		o2, err := c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("aud")})
		if err != nil {
			t.Fatal(err)
		}
		do("ListSecretVersionIds", true, o2.ResultMetadata, nil)
	}
	{
		o, err := c.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("aud"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		if err != nil {
			t.Fatal(err)
		}
		do("TagResource", false, o.ResultMetadata, nil)
		o2, err := c.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String("aud"), TagKeys: []string{"k"}})
		if err != nil {
			t.Fatal(err)
		}
		do("UntagResource", false, o2.ResultMetadata, nil)
	}
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	{
		o, err := c.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String("aud"), ResourcePolicy: aws.String(pol)})
		if err != nil {
			t.Fatal(err)
		}
		do("PutResourcePolicy", false, o.ResultMetadata, nil)
		o2, err := c.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String("aud")})
		if err != nil {
			t.Fatal(err)
		}
		do("GetResourcePolicy", true, o2.ResultMetadata, nil)
		o3, err := c.ValidateResourcePolicy(ctx, &secretsmanager.ValidateResourcePolicyInput{ResourcePolicy: aws.String(pol)})
		if err != nil {
			t.Fatal(err)
		}
		do("ValidateResourcePolicy", true, o3.ResultMetadata, nil)
		o4, err := c.DeleteResourcePolicy(ctx, &secretsmanager.DeleteResourcePolicyInput{SecretId: aws.String("aud")})
		if err != nil {
			t.Fatal(err)
		}
		do("DeleteResourcePolicy", false, o4.ResultMetadata, nil)
	}
	{
		o, err := c.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(20)})
		if err != nil {
			t.Fatal(err)
		}
		do("GetRandomPassword", true, o.ResultMetadata, nil)
	}
	batchID := ""
	{
		o, err := c.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: []string{"aud", "aud2", "nope"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(o.SecretValues) != 2 {
			t.Fatalf("BatchGetSecretValue returned %d values, want 2", len(o.SecretValues))
		}
		do("BatchGetSecretValue", true, o.ResultMetadata, nil)
		batchID = calls[len(calls)-1].id
	}
	{
		_, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("aud"),
			RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:123456789012:function:none")})
		if err == nil {
			t.Fatal("RotateSecret with an unknown function succeeded")
		}
		do("RotateSecret", false, middleware.Metadata{}, err)
		_, err = c.CancelRotateSecret(ctx, &secretsmanager.CancelRotateSecretInput{SecretId: aws.String("aud")})
		if err == nil {
			t.Fatal("CancelRotateSecret without rotation succeeded")
		}
		do("CancelRotateSecret", false, middleware.Metadata{}, err)
	}
	{
		_, err := c.ReplicateSecretToRegions(ctx, &secretsmanager.ReplicateSecretToRegionsInput{SecretId: aws.String("aud"),
			AddReplicaRegions: []types.ReplicaRegionType{{Region: aws.String("eu-west-1")}}})
		do("ReplicateSecretToRegions", false, middleware.Metadata{}, err)
	}
	{
		o, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("aud"), RecoveryWindowInDays: aws.Int64(7)})
		if err != nil {
			t.Fatal(err)
		}
		do("DeleteSecret", false, o.ResultMetadata, nil)
		o2, err := c.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String("aud")})
		if err != nil {
			t.Fatal(err)
		}
		do("RestoreSecret", false, o2.ResultMetadata, nil)
		o3, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("ghost"), ForceDeleteWithoutRecovery: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		do("DeleteSecret", false, o3.ResultMetadata, nil)
		_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("aud"), RecoveryWindowInDays: aws.Int64(3)})
		do("DeleteSecret", false, middleware.Metadata{}, err) // validation failure
	}
	{ // refused before the domain: a wrong secret key, an unknown key
		_, err := s.clientWith(testRegion, testKeyID, "wrong"+testSecretKey[5:]).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("aud")})
		do("DescribeSecret", true, middleware.Metadata{}, err)
		calls[len(calls)-1].anon = true
		_, err = s.clientWith(testRegion, "AKIAUNKNOWNUNKNOWN00", testSecretKey).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("aud")})
		do("GetSecretValue", true, middleware.Metadata{}, err)
		calls[len(calls)-1].anon = true
	}
	stsCalls := 0
	{
		o, err := s.stsClient(testKeyID, testSecretKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		do("GetCallerIdentity", true, o.ResultMetadata, nil)
		_, err = s.stsClient(testKeyID, testSecretKey).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::123456789012:role/none"), RoleSessionName: aws.String("s")})
		if err == nil {
			t.Fatal("AssumeRole of a missing role succeeded")
		}
		do("AssumeRole", false, middleware.Metadata{}, err)
		stsCalls = 2
	}
	s.Stop()

	_, recs := auditLookup(t, s)
	byID := map[string][]auditRecord{}
	for _, r := range recs {
		byID[r.RequestID] = append(byID[r.RequestID], r)
	}
	want := len(calls) + 2 // BatchGetSecretValue adds one GetSecretValue per value
	calls0, cancels := 0, 0
	for _, r := range recs {
		switch {
		case r.EventType == "AwsApiCall":
			calls0++
		case r.EventName == "CancelSecretVersionDelete":
			cancels++ // RestoreSecret: one service event per restored version
		case r.EventName == "Bootstrap" && r.EventType == "CofferAdminEvent":
			// The server's first start (TestAuditAdministrativeCommands).
		default:
			t.Errorf("unexpected record %s (%s)", r.EventName, r.EventType)
		}
	}
	if calls0 != want {
		t.Errorf("%d API call records, want %d (one per call plus the batch's values)", calls0, want)
	}
	if cancels == 0 {
		t.Error("RestoreSecret left no CancelSecretVersionDelete event")
	}
	rootARN := "arn:aws:iam::" + testAccount + ":root"
	for i, cl := range calls {
		got := byID[cl.id]
		if cl.id == batchID {
			n := 0
			for _, r := range got {
				if r.EventName == "GetSecretValue" {
					n++
					if !r.ReadOnly || r.UserIdentity == nil || r.UserIdentity.ARN != rootARN {
						t.Errorf("batch's GetSecretValue record: readOnly %v, identity %+v", r.ReadOnly, r.UserIdentity)
					}
				}
			}
			if n != 2 {
				t.Errorf("BatchGetSecretValue: %d GetSecretValue records, want 2", n)
			}
			var rest []auditRecord
			for _, r := range got {
				if r.EventName != "GetSecretValue" {
					rest = append(rest, r)
				}
			}
			got = rest
		}
		if len(got) != 1 {
			t.Errorf("call %d %s (request %s): %d records, want 1", i, cl.event, cl.id, len(got))
			continue
		}
		r := got[0]
		if r.EventName != cl.event || r.ReadOnly != cl.readOnly || r.ErrorCode != cl.code || r.EventType != "AwsApiCall" {
			t.Errorf("call %d: record {%s readOnly=%v errorCode=%q type=%s}, want {%s readOnly=%v errorCode=%q AwsApiCall}",
				i, r.EventName, r.ReadOnly, r.ErrorCode, r.EventType, cl.event, cl.readOnly, cl.code)
		}
		if cl.code != "" && r.ErrorMessage == "" && cl.code != "UnknownOperationException" {
			t.Errorf("call %d %s: failure %s recorded without errorMessage", i, cl.event, cl.code)
		}
		wantSource := "secretsmanager.amazonaws.com"
		if i >= len(calls)-stsCalls {
			wantSource = "sts.amazonaws.com"
		}
		if r.EventSource != wantSource {
			t.Errorf("call %d %s: eventSource %s, want %s", i, cl.event, r.EventSource, wantSource)
		}
		switch {
		case r.UserIdentity == nil:
			t.Errorf("call %d %s: no userIdentity", i, cl.event)
		case cl.anon:
			if r.UserIdentity.AccessKeyID == "" || r.UserIdentity.ARN != "" {
				t.Errorf("call %d %s refused before authentication: identity %+v, want the access key id alone", i, cl.event, *r.UserIdentity)
			}
		default:
			u := r.UserIdentity
			if u.Type != "Root" || u.ARN != rootARN || u.AccountID != testAccount || u.AccessKeyID != testKeyID {
				t.Errorf("call %d %s: identity %+v", i, cl.event, *u)
			}
			if r.RecipientAccountID != testAccount {
				t.Errorf("call %d %s: recipientAccountId %q", i, cl.event, r.RecipientAccountID)
			}
		}
		if cl.event == "GetSecretValue" && r.ResponseElements != nil {
			t.Errorf("GetSecretValue record has responseElements %v, want null", r.ResponseElements)
		}
		if cl.event == "DeleteSecret" && cl.code == "" && r.ResponseElements["deletionDate"] == nil {
			t.Errorf("DeleteSecret record without responseElements.deletionDate: %v", r.ResponseElements)
		}
	}
	if r := byID[calls[0].id]; len(r) == 1 {
		p := r[0].RequestParameters
		if p["name"] != "aud" || p["tags"] == nil {
			t.Errorf("CreateSecret requestParameters %v: want name and tags", p)
		}
		if _, ok := p["secretString"]; ok {
			t.Error("CreateSecret record holds secretString")
		}
		if r[0].ResponseElements["arn"] != *cr.ARN {
			t.Errorf("CreateSecret responseElements %v, want arn %s", r[0].ResponseElements, *cr.ARN)
		}
	}
}

// A marked value pushed through every operation that carries a secret
// value, in requests, responses and error bodies, is nowhere on disk
// (database, WAL, sinks), in the server's output or in the audit records;
// nor is a password GetRandomPassword generated.
func TestAuditCanaryNeverRecorded(t *testing.T) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	canary := "CANARY-" + hex.EncodeToString(b)
	dir := t.TempDir()
	s := startServer(t, dir, "COFFER_AUDIT_STDOUT=true", "COFFER_AUDIT_FILE="+filepath.Join(dir, "audit.jsonl"), "COFFER_LOG_LEVEL=debug")
	ctx := ctx(t)
	c := s.client(testRegion)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("call failed: %s", errCode(err))
		}
	}
	_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("canary"), SecretString: aws.String(canary + "-create")})
	must(err)
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("canary-bin"), SecretBinary: []byte(canary + "-binary")})
	must(err)
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("canary"), SecretString: aws.String(canary + "-put")})
	must(err)
	_, err = c.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("canary"), SecretString: aws.String(canary + "-update")})
	must(err)
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("canary")})
	must(err)
	_, err = c.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: []string{"canary", "canary-bin"}})
	must(err)
	pw, err := c.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(40), ExcludePunctuation: aws.Bool(true)})
	must(err)
	password := *pw.RandomPassword
	// Failures carrying the value: a missing secret, both value members,
	// a value over the size limit (ValidationException).
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("missing"), SecretString: aws.String(canary + "-missing")})
	if err == nil {
		t.Fatal("PutSecretValue on a missing secret succeeded")
	}
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("canary"), SecretString: aws.String(canary + "-both"), SecretBinary: []byte(canary)})
	if err == nil {
		t.Fatal("PutSecretValue with both values succeeded")
	}
	big := canary + "-big-" + strings.Repeat("x", 65536)
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("big"), SecretString: aws.String(big)})
	if err == nil {
		t.Fatal("CreateSecret with a value over 64 KiB succeeded")
	} else if strings.Contains(err.Error(), canary) {
		t.Error("an error body quotes the secret value")
	}
	live, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()

	raw, recs := auditLookup(t, s)
	if len(recs) < 10 {
		t.Fatalf("%d audit records; the search would look at nothing", len(recs))
	}
	needles := map[string][]byte{
		"the canary":             []byte(canary),
		"the canary in base64":   []byte(base64.StdEncoding.EncodeToString([]byte(canary + "-binary"))[:16]),
		"the generated password": []byte(password),
	}
	search := func(where string, hay []byte) {
		t.Helper()
		for what, n := range needles {
			if bytes.Contains(hay, n) {
				t.Errorf("%s holds %s", where, what)
			}
		}
	}
	search("audit lookup output", []byte(raw))
	search("the audit file sink while serving", live)
	search("the server's stdout", []byte(s.Stdout()))
	search("the server's stderr", []byte(s.Stderr()))
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		search(path, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("%d files in the data directory; the search looked at nothing useful", files)
	}
	if !strings.Contains(s.Stdout(), `"eventName":"GetRandomPassword"`) {
		t.Error("the stdout sink printed no GetRandomPassword record: the search of stdout proves little")
	}
}

// With auditing turned off (benchmarks only) the server records nothing.
func TestAuditOff(t *testing.T) {
	s := startServer(t, "", "COFFER_AUDIT=off")
	ctx := ctx(t)
	if _, err := s.client(testRegion).ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if _, recs := auditLookup(t, s); len(recs) != 0 {
		t.Errorf("%d records with auditing off, want 0", len(recs))
	}
}

// TestAuditReadsSurviveACrash kills coffer (SIGKILL) while it serves reads
// from many clients and checks that every read that returned a value is in
// the trail, once, when the data directory is opened again: a read's
// record is durable (in the audit journal) before the value leaves. With
// the default (COFFER_AUDIT_SYNC=always) the record is fdatasynced first;
// with COFFER_AUDIT_SYNC=10ms it is only written to the journal file (the
// operating system's cache) first, which a crash of coffer alone must not
// lose either.
func TestAuditReadsSurviveACrash(t *testing.T) {
	t.Run("always", func(t *testing.T) { auditReadsSurviveACrash(t) })
	t.Run("sync=10ms", func(t *testing.T) { auditReadsSurviveACrash(t, "COFFER_AUDIT_SYNC=10ms") })
}

// auditReadsSurviveACrash is TestAuditReadsSurviveACrash on a server
// started with env added to its environment.
func auditReadsSurviveACrash(t *testing.T, env ...string) {
	s := startServer(t, "", env...)
	c := s.client(testRegion)
	const name = "crash/reads"
	if _, err := c.CreateSecret(ctx(t), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String("crash-value-5d1e"),
	}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	served := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)},
					func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
				if err != nil {
					return // the server is gone
				}
				id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
				if !ok {
					t.Error("a response without x-amzn-RequestId")
					return
				}
				mu.Lock()
				served[id] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	s.Kill()
	close(stop)
	wg.Wait()
	if len(served) < 10 {
		t.Fatalf("only %d reads were served before the crash; the test wants many", len(served))
	}
	_, recs := auditLookup(t, s) // opening the store moves the journal into the trail
	seen := map[string]int{}
	for _, r := range recs {
		if r.EventName == "GetSecretValue" {
			seen[r.RequestID]++
		}
	}
	for id := range served {
		switch seen[id] {
		case 1:
		case 0:
			t.Errorf("the read %s returned a value before the crash but has no record", id)
		default:
			t.Errorf("the read %s has %d records, want 1", id, seen[id])
		}
	}
	t.Logf("%d reads served before the crash, all in the trail once", len(served))
	runCoffer(t, nil, "audit", "verify", "--data-dir", s.DataDir)
}

// TestAuditAdministrativeCommands runs the CLI's administrative commands
// on a stopped server's data directory and checks each left one record
// (eventSource coffer, eventType CofferAdminEvent, the operator as caller),
// a refused one with its error, none naming a key, and the chain verifies.
func TestAuditAdministrativeCommands(t *testing.T) {
	s := startServer(t, "")
	s.Stop()
	dir := s.DataDir
	// A second start creates nothing, and records nothing.
	s = startServer(t, dir)
	s.Stop()
	created := runCoffer(t, nil, "account", "create", "--id", "210987654321", "--data-dir", dir)
	runCoffer(t, nil, "functions", "create", "--name", "adminfn", "--exec", "/bin/true", "--data-dir", dir, "--account", testAccount)
	if out, err := exec.Command(binPath, "functions", "create", "--name", "adminfn", "--exec", "/bin/true", "--data-dir", dir, "--account", testAccount).CombinedOutput(); err == nil {
		t.Fatalf("creating a function twice succeeded:\n%s", out)
	}
	runCoffer(t, nil, "functions", "delete", "--name", "adminfn", "--data-dir", dir, "--account", testAccount)
	runCoffer(t, nil, "backup", filepath.Join(t.TempDir(), "b.jsonl"), "--data-dir", dir)

	raw, recs := auditLookup(t, s)
	var admin []auditRecord
	for _, r := range recs {
		if r.EventSource == "coffer" {
			admin = append(admin, r)
		}
	}
	want := []struct{ name, code string }{
		{"Bootstrap", ""}, // the server's first start: the account and its root key
		{"AccountCreate", ""}, {"FunctionCreate", ""}, {"FunctionCreate", "CommandFailed"}, {"FunctionDelete", ""}, {"Backup", ""},
	}
	if len(admin) != len(want) {
		t.Fatalf("%d administrative records, want %d: %+v", len(admin), len(want), admin)
	}
	for i, w := range want {
		r := admin[i]
		by := "coffer-cli"
		if i == 0 {
			by = "coffer-server"
		}
		if r.EventName != w.name || r.ErrorCode != w.code || r.EventType != "CofferAdminEvent" ||
			r.UserIdentity == nil || r.UserIdentity.InvokedBy != by {
			t.Errorf("administrative record %d = %s (error %q, type %s, identity %+v), want %s (error %q) by %s",
				i, r.EventName, r.ErrorCode, r.EventType, r.UserIdentity, w.name, w.code, by)
		}
	}
	if admin[0].RecipientAccountID != testAccount {
		t.Errorf("Bootstrap record for account %q, want %s", admin[0].RecipientAccountID, testAccount)
	}
	if fn := admin[2].ResponseElements; fn["functionName"] != "adminfn" || fn["kind"] != "exec" {
		t.Errorf("FunctionCreate responseElements = %v, want functionName adminfn, kind exec", fn)
	}
	// The new account's secret key, printed once by account create, is in
	// no record.
	key := ""
	for _, line := range strings.Split(created, "\n") {
		if _, k, ok := strings.Cut(line, "AWS_SECRET_ACCESS_KEY="); ok {
			key = strings.TrimSpace(k)
		}
	}
	if key == "" {
		t.Fatalf("account create printed no secret access key:\n%s", created)
	}
	if strings.Contains(raw, key) {
		t.Error("the trail holds the new account's secret access key")
	}
	runCoffer(t, nil, "audit", "verify", "--data-dir", dir)
}
