package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/iam"
)

// bootstrap makes sure the first account and its root access key exist.
// Values fixed by configuration win; otherwise the credentials file written on
// first start names them; otherwise they are generated, written to that file
// (mode 0600) and printed once.
func bootstrap(ctx context.Context, cfg Config, ids *iam.Service, out io.Writer) error {
	path := filepath.Join(cfg.DataDir, credentialsFile)
	account, keyID, secret := cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey
	saved, err := readCredentials(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if account == "" {
		account = saved.account
	}
	if keyID == "" {
		keyID, secret = saved.keyID, saved.secret
	}
	generated := false
	if account == "" {
		account = iam.NewAccountID()
		generated = true
	}
	if keyID == "" {
		keyID, secret = iam.NewRootKey()
		generated = true
	}
	// What the first start creates is recorded with it (adminaudit.go):
	// "Bootstrap", by the server; a start that finds both creates nothing
	// and records nothing.
	rec := adminRecord("Bootstrap", account, "", map[string]any{"accountId": account})
	rec.UserIdentity.InvokedBy, rec.SourceIPAddress, rec.UserAgent = serverInvokedBy, serverInvokedBy, serverInvokedBy
	if _, err := ids.EnsureRoot(audit.WithPending(ctx, audit.NewPending(rec)), account, keyID, secret); err != nil {
		return fmt.Errorf("root credentials: %w", err)
	}
	if !generated {
		return nil
	}
	if err := writeCredentials(path, credentials{account: account, keyID: keyID, secret: secret}); err != nil {
		return err
	}
	fmt.Fprintf(out, `coffer: created account %s with a root access key; it is printed this once and kept in %s
    export AWS_ACCESS_KEY_ID=%s
    export AWS_SECRET_ACCESS_KEY=%s
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  or: AWS_SHARED_CREDENTIALS_FILE=%s AWS_PROFILE=coffer aws --endpoint-url http://%s secretsmanager list-secrets
`, account, path, keyID, secret, path, cfg.Listen)
	return nil
}

type credentials struct{ account, keyID, secret string }

// The credentials file is in the aws CLI's format, with the account id in a
// comment line that coffer reads back.
func writeCredentials(path string, c credentials) error {
	body := fmt.Sprintf("# coffer root credentials\n# account: %s\n[coffer]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		c.account, c.keyID, c.secret)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return fmt.Errorf("credentials file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("credentials file: %w", err)
	}
	return f.Close()
}

func readCredentials(path string) (credentials, error) {
	var c credentials
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "# account:"); ok {
			c.account = strings.TrimSpace(v)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			c.keyID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			c.secret = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return c, nil
}
