package audit

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestAppendRecordIsJSONMarshal: the hand-written encoder writes exactly
// json.Marshal's bytes, for plain records and for every kind of string and
// member it must escape or hand over.
func TestAppendRecordIsJSONMarshal(t *testing.T) {
	odd := []string{"", "plain", `quo"te`, `back\slash`, "<b>&amp;</b>", "tab\there", "nl\n", "\x00\x01\x1f",
		"\x7f", "é ünïcödé", "\u2028\u2029", "bad \xff utf8", "emoji 🔑", strings.Repeat("x", 3000)}
	recs := []*Record{
		{},
		readRecordFixture(),
		{
			EventVersion: EventVersion, EventName: "PutSecretValue", ErrorCode: "AccessDeniedException",
			ErrorMessage: "User: arn:aws:iam::123456789012:user/app is not authorized <&>",
			UserIdentity: &UserIdentity{Type: "AWSService", InvokedBy: "secretsmanager.amazonaws.com"},
			RequestParameters: map[string]any{"secretId": "a", "versionStages": []any{"AWSCURRENT"}, "n": 3.5,
				"nested": map[string]any{"k": true, "z": nil}},
			ResponseElements:    map[string]any{},
			AdditionalEventData: map[string]any{"b": "2", "a": "1", "c": "<"},
			Resources:           []Resource{{ARN: "arn:1", AccountID: "1"}, {ARN: "arn:2", AccountID: "2", Type: "T"}},
			ReadOnly:            true, ManagementEvent: true,
		},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return odd[rng.IntN(len(odd))] }
	for range 500 {
		r := &Record{
			EventVersion: pick(), EventTime: pick(), EventSource: pick(), EventName: pick(), AWSRegion: pick(),
			SourceIPAddress: pick(), UserAgent: pick(), ErrorCode: pick(), ErrorMessage: pick(),
			RequestID: pick(), EventID: pick(), EventType: pick(), EventCategory: pick(), RecipientAccountID: pick(),
			ReadOnly: rng.IntN(2) == 0, ManagementEvent: rng.IntN(2) == 0,
		}
		if rng.IntN(3) > 0 {
			r.UserIdentity = &UserIdentity{Type: pick(), PrincipalID: pick(), ARN: pick(), AccountID: pick(),
				AccessKeyID: pick(), UserName: pick(), InvokedBy: pick()}
		}
		for range rng.IntN(3) {
			if r.RequestParameters == nil {
				r.RequestParameters = map[string]any{}
			}
			r.RequestParameters[pick()] = pick()
		}
		if rng.IntN(2) == 0 {
			r.ResponseElements = map[string]any{pick(): pick(), "count": rng.IntN(9)}
		}
		for range rng.IntN(3) {
			r.Resources = append(r.Resources, Resource{ARN: pick(), AccountID: pick(), Type: pick()})
		}
		recs = append(recs, r)
	}
	for i, r := range recs {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRecord(nil, r)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestAppendRecordRefusesWhatJSONRefuses: a member json cannot encode is
// an error, not a half-written record.
func TestAppendRecordRefusesWhatJSONRefuses(t *testing.T) {
	r := &Record{RequestParameters: map[string]any{"c": make(chan int)}}
	if _, err := appendRecord(nil, r); err == nil {
		t.Fatal("a channel in requestParameters encoded without an error")
	}
}

func readRecordFixture() *Record {
	return &Record{
		EventVersion: EventVersion, EventSource: SourceSecretsManager, EventName: "GetSecretValue",
		EventTime: "2026-11-22T05:09:52Z", AWSRegion: "us-east-1", SourceIPAddress: "127.0.0.1",
		UserAgent: "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.26.8 md/GOOS#linux md/GOARCH#amd64 api/secretsmanager#1.35.4",
		RequestID: "0e0b5c7a-2a4b-4f36-9d77-8f8f7f0a6c11", EventID: "3c5a6754-71e1-42ca-be17-db9b6488c749", ReadOnly: true,
		UserIdentity: &UserIdentity{Type: "IAMUser", PrincipalID: "AIDAEXAMPLEUSERID0001", ARN: "arn:aws:iam::123456789012:user/bench-app",
			AccountID: "123456789012", AccessKeyID: "AKIAEXAMPLEKEY000001", UserName: "bench-app"},
		RequestParameters: map[string]any{"secretId": "bench/app/secret-17"},
		Resources:         []Resource{{ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench/app/secret-17-AbCdEf", AccountID: "123456789012", Type: "AWS::SecretsManager::Secret"}},
		EventType:         TypeAPICall, ManagementEvent: true, EventCategory: categoryManagement,
		RecipientAccountID: "123456789012",
	}
}

func BenchmarkEncode(b *testing.B) {
	r := readRecordFixture()
	b.Run("appendRecord", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := appendRecord(make([]byte, 0, 1024), r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
