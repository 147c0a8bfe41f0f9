package awsapi

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParamsValidation(t *testing.T) {
	cases := []struct {
		name  string
		form  string
		read  func(p *params)
		want  string // the ValidationError's message; "" for none
		check func(t *testing.T, p *params)
	}{
		{
			name: "missing required member",
			form: "Action=CreateUser",
			read: func(p *params) { p.need("UserName", userNameRule) },
			want: "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "two failures, one message",
			form: "UserName=" + strings.Repeat("a", 65) + "&Path=nopath",
			read: func(p *params) { p.need("UserName", userNameRule); p.str("Path", pathRule) },
			want: "2 validation errors detected: Value '" + strings.Repeat("a", 65) +
				"' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64; " +
				"Value 'nopath' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: " +
				`(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`,
		},
		{
			name: "empty name fails length and pattern",
			form: "UserName=",
			read: func(p *params) { p.need("UserName", userNameRule) },
			want: "2 validation errors detected: Value '' at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				`Value '' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`,
		},
		{
			name: "valid names and paths",
			form: "UserName=alice.smith%2Bci%40example.com&Path=%2Fdivision%2Fteam%2F&PathPrefix=%2F",
			read: func(p *params) {
				p.need("UserName", userNameRule)
				p.str("Path", pathRule)
				p.str("PathPrefix", pathPrefixRule)
			},
		},
		{
			name: "enum",
			form: "AccessKeyId=AKIAIOSFODNN7EXAMPLE&Status=Disabled",
			read: func(p *params) { p.need("AccessKeyId", accessKeyIDRule); p.need("Status", statusRule) },
			want: "1 validation error detected: Value 'Disabled' at 'status' failed to satisfy constraint: " +
				"Member must satisfy enum value set: [Active, Inactive, Expired]",
		},
		{
			name: "integer range and syntax",
			form: "MaxItems=0&DurationSeconds=x",
			read: func(p *params) { p.paging(); p.integer("DurationSeconds", 900, 43200) },
			want: "2 validation errors detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value 'x' at 'durationSeconds' failed to satisfy constraint: Member must be a number",
		},
		{
			name: "tags",
			form: "Tags.member.1.Key=team&Tags.member.1.Value=&Tags.member.2.Key=bad%21key&Tags.member.3.Value=v",
			read: func(p *params) {
				tags := p.tags(false)
				if len(tags) != 3 || tags[0].Key != "team" || tags[0].Value != "" || tags[2].Value != "v" {
					t.Errorf("tags %+v", tags)
				}
			},
			want: "3 validation errors detected: " +
				`Value 'bad!key' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+; ` +
				"Value null at 'tags.2.member.value' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'tags.3.member.key' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "required list absent",
			form: "UserName=bob",
			read: func(p *params) { p.need("UserName", existingUserRule); p.strings("TagKeys", true, tagKeyRule) },
			want: "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "empty list is present",
			form: "TagKeys=",
			read: func(p *params) {
				if keys := p.strings("TagKeys", true, tagKeyRule); keys == nil || len(keys) != 0 {
					t.Errorf("keys %q", keys)
				}
			},
		},
		{
			name: "list stops at the first gap",
			form: "ActionNames.member.1=secretsmanager:GetSecretValue&ActionNames.member.2=iam:GetUser&ActionNames.member.4=x",
			read: func(p *params) {
				got := p.strings("ActionNames", true, actionNameRule)
				if strings.Join(got, ",") != "secretsmanager:GetSecretValue,iam:GetUser" {
					t.Errorf("actions %q", got)
				}
			},
		},
		{
			name: "list member rule",
			form: "ActionNames.member.1=ab",
			read: func(p *params) { p.strings("ActionNames", true, actionNameRule) },
			want: "1 validation error detected: Value 'ab' at 'actionNames.1.member' failed to satisfy constraint: " +
				"Member must have length greater than or equal to 3",
		},
		{
			name: "booleans",
			form: "SetAsDefault=True&OnlyAttached=yes",
			read: func(p *params) {
				if !p.boolean("SetAsDefault") {
					t.Error("SetAsDefault=True read as false")
				}
				p.boolean("OnlyAttached")
			},
			want: "1 validation error detected: Value 'yes' at 'onlyAttached' failed to satisfy constraint: Member must be a boolean",
		},
		{
			name: "policy documents are Latin-1 only, as IAM's pattern says",
			form: "PolicyDocument=" + url.QueryEscape(`{"Sid":"€"}`),
			read: func(p *params) { p.need("PolicyDocument", documentRule) },
			want: `1 validation error detected: Value '{"Sid":"€"}' at 'policyDocument' failed to satisfy constraint: ` +
				`Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.form)
			if err != nil {
				t.Fatal(err)
			}
			p := &params{v: v}
			tc.read(p)
			err = p.err()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("no error, want %q", tc.want)
			case tc.want != "":
				qe := err.(*queryError)
				if qe.Code != "ValidationError" || qe.Status != 400 || qe.Message != tc.want {
					t.Errorf("got %s %d\n%q\nwant\n%q", qe.Code, qe.Status, qe.Message, tc.want)
				}
			}
		})
	}
}

func TestPaging(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	var got []string
	marker := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		form := url.Values{"MaxItems": {"2"}}
		if marker != "" {
			form.Set("Marker", marker)
		}
		p := &params{v: form}
		pg := p.paging()
		if err := p.err(); err != nil {
			t.Fatal(err)
		}
		page, next, err := pageOf(pg, items)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		marker = next
	}
	if strings.Join(got, "") != "abcde" {
		t.Errorf("pages gave %q", got)
	}

	// Default page size is 100; the whole list fits.
	p := &params{v: url.Values{}}
	page, next, err := pageOf(p.paging(), items)
	if err != nil || len(page) != 5 || next != "" {
		t.Errorf("default page: %q %q %v", page, next, err)
	}

	for _, m := range []string{"garbage", encodeMarker(6), "Y29mZmVyOi0x" /* coffer:-1 */} {
		p := &params{v: url.Values{"Marker": {m}}}
		_, _, err := pageOf(p.paging(), items)
		if qe, ok := err.(*queryError); !ok || qe.Code != "ValidationError" || qe.Message != "Invalid Marker." {
			t.Errorf("marker %q: %v", m, err)
		}
	}
}

func TestQueryDocuments(t *testing.T) {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	got := string(queryResponseXML(iamQuery, "ListUsers", "REQID", func(w *xmlWriter) {
		w.list("Users", 1, func(int) {
			w.elem("Path", "/")
			w.elem("UserName", "a&b")
			w.time("CreateDate", created.In(time.FixedZone("x", 3600)))
		})
		w.stringList("PolicyNames", nil)
		w.truncation(encodeMarker(1))
	}))
	want := `<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListUsersResult>
    <Users>
      <member>
        <Path>/</Path>
        <UserName>a&amp;b</UserName>
        <CreateDate>2025-01-01T00:00:00Z</CreateDate>
      </member>
    </Users>
    <PolicyNames/>
    <IsTruncated>true</IsTruncated>
    <Marker>` + encodeMarker(1) + `</Marker>
  </ListUsersResult>
  <ResponseMetadata>
    <RequestId>REQID</RequestId>
  </ResponseMetadata>
</ListUsersResponse>
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	got = string(queryResponseXML(iamQuery, "DeleteUser", "REQID", nil))
	want = `<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ResponseMetadata>
    <RequestId>REQID</RequestId>
  </ResponseMetadata>
</DeleteUserResponse>
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	got = string(queryErrorXML(iamQuery, &queryError{"ServiceFailure", 500, "An internal error occurred."}, "REQID"))
	want = `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>Receiver</Type>
    <Code>ServiceFailure</Code>
    <Message>An internal error occurred.</Message>
  </Error>
  <RequestId>REQID</RequestId>
</ErrorResponse>
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestURLEncodeDocument(t *testing.T) {
	doc := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::a+b/*"}]}`
	enc := urlEncodeDocument(doc)
	if strings.ContainsAny(enc, " +{\"") {
		t.Errorf("not encoded: %s", enc)
	}
	// Both decoders the clients use give the document back.
	if d, err := url.PathUnescape(enc); err != nil || d != doc {
		t.Errorf("PathUnescape: %q %v", d, err)
	}
	if d, err := url.QueryUnescape(enc); err != nil || d != doc {
		t.Errorf("QueryUnescape: %q %v", d, err)
	}
}

func TestScopeRouting(t *testing.T) {
	cases := map[string]string{
		"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00": "iam",
		"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00": "sts",
		"AWS4-HMAC-SHA256 Credential=AKIA/short": "",
		"":                                       "",
	}
	for auth, want := range cases {
		if got := scopeService(auth); got != want {
			t.Errorf("scopeService(%q) = %q, want %q", auth, got, want)
		}
	}
}

func TestNestedLists(t *testing.T) {
	v, err := url.ParseQuery("ContextEntries.member.1.ContextKeyName=aws%3ASourceIp&ContextEntries.member.1.ContextKeyType=ip" +
		"&ContextEntries.member.1.ContextKeyValues.member.1=10.0.0.1&ContextEntries.member.1.ContextKeyValues.member.2=10.0.0.2" +
		"&ContextEntries.member.2.ContextKeyName=aws%3Ausername&ContextEntries.member.2.ContextKeyType=string" +
		"&ContextEntries.member.2.ContextKeyValues.member.1=bob&ContextEntries.member.3.ContextKeyType=date")
	if err != nil {
		t.Fatal(err)
	}
	p := &params{v: v}
	got := p.contextEntries()
	if err := p.err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Key != "aws:SourceIp" || got[0].Type != "ip" || strings.Join(got[0].Values, ",") != "10.0.0.1,10.0.0.2" ||
		got[1].Key != "aws:username" || strings.Join(got[1].Values, ",") != "bob" || got[2].Type != "date" || got[2].Values != nil {
		t.Errorf("entries %+v", got)
	}

	// Many members are read in one pass, whatever their order.
	big := url.Values{}
	for i := 5000; i >= 1; i-- {
		big.Set("ActionNames.member."+strconv.Itoa(i), "iam:GetUser")
	}
	p = &params{v: big}
	if n := len(p.strings("ActionNames", true, actionNameRule)); n != 5000 || p.err() != nil {
		t.Errorf("%d actions, %v", n, p.err())
	}
}
