// Package secrets is coffer's domain: secrets, their versions and staging
// labels, deletion windows, tags, and the encryption of every version.
//
// Every operation follows one path: validate and authorize the caller, run a
// storage transaction, seal or open values with envelope encryption. The
// behaviour mirrors AWS Secrets Manager (see docs/COMPATIBILITY.md); errors
// are *Error values whose Kind internal/awsapi maps to AWS error codes.
//
// Imported by internal/awsapi (and later the CLI and rotation). It must not
// import net/http, internal/awsapi or any storage driver.
package secrets

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/envelope"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Caller is the authenticated principal of a request and the region it
// addressed. Account is the principal's account: secret names resolve in
// it. A Caller without an Identity is refused every action.
type Caller struct {
	Account  string
	Region   string
	Identity *iam.Identity
	Request  iam.RequestContext
}

// Config is what a Service needs.
type Config struct {
	Store     storage.Store
	Root      envelope.Wrapper // seals key-encryption keys
	Partition string           // "aws" unless configured
	Now       func() time.Time // nil: time.Now
	Logger    *slog.Logger     // nil: discard
	// Rotations runs rotations (internal/rotation); nil: RotateSecret
	// answers that no function can be invoked. SetRotations sets it later.
	Rotations Rotations
	// Trail is the audit trail writes commit their records to (audit.go);
	// nil only when auditing is off (benchmarks).
	Trail *audit.Trail
}

// Service implements the Secrets Manager operations.
type Service struct {
	store     storage.Store
	keys      *keyring
	partition string
	now       func() time.Time
	log       *slog.Logger
	policies  policyCache
	rotations Rotations
	trail     *audit.Trail
}

// SetRotations sets the rotation engine, which is built after the Service
// it drives. Call it before serving.
func (s *Service) SetRotations(r Rotations) { s.rotations = r }

// New returns a Service.
func New(cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	partition := cfg.Partition
	if partition == "" {
		partition = "aws"
	}
	return &Service{
		store:     cfg.Store,
		keys:      newKeyring(cfg.Store, cfg.Root, now),
		partition: partition,
		now:       func() time.Time { return now().UTC().Truncate(time.Millisecond) },
		log:       log,
		rotations: cfg.Rotations,
		trail:     cfg.Trail,
	}
}

// validName reports whether name is non-empty and uses only the characters
// AWS allows: ASCII letters, digits and / _ + = . @ -
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("/_+=.@-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func (s *Service) newARN(c Caller, name string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return s.arnPrefix(c.Region, c.Account) + name + "-" + string(b)
}

func (s *Service) arnPrefix(region, account string) string {
	return "arn:" + s.partition + ":secretsmanager:" + region + ":" + account + ":secret:"
}

// resolve finds the secret a SecretId names (a name, a full ARN or a
// partial ARN, BEHAVIOUR.md §3.3) and authorizes a on it. It validates the
// id first, so a malformed name is a ValidationException whether or not
// anything exists; a caller not allowed a on a secret that does not exist
// is refused (AccessDeniedException) rather than told it is missing.
func (s *Service) resolve(tx storage.Tx, c Caller, a access) (*storage.Secret, error) {
	sec, guess, err := s.find(tx, c, a.id)
	if err != nil {
		var de *Error
		if errors.As(err, &de) && de.Kind == KindResourceNotFound {
			if aerr := s.authorize(c, a, nil, guess); aerr != nil {
				return nil, aerr
			}
		}
		return nil, err
	}
	if err := s.authorize(c, a, sec, sec.ARN); err != nil {
		return nil, err
	}
	return sec, nil
}

// find looks a SecretId up. When nothing matches, guess is the ARN the
// id would name (for authorizing the question anyway).
func (s *Service) find(tx storage.Tx, c Caller, id string) (sec *storage.Secret, guess string, err error) {
	if !strings.HasPrefix(id, "arn:") {
		if !validName(id) {
			return nil, "", &Error{Kind: KindValidation, Message: msgInvalidName}
		}
		sec, err := tx.SecretByName(c.Account, c.Region, id)
		return sec, s.arnPrefix(c.Region, c.Account) + id, notFound(err)
	}
	parts := strings.SplitN(id, ":", 7)
	if len(parts) != 7 || parts[1] != s.partition || parts[2] != "secretsmanager" || parts[5] != "secret" {
		return nil, id, errNotFound()
	}
	region, account, rest := parts[3], parts[4], parts[6]
	// Secrets of other accounts are reachable by ARN (their resource
	// policy decides); another region is another endpoint's namespace.
	if region != c.Region {
		return nil, id, errNotFound()
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 && len(rest)-i-1 == 6 {
		// Looks like a full ARN: match exactly, never fall back to a name.
		sec, err := tx.SecretByARN(id)
		return sec, id, notFound(err)
	}
	sec, err = tx.SecretByName(account, region, rest)
	return sec, id, notFound(err)
}

// active resolves a.id to a secret that is not scheduled for deletion.
func (s *Service) active(ctx context.Context, c Caller, a access, op string) (*storage.Secret, error) {
	var sec *storage.Secret
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		if sec, err = s.resolve(tx, c, a); err != nil {
			return err
		}
		if deleted(sec) {
			return errMarked()
		}
		return nil
	})
	if err != nil {
		return nil, s.internal(ctx, op, err)
	}
	return sec, nil
}

func notFound(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound()
	}
	return err
}

// internal wraps an unexpected error (storage, crypto plumbing) so that its
// text, which is logged, never reaches the client.
func (s *Service) internal(ctx context.Context, op string, err error) error {
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	s.log.ErrorContext(ctx, "internal error", "op", op, "err", err)
	return &Error{Kind: KindInternal, Message: "An error occurred on the server side."}
}

func checkToken(token *string) error {
	if token == nil || *token == "" {
		return &Error{Kind: KindInvalidRequest, Message: msgTokenRequired}
	}
	if n := len(*token); n < 32 || n > 64 {
		return errorf(KindInvalidParameter, "ClientRequestToken must be 32-64 characters long.")
	}
	return nil
}

func checkValue(str *string, bin []byte) (*Value, error) {
	switch {
	case str != nil && bin != nil:
		return nil, &Error{Kind: KindInvalidParameter, Message: msgBothValues}
	case str != nil:
		v := TextValue(*str)
		return &v, nil
	case bin != nil:
		v := BinaryValue(bin)
		return &v, nil
	}
	return nil, nil
}

// checkVersionValue checks an optional value and, when one is given, the
// token that names the version it creates (CreateSecret, UpdateSecret).
func checkVersionValue(str *string, bin []byte, token *string) (*Value, error) {
	v, err := checkValue(str, bin)
	if err != nil || v == nil {
		return v, err
	}
	if err := checkToken(token); err != nil {
		return nil, err
	}
	return v, nil
}

func deleted(sec *storage.Secret) bool { return !sec.DeletionDate.IsZero() }

func errMarked() *Error { return &Error{Kind: KindInvalidRequest, Message: msgMarkedForDeletion} }

// midnight truncates t to the start of its UTC day (LastAccessedDate's grain).
func midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
