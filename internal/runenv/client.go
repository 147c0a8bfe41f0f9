package runenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// API is the part of the Secrets Manager client runenv uses;
// *secretsmanager.Client implements it.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Store says how to reach one Secrets Manager endpoint. Every field is
// optional: what is empty comes from the standard AWS configuration chain
// (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SECRETS_MANAGER,
// ~/.aws/config and credentials, ...).
type Store struct {
	Name     string // the dsops store name, or "" for the command line's store
	Region   string
	Profile  string
	Endpoint string // Secrets Manager endpoint URL

	// RoleARN, when set, is assumed with STS AssumeRole (with ExternalID if
	// set) using the chain's credentials. STS is reached at
	// AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL when set, otherwise at
	// Endpoint when that is set (coffer serves STS on the same listener),
	// otherwise at AWS's regional STS endpoint.
	RoleARN    string
	ExternalID string

	// Static credentials (dsops's access_key_id / secret_access_key).
	AccessKeyID     string
	SecretAccessKey string

	// Timeout bounds each call (0: the SDK's defaults).
	Timeout time.Duration

	// DefaultRegion is used when neither Region nor the chain gives one.
	DefaultRegion string
}

// Client builds a Secrets Manager client for s.
func (s Store) Client(ctx context.Context) (*secretsmanager.Client, error) {
	var opts []func(*config.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	if s.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.Profile))
	}
	if s.AccessKeyID != "" || s.SecretAccessKey != "" {
		if s.AccessKeyID == "" || s.SecretAccessKey == "" {
			return nil, errors.New("access_key_id and secret_access_key must be given together")
		}
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, "")))
	}
	if s.Timeout > 0 {
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(s.Timeout)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		if s.DefaultRegion == "" {
			return nil, hinted{errors.New("no AWS region configured"), "set AWS_REGION (or a profile's region, or --region)"}
		}
		cfg.Region = s.DefaultRegion
	}
	if s.RoleARN != "" {
		stsOpts := func(o *sts.Options) {
			if s.Endpoint != "" && cfg.BaseEndpoint == nil && os.Getenv("AWS_ENDPOINT_URL_STS") == "" {
				o.BaseEndpoint = aws.String(s.Endpoint)
			}
		}
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg, stsOpts), s.RoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				if s.ExternalID != "" {
					o.ExternalID = aws.String(s.ExternalID)
				}
				o.RoleSessionName = fmt.Sprintf("coffer-run-%d", time.Now().Unix())
			})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if s.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.Endpoint)
		}
	}), nil
}

// hinted carries a hint for the command line ("hint: ..." line).
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

// Hint returns the hint for the command line.
func (h hinted) Hint() string { return h.hint }
