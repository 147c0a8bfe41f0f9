package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/agent"
)

func agentCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		file     string
		port     int
		ttl      time.Duration
		region   string
		profile  string
		endpoint string
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Serve a local caching agent compatible with the AWS Secrets Manager Agent",
		Long: `Serve the AWS Secrets Manager Agent's HTTP interface on localhost:

  GET /secretsmanager/get?secretId=ID[&versionStage=S][&versionId=V][&refreshNow=true]
  GET /v1/ID[?versionStage=S...]
  GET /ping

Every request except /ping needs the header X-Aws-Parameters-Secrets-Token
(or X-Vault-Token) set to the SSRF token, read at start from AWS_TOKEN,
AWS_SESSION_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN (a value, or
file://PATH). Responses are GetSecretValue's JSON, cached in memory for the
TTL (default 300s). --config reads the AWS agent's TOML configuration file
(http_port, ttl_seconds, cache_size, ssrf_headers, ssrf_env_variables,
path_prefix, max_conn, region, ignore_transient_errors, validate_credentials,
log_level); flags override it. Secrets Manager is reached through the standard
AWS configuration (AWS_REGION, AWS_ENDPOINT_URL, profiles).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := agent.DefaultConfig()
			if file != "" {
				if err := cfg.LoadFile(file); err != nil {
					return hinted{fmt.Errorf("%s: %w", file, err), "see 'coffer agent --help' for the keys"}
				}
			}
			f := cmd.Flags()
			if f.Changed("port") {
				cfg.HTTPPort = port
			}
			if f.Changed("ttl") {
				cfg.TTL = ttl
			}
			if f.Changed("region") {
				cfg.Region = region
			}
			if err := cfg.Validate(); err != nil {
				return hinted{err, "see 'coffer agent --help'"}
			}
			token, err := cfg.Token(os.LookupEnv)
			if err != nil {
				return hinted{err, "for example: export AWS_TOKEN=$(head -c 32 /dev/urandom | base64)"}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()

			var opts []func(*config.LoadOptions) error
			if cfg.Region != "" {
				opts = append(opts, config.WithRegion(cfg.Region))
			}
			if profile != "" {
				opts = append(opts, config.WithSharedConfigProfile(profile))
			}
			awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
			if err != nil {
				return fmt.Errorf("loading the AWS configuration: %w", err)
			}
			if awsCfg.Region == "" {
				return hinted{errors.New("no AWS region configured"), "set AWS_REGION, region in the config file, or --region"}
			}
			if endpoint != "" {
				awsCfg.BaseEndpoint = aws.String(endpoint)
			}
			log := newLogger(stderr, logLevel(cfg.LogLevel))
			if cfg.ValidateCredentials {
				vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := sts.NewFromConfig(awsCfg).GetCallerIdentity(vctx, &sts.GetCallerIdentityInput{})
				cancel()
				if err != nil {
					return hinted{fmt.Errorf("validating the AWS credentials (STS GetCallerIdentity): %w", err),
						"check the credentials, or set validate_credentials = false in the config file"}
				}
			}
			srv := agent.New(cfg, secretsmanager.NewFromConfig(awsCfg), token, log)
			return agent.Serve(ctx, srv, func(addr string) {
				fmt.Fprintf(stdout, "coffer: agent listening on http://%s\n", addr)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "config", "", "the AWS Secrets Manager Agent's TOML configuration file")
	f.IntVar(&port, "port", 2773, "port on 127.0.0.1 (0 picks a free one)")
	f.DurationVar(&ttl, "ttl", 300*time.Second, "how long a cached value is served without asking Secrets Manager (0 to 1h)")
	f.StringVar(&region, "region", "", "AWS region (default: the AWS configuration chain)")
	f.StringVar(&profile, "profile", "", "AWS profile")
	f.StringVar(&endpoint, "endpoint-url", "", "Secrets Manager and STS endpoint (default: AWS_ENDPOINT_URL...)")
	return cmd
}

// logLevel maps the AWS agent's levels onto slog's ("none" logs errors only).
func logLevel(l string) string {
	switch l {
	case "none", "NONE":
		return "error"
	}
	return l
}
