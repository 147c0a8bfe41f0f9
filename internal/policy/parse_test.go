package policy

import (
	"errors"
	"testing"
)

func TestParseErrors(t *testing.T) {
	const ok = ""
	cases := []struct {
		name string
		kind Kind
		doc  string
		want string
	}{
		{"not json", Identity, `This is not a json document`, "Syntax errors in policy."},
		{"not json resource", Resource, `{`, "This policy has invalid syntax."},
		{"trailing data", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*"}} x`, "Syntax errors in policy."},
		{"bad version", Identity, `{"Version":"2013-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*"}}`, "Syntax errors in policy."},
		{"bad version resource", Resource, `{"Version":"2019-10-19","Statement":{"Effect":"Allow","Principal":"*","Action":"secretsmanager:*","Resource":"*"}}`, "This policy has invalid syntax."},
		{"old version ok", Identity, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*"}}`, ok},
		{"no version ok", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:x","Resource":"*"}]}`, ok},
		{"no statement", Identity, `{"Version":"2012-10-17"}`, "Syntax errors in policy."},
		{"empty statement list", Identity, `{"Version":"2012-10-17","Statement":[]}`, "Syntax errors in policy."},
		{"statement not object", Identity, `{"Version":"2012-10-17","Statement":["afd"]}`, "Syntax errors in policy."},
		{"extra top field", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*"},"Extra":"v"}`, "Syntax errors in policy."},
		{"extra statement field", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Extra":"v"}}`, "Syntax errors in policy."},
		{"id not string", Identity, `{"Version":"2012-10-17","Id":[],"Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*"}}`, "Syntax errors in policy."},
		{"missing effect", Identity, `{"Version":"2012-10-17","Statement":{"Action":"s3:x","Resource":"*"}}`, "Syntax errors in policy."},
		{"invalid effect", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Maybe","Action":"s3:x","Resource":"*"}}`, "Syntax errors in policy."},
		{"lower-case effect", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"allow","Action":"s3:x","Resource":"*"}}`, "The policy failed legacy parsing"},
		{"bad date", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"sdfdsf"}}}}`, "The policy failed legacy parsing"},
		{"legacy arn", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"arn:aws:s3::example_bucket"}}`, "The policy failed legacy parsing"},
		{"action and notaction", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","NotAction":"s3:y","Resource":"*"}}`, "Syntax errors in policy."},
		{"resource and notresource", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","NotResource":"*"}}`, "Syntax errors in policy."},
		{"action object", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":{},"Resource":"*"}}`, "Syntax errors in policy."},
		{"duplicate sid", Identity, `{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:x","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"s3:x","Resource":"*"}]}`, "Statement IDs (SID) in a single policy must be unique."},
		{"sid not alnum", Identity, `{"Version":"2012-10-17","Statement":{"Sid":"a b","Effect":"Allow","Action":"s3:x","Resource":"*"}}`, "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"},
		{"sid with space in resource policy", Resource, `{"Version":"2012-10-17","Statement":{"Sid":"a b","Effect":"Allow","Principal":"*","Action":"secretsmanager:*","Resource":"*"}}`, ok},
		{"no action", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}`, "Policy statement must contain actions."},
		{"empty action", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, "Policy statement must contain actions."},
		{"no resource", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x"}}`, "Policy statement must contain resources."},
		{"no resource session", Session, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x"}}`, "Policy statement must contain resources."},
		{"resource not arn", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"invalid resource"}}`, `Resource invalid resource must be in ARN format or "*".`},
		{"bad partition", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"a:b:c:d:e:f:g:h"}}`, `Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h".`},
		{"vendor not qualified", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"arn:aws"}}`, "Resource vendor must be fully qualified and cannot contain regexes."},
		{"action no vendor", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"invalid","Resource":"*"}}`, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"action two colons", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:List:Bucket","Resource":"*"}}`, "Actions/Condition can contain only one colon."},
		{"bad vendor", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"a a:ListBucket","Resource":"*"}}`, "Vendor a a is not valid"},
		{"unknown operator", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}}`, "Syntax errors in policy."},
		{"NullIfExists is not an operator", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}}`, "Syntax errors in policy."},
		{"double colon prefix", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Condition":{"ForAnyValue::StringEqualsIfExists":{"a":"b"}}}}`, "Syntax errors in policy."},
		{"empty unknown operator ok", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Condition":{"a":{}}}}`, ok},
		{"condition list", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Condition":[]}}`, "Syntax errors in policy."},
		{"condition key colons", Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"https://oidc.example.com/id/X:sub":"a"}}}}`, "Condition can contain only one colon."},
		{"oidc key ok", Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.com/id/X:sub":"a"}}}}`, ok},
		{"tag key with colons ok", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/aws:cloudformation:stack-name":"a"}}}}`, ok},
		{"bool and number values ok", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:max-keys":[10, 20.5]}}}}`, ok},
		{"principal in identity", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:x","Resource":"*"}}`, "Policy document should not specify a principal."},
		{"notprincipal in session", Session, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":"*","Action":"s3:x","Resource":"*"}}`, "Policy document should not specify a principal."},
		{"resource policy without principal", Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}}`, "Missing required field Principal"},
		{"trust without principal", Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, "Missing required field Principal"},
		{"trust with resource", Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole","Resource":"*"}}`, "Has prohibited field Resource"},
		{"trust non-sts action", Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"s3:GetObject"}}`, "AssumeRole policy may only specify STS AssumeRole actions."},
		{"trust wildcard principal arn", Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/*"},"Action":"sts:AssumeRole"}}`, `Invalid principal in policy: "AWS":"arn:aws:iam::111111111111:role/*"`},
		{"resource bad principal", Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"secretsmanager:*","Resource":"*"}}`, "This resource policy contains an unsupported principal."},
		{"principal string not star", Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"111111111111","Action":"secretsmanager:*","Resource":"*"}}`, "This resource policy contains an unsupported principal."},
		{"unknown principal type", Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Bogus":"x"},"Action":"secretsmanager:*","Resource":"*"}}`, "This policy has invalid syntax."},
		{"resource policy principals ok", Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["111111111111","arn:aws:iam::222222222222:root","arn:aws:iam::222222222222:user/a/b","arn:aws:iam::222222222222:role/R","arn:aws:sts::222222222222:assumed-role/R/s"],"Service":"rotation.amazonaws.com"},"Action":"secretsmanager:*"}}`, ok},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse("p", c.doc, c.kind)
			if c.want == ok {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if p.Name() != "p" {
					t.Fatalf("Name() = %q", p.Name())
				}
				return
			}
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("Parse error = %v, want MalformedError %q", err, c.want)
			}
			if me.Message != c.want {
				t.Fatalf("Message = %q, want %q", me.Message, c.want)
			}
		})
	}
}
