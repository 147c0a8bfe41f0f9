package secrets

// Authorization: every operation asks one question, "may this caller
// perform secretsmanager:<Action> on this resource?", through authorize.
// The answer comes from the caller's identity-based policies (and session
// policy), the secret's resource policy and the request's condition keys,
// evaluated by package policy as AWS evaluates them (BEHAVIOUR.md §14).

import (
	"strings"
	"sync"

	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// The Secrets Manager actions, as IAM names them.
const (
	actBatchGetSecretValue      = "secretsmanager:BatchGetSecretValue"
	actCreateSecret             = "secretsmanager:CreateSecret"
	actDeleteResourcePolicy     = "secretsmanager:DeleteResourcePolicy"
	actDeleteSecret             = "secretsmanager:DeleteSecret"
	actDescribeSecret           = "secretsmanager:DescribeSecret"
	actGetRandomPassword        = "secretsmanager:GetRandomPassword"
	actGetResourcePolicy        = "secretsmanager:GetResourcePolicy"
	actGetSecretValue           = "secretsmanager:GetSecretValue"
	actListSecretVersionIds     = "secretsmanager:ListSecretVersionIds"
	actListSecrets              = "secretsmanager:ListSecrets"
	actPutResourcePolicy        = "secretsmanager:PutResourcePolicy"
	actPutSecretValue           = "secretsmanager:PutSecretValue"
	actRestoreSecret            = "secretsmanager:RestoreSecret"
	actTagResource              = "secretsmanager:TagResource"
	actUntagResource            = "secretsmanager:UntagResource"
	actUpdateSecret             = "secretsmanager:UpdateSecret"
	actUpdateSecretVersionStage = "secretsmanager:UpdateSecretVersionStage"
	actValidateResourcePolicy   = "secretsmanager:ValidateResourcePolicy"
)

// access is one authorization question about a secret.
type access struct {
	action string // secretsmanager:<Action>
	// id is the SecretId as the caller gave it: AccessDeniedException's
	// message names the resource that way.
	id string
	// keys adds the request's own condition keys (secretsmanager:VersionStage,
	// aws:RequestTag/..., ...); nil when there are none.
	keys func(*policy.Context)
}

// SystemCaller is the caller for coffer's own work in an account (the
// command line, background jobs): the account's root.
func SystemCaller(partition, account, region string) Caller {
	p := iam.Principal{Account: account, ARN: "arn:" + partition + ":iam::" + account + ":root", Kind: iam.KindRoot, UserID: account}
	return Caller{Account: account, Region: region, Identity: &iam.Identity{Principal: p, Root: true}}
}

// authorize answers whether c may perform a.action on the secret sec, whose
// ARN is resource (sec is nil when the secret does not exist, or for
// actions on "*"). A refusal is AccessDeniedException with AWS's message.
func (s *Service) authorize(c Caller, a access, sec *storage.Secret, resource string) error {
	id := c.Identity
	if id == nil {
		return &Error{Kind: KindAccessDenied, Message: "The request has no authenticated principal."}
	}
	owner := id.Principal.Account
	if sec != nil {
		owner = sec.Account
	} else if acct := arnAccount(resource); acct != "" {
		owner = acct
	}
	rp, err := s.policies.resource(sec)
	if err != nil {
		return err
	}
	// The account's root in its own account, with no resource policy that
	// could deny: nothing to evaluate.
	if id.Root && id.Session == nil && owner == id.Principal.Account && rp == nil {
		return nil
	}
	pc := &policy.Context{}
	pc.SetSource(func(key string) ([]string, bool) {
		if v, ok := secretKey(sec, key); ok {
			return v, true
		}
		return id.ConditionKey(key, &c.Request)
	})
	if a.keys != nil {
		a.keys(pc)
	}
	res := policy.Authorize(&policy.Input{
		Request: &policy.Request{
			Principal: id.PolicyPrincipal(),
			Action:    a.action,
			Resource:  resource,
			Context:   pc,
			Now:       c.Request.Now,
		},
		Identity:        id.Policies,
		Session:         id.Session,
		Resource:        rp,
		ResourceAccount: owner,
		Root:            id.Root,
	})
	if res.Allowed {
		return nil
	}
	return &Error{Kind: KindAccessDenied, Message: "User: " + id.Principal.ARN +
		" is not authorized to perform: " + a.action + " on resource: " + a.id + " " + res.Denial(a.action)}
}

// secretKey answers the lower-cased condition keys that describe an
// existing secret (every secret-scoped action): secretsmanager:SecretId,
// secretsmanager:SecretPrimaryRegion, secretsmanager:resource/Type and the
// tags as aws:ResourceTag/<key> and secretsmanager:ResourceTag/<key>.
func secretKey(sec *storage.Secret, key string) ([]string, bool) {
	if sec == nil {
		return nil, false
	}
	switch key {
	case "secretsmanager:secretid":
		return []string{sec.ARN}, true
	case "secretsmanager:secretprimaryregion":
		return []string{sec.Region}, true
	case "secretsmanager:resource/type":
		if sec.Type != "" {
			return []string{sec.Type}, true
		}
		return nil, false
	}
	tag, ok := strings.CutPrefix(key, "aws:resourcetag/")
	if !ok {
		tag, ok = strings.CutPrefix(key, "secretsmanager:resourcetag/")
	}
	if ok {
		// Tag keys are case-sensitive on secrets, but condition keys are
		// compared case-insensitively, as IAM does.
		for _, t := range sec.Tags {
			if strings.EqualFold(t.Key, tag) {
				return []string{t.Value}, true
			}
		}
	}
	return nil, false
}

// arnAccount returns the account field of an ARN, or "".
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// policyCache keeps resource policies compiled, keyed by the secret's
// Attrs document: a policy is parsed once, not on every request that reads
// its secret.
type policyCache struct {
	mu sync.RWMutex
	m  map[string]*policy.Policy // nil value: the document has no policy
}

// maxCachedPolicies bounds the cache; when full it starts over.
const maxCachedPolicies = 4096

// resource returns the compiled resource policy of sec, nil when it has
// none.
func (pc *policyCache) resource(sec *storage.Secret) (*policy.Policy, error) {
	if sec == nil || len(sec.Attrs) == 0 {
		return nil, nil
	}
	pc.mu.RLock()
	p, ok := pc.m[string(sec.Attrs)] // no allocation for the lookup
	pc.mu.RUnlock()
	if ok {
		return p, nil
	}
	at, err := decodeAttrs(sec.Attrs)
	if err != nil {
		return nil, err
	}
	if at.ResourcePolicy != "" {
		if p, err = parseResourcePolicy(at.ResourcePolicy); err != nil {
			return nil, err
		}
	}
	pc.mu.Lock()
	if pc.m == nil || len(pc.m) >= maxCachedPolicies {
		pc.m = make(map[string]*policy.Policy)
	}
	pc.m[string(sec.Attrs)] = p
	pc.mu.Unlock()
	return p, nil
}

func parseResourcePolicy(doc string) (*policy.Policy, error) {
	return policy.Parse("resource-policy", doc, policy.Resource)
}

// setIf sets key to *v when v is not nil.
func setIf(pc *policy.Context, key string, v *string) {
	if v != nil {
		pc.Set(key, *v)
	}
}

// crossAccountValue refuses value access (GetSecretValue, PutSecretValue)
// from another account to a secret under the account's default key, as AWS
// does: the AWS managed key cannot be shared. A secret under a named key
// is reachable when the policies allow (coffer has no KMS key policies).
func crossAccountValue(c Caller, sec *storage.Secret) error {
	if sec.Account != c.Account && sec.KmsKeyID == "" {
		return &Error{Kind: KindInvalidRequest, Message: msgDefaultKeyCrossAccount}
	}
	return nil
}
