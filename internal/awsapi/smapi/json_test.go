package smapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTimestampMarshal(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1523477145, 713e6), "1523477145.713"},
		{time.Unix(1523923200, 0), "1523923200"},
		{time.Unix(1523477145, 100e6), "1523477145.1"},
		{time.Unix(1523477145, 10e6), "1523477145.01"},
		{time.Unix(1523477145, 713_400_000), "1523477145.713"}, // rounded down
		{time.Unix(1523477145, 713_500_000), "1523477145.714"}, // rounded up
		{time.Unix(1523477145, 999_600_000), "1523477146"},     // carries into the second
		{time.Unix(0, 0), "0"},
		{time.Unix(-1, 500e6), "-0.5"},
		{time.Unix(1523477145, 713e6).In(time.FixedZone("X", 3600)), "1523477145.713"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Timestamp{tt.t})
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("Marshal(%v) = %s, want %s", tt.t, b, tt.want)
		}
		var back Timestamp
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if !back.Equal(tt.t.Round(time.Millisecond)) {
			t.Errorf("round trip of %s = %v, want %v", b, back.Time, tt.t.Round(time.Millisecond))
		}
	}
}

func TestTimestampUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"1523477145.713", time.Unix(1523477145, 713e6)},
		{"1523477145", time.Unix(1523477145, 0)},
		{"1523477145.0", time.Unix(1523477145, 0)},
		{"1.523477145713E9", time.Unix(1523477145, 713e6)},
		{"1.523477145713e+9", time.Unix(1523477145, 713e6)},
		{"15234771457130e-4", time.Unix(1523477145, 713e6)},
		{"1523477145.123456789999", time.Unix(1523477145, 123456789)},
		{"1e3", time.Unix(1000, 0)},
		{"0", time.Unix(0, 0)},
		{"-0.5", time.Unix(-1, 500e6)},
		{"-1.5e0", time.Unix(-2, 500e6)},
		{"5e-10", time.Unix(0, 0)},
		{"0.000000001", time.Unix(0, 1)},
	}
	for _, tt := range tests {
		var ts Timestamp
		if err := json.Unmarshal([]byte(tt.in), &ts); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.in, err)
			continue
		}
		if !ts.Equal(tt.want) || ts.Location() != time.UTC {
			t.Errorf("Unmarshal(%s) = %v, want %v in UTC", tt.in, ts.Time, tt.want.UTC())
		}
	}
	for _, bad := range []string{`"2018-04-11T20:05:45Z"`, `"1523477145"`, `true`, `{}`, `[]`, `1e13`, `1e999999999`, `-1e12`, `253402300800`} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, ts.Time)
		}
	}
	ts := Timestamp{time.Unix(7, 0)}
	if err := json.Unmarshal([]byte("null"), &ts); err != nil || !ts.Equal(time.Unix(7, 0)) {
		t.Errorf("Unmarshal(null) changed the value or failed: %v %v", ts.Time, err)
	}
}

func TestMarshalResponse(t *testing.T) {
	resp := GetSecretValueResponse{
		ARN:           new("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"),
		Name:          new("prod/db"),
		VersionId:     new(validToken),
		SecretString:  new(`{"u":"p"}`),
		VersionStages: []string{"AWSCURRENT"},
		CreatedDate:   NewTimestamp(time.Unix(1523477145, 713e6)),
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf","Name":"prod/db",` +
		`"VersionId":"` + validToken + `","SecretString":"{\"u\":\"p\"}","VersionStages":["AWSCURRENT"],"CreatedDate":1523477145.713}`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
}

func TestBlobBase64(t *testing.T) {
	in := PutSecretValueRequest{SecretId: new("s"), SecretBinary: []byte("footest")}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"SecretId":"s","SecretBinary":"Zm9vdGVzdA=="}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out GetSecretValueResponse
	if err := json.Unmarshal([]byte(`{"SecretBinary":"AAEC/w=="}`), &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.SecretBinary, []byte{0, 1, 2, 255}) {
		t.Errorf("SecretBinary = %v", out.SecretBinary)
	}
	if err := json.Unmarshal([]byte(`{"SecretBinary":"not base64!"}`), &out); err == nil {
		t.Error("bad base64 accepted")
	}
}

func TestOmitzero(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil members omitted", DescribeSecretResponse{}, `{}`},
		{"empty list kept", DescribeSecretResponse{Tags: []Tag{}}, `{"Tags":[]}`},
		{"empty map kept", DescribeSecretResponse{VersionIdsToStages: map[string][]string{}}, `{"VersionIdsToStages":{}}`},
		{"zero scalars behind pointers kept", DescribeSecretResponse{
			Description: new(""), RotationEnabled: new(false),
		}, `{"Description":"","RotationEnabled":false}`},
		{"zero timestamp omitted", DescribeSecretResponse{DeletedDate: &Timestamp{}}, `{}`},
		{"nested", DescribeSecretResponse{
			RotationRules:      &RotationRulesType{AutomaticallyAfterDays: new(int64(30))},
			Tags:               []Tag{{Key: new("k"), Value: new("")}},
			VersionIdsToStages: map[string][]string{"v1": {"AWSCURRENT", "AWSPENDING"}},
			LastAccessedDate:   NewTimestamp(time.Date(2018, 4, 17, 0, 0, 0, 0, time.UTC)),
		}, `{"RotationRules":{"AutomaticallyAfterDays":30},"LastAccessedDate":1523923200,"Tags":[{"Key":"k","Value":""}],` +
			`"VersionIdsToStages":{"v1":["AWSCURRENT","AWSPENDING"]}}`},
		{"no-member struct", TagResourceRequest{}, `{}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("%s: Marshal = %s, want %s", tt.name, b, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	// A DescribeSecret response as AWS sends it, with a member this model
	// does not know.
	body := `{"ARN":"arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestSecret-Ca8JGt",` +
		`"Name":"MyTestSecret","Description":"My test secret","KmsKeyId":"arn:aws:kms:us-west-2:123456789012:key/EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE",` +
		`"RotationEnabled":true,"RotationLambdaARN":"arn:aws:lambda:us-west-2:123456789012:function:MyTestRotationLambda",` +
		`"RotationRules":{"AutomaticallyAfterDays":14,"Duration":"2h","ScheduleExpression":"cron(0 16 1,15 * ? *)"},` +
		`"LastRotatedDate":1.525747253E9,"LastChangedDate":1523477145.729,"LastAccessedDate":1524572133,` +
		`"Tags":[{"Key":"SecondTag","Value":"AnotherValue"},{"Key":"FirstTag","Value":"SomeValue"}],` +
		`"VersionIdsToStages":{"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111":["AWSPREVIOUS"],"a1b2c3d4-5678-90ab-cdef-EXAMPLE22222":["AWSCURRENT"]},` +
		`"CreatedDate":1523477145.713,"ReplicationStatus":[],"SomethingNew":{"x":1}}`
	var d DescribeSecretResponse
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if *d.RotationRules.AutomaticallyAfterDays != 14 || len(d.Tags) != 2 || *d.Tags[1].Value != "SomeValue" {
		t.Errorf("decoded %v", d)
	}
	if !d.LastRotatedDate.Equal(time.Unix(1525747253, 0)) || !d.CreatedDate.Equal(time.Unix(1523477145, 713e6)) {
		t.Errorf("dates %v %v", d.LastRotatedDate, d.CreatedDate)
	}
	if d.ReplicationStatus == nil || len(d.ReplicationStatus) != 0 {
		t.Errorf("ReplicationStatus = %#v, want empty non-nil", d.ReplicationStatus)
	}
	if d.DeletedDate != nil || d.OwningService != nil {
		t.Error("absent members decoded as present")
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "SomethingNew") || !strings.Contains(string(b), `"ReplicationStatus":[]`) ||
		!strings.Contains(string(b), `"LastRotatedDate":1525747253,`) {
		t.Errorf("re-marshalled: %s", b)
	}
	var again DescribeSecretResponse
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d, again) {
		t.Errorf("round trip changed the value:\n%v\n%v", d, again)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	in := CreateSecretRequest{
		Name:                        new("n"),
		ClientRequestToken:          new(validToken),
		SecretBinary:                []byte{0, 1, 2, 3, 254, 255},
		Tags:                        []Tag{},
		AddReplicaRegions:           []ReplicaRegionType{{Region: new("eu-west-1")}},
		ForceOverwriteReplicaSecret: new(true),
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out CreateSecretRequest
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip: %s\n%#v", b, out)
	}
	var empty CreateSecretRequest
	if err := json.Unmarshal([]byte(`{}`), &empty); err != nil || !reflect.DeepEqual(empty, CreateSecretRequest{}) {
		t.Errorf("{} decoded as %v, %v", empty, err)
	}
}

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
