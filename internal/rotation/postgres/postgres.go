// Package postgres holds coffer's built-in PostgreSQL rotation functions:
// the behaviour of AWS's SecretsManagerRDSPostgreSQLRotationSingleUser and
// SecretsManagerRDSPostgreSQLRotationMultiUser templates, step for step,
// over a rotation.SecretsAPI instead of boto3 and pgx instead of PyGreSQL.
//
// One deliberate difference: new passwords reach PostgreSQL as SCRAM-SHA-256
// verifiers computed here, never as clear text, so the server's statement
// log (log_statement=all) never holds a password.
//
// Only the rotation engine (package rotation and its wiring in server)
// imports this package.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/coffer-dev/coffer/internal/rotation"
)

const (
	stageCurrent  = "AWSCURRENT"
	stagePending  = "AWSPENDING"
	stagePrevious = "AWSPREVIOUS"

	cloneSuffix     = "_clone"
	maxIdentLen     = 63 // NAMEDATALEN-1, the template's limit for the clone name
	defaultExcluded = `:/@"'\`
)

// Rotator is the rotation function returned by SingleUser and MultiUser.
// Its fields are the templates' environment variables; set them before the
// first Invoke.
type Rotator struct {
	// Password is what GetRandomPassword is called with: the templates'
	// EXCLUDE_CHARACTERS (`:/@"'\`), PASSWORD_LENGTH (32), EXCLUDE_* (false)
	// and REQUIRE_EACH_INCLUDED_TYPE (true).
	Password rotation.PasswordOptions
	// ConnectTimeout bounds each connection attempt (the templates' 5 s).
	ConnectTimeout time.Duration

	api   rotation.SecretsAPI
	multi bool
	// dial opens a connection; tests replace it to fail connections.
	dial func(context.Context, *pgx.ConnConfig) (*pgx.Conn, error)
}

var (
	_ rotation.Function = (*Rotator)(nil)
	_ rotation.Checker  = (*Rotator)(nil)
)

func newRotator(api rotation.SecretsAPI, multi bool) *Rotator {
	return &Rotator{
		Password: rotation.PasswordOptions{
			Length:                  32,
			ExcludeCharacters:       defaultExcluded,
			RequireEachIncludedType: true,
		},
		ConnectTimeout: 5 * time.Second,
		api:            api,
		multi:          multi,
	}
}

// SingleUser returns the single-user rotation function
// (SecretsManagerRDSPostgreSQLRotationSingleUser): the user changes its own
// password; the old password stops working at setSecret. The value is a
// *Rotator and also implements rotation.Checker.
func SingleUser(api rotation.SecretsAPI) rotation.Function { return newRotator(api, false) }

// MultiUser returns the alternating-users rotation function
// (SecretsManagerRDSPostgreSQLRotationMultiUser): the master secret named by
// the secret's masterarn creates or updates <username>_clone, and each
// rotation switches between the two users, so the previous credentials keep
// working until the next rotation. The value is a *Rotator and also
// implements rotation.Checker.
func MultiUser(api rotation.SecretsAPI) rotation.Function { return newRotator(api, true) }

// logBuf collects what the function writes for the operator: the lines the
// templates log at INFO/ERROR, none of which holds a secret value.
type logBuf struct{ strings.Builder }

func (l *logBuf) printf(format string, args ...any) {
	fmt.Fprintf(&l.Builder, format, args...)
	l.WriteByte('\n')
}

// Invoke is the template's lambda_handler.
func (r *Rotator) Invoke(ctx context.Context, ev rotation.Event) (string, error) {
	var lg logBuf
	err := r.invoke(ctx, ev, &lg)
	if err != nil {
		lg.printf("%s: error: %v", ev.Step, err)
	}
	return lg.String(), err
}

func (r *Rotator) invoke(ctx context.Context, ev rotation.Event, lg *logBuf) error {
	if ev.SecretID == "" || ev.ClientRequestToken == "" {
		return errors.New("postgres rotation: the event needs SecretId and ClientRequestToken")
	}
	done, err := rotation.StartStep(ctx, r.api, ev, lg.printf)
	if err != nil {
		return fmt.Errorf("postgres rotation: %w", err)
	}
	if done {
		return nil
	}
	set := r.setSecretSingle
	if r.multi {
		set = r.setSecretMulti
	}
	return rotation.Steps[*logBuf]{Create: r.createSecret, Set: set, Test: r.testSecret, Finish: r.finishSecret}.Run(ctx, ev, lg)
}

// altUsername is the template's get_alt_username.
func altUsername(current string) (string, error) {
	if base, ok := strings.CutSuffix(current, cloneSuffix); ok {
		return base, nil
	}
	n := current + cloneSuffix
	if len(n) > maxIdentLen {
		return "", errors.New("postgres rotation: unable to clone user, username length with _clone appended would exceed 63 characters")
	}
	return n, nil
}

func (r *Rotator) createSecret(ctx context.Context, arn, token string, lg *logBuf) error {
	current, err := r.getSecret(ctx, arn, "", stageCurrent)
	if err != nil {
		return fmt.Errorf("postgres rotation: createSecret: %w", err)
	}
	_, err = r.getSecret(ctx, arn, token, stagePending)
	if err == nil {
		lg.printf("createSecret: Successfully retrieved secret for %s.", arn)
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("postgres rotation: createSecret: %w", err)
	}
	pending := maps.Clone(current)
	if r.multi {
		alt, err := altUsername(current.str("username"))
		if err != nil {
			return err
		}
		pending["username"] = alt
	}
	pw, err := r.api.GetRandomPassword(ctx, r.Password)
	if err != nil {
		return fmt.Errorf("postgres rotation: createSecret: get random password: %w", err)
	}
	pending["password"] = pw
	s, err := pending.marshal()
	if err != nil {
		return err
	}
	if err := r.api.PutSecretValue(ctx, arn, token, s, []string{stagePending}); err != nil {
		return fmt.Errorf("postgres rotation: createSecret: put secret value: %w", err)
	}
	lg.printf("createSecret: Successfully put secret for ARN %s and version %s.", arn, token)
	return nil
}

// tryConnect is connect for the login cascade: a failed login is logged
// and reported as nil, as the template's get_connection returns None.
func (r *Rotator) tryConnect(ctx context.Context, d secretDict, lg *logBuf) *pgx.Conn {
	conn, err := r.connect(ctx, d)
	if err != nil {
		lg.printf("Unable to log in as user '%s' on host '%s': %v", d.str("username"), d.str("host"), err)
		return nil
	}
	return conn
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// readForSet is how both set_secret templates start: it reads AWSCURRENT
// and version token's AWSPENDING; done reports that the pending secret
// logs in already, so setSecret has nothing left to do.
func (r *Rotator) readForSet(ctx context.Context, arn, token string, lg *logBuf) (current, pending secretDict, done bool, err error) {
	current, err = r.getSecret(ctx, arn, "", stageCurrent)
	if err != nil {
		return nil, nil, false, fmt.Errorf("postgres rotation: setSecret: %w", err)
	}
	pending, err = r.getSecret(ctx, arn, token, stagePending)
	if err != nil {
		return nil, nil, false, fmt.Errorf("postgres rotation: setSecret: %w", err)
	}
	if conn := r.tryConnect(ctx, pending, lg); conn != nil {
		closeConn(conn)
		lg.printf("setSecret: AWSPENDING secret is already set as password in PostgreSQL DB for secret arn %s.", arn)
		return current, pending, true, nil
	}
	return current, pending, false, nil
}

func (r *Rotator) setSecretSingle(ctx context.Context, arn, token string, lg *logBuf) error {
	previous, err := r.getSecret(ctx, arn, "", stagePrevious)
	if err != nil {
		if !isNotFound(err) && !errors.Is(err, errInvalidSecret) {
			return fmt.Errorf("postgres rotation: setSecret: %w", err)
		}
		previous = nil
	}
	current, pending, done, err := r.readForSet(ctx, arn, token, lg)
	if err != nil || done {
		return err
	}
	if current.str("username") != pending.str("username") {
		return fmt.Errorf("postgres rotation: attempting to modify user %s other than current user %s", pending.str("username"), current.str("username"))
	}
	if current.str("host") != pending.str("host") {
		return fmt.Errorf("postgres rotation: attempting to modify user for host %s other than current host %s", pending.str("host"), current.str("host"))
	}

	conn := r.tryConnect(ctx, current, lg)
	if conn == nil && previous != nil {
		// Log in with AWSPREVIOUS using the current TLS settings.
		delete(previous, "ssl")
		if v, ok := current["ssl"]; ok {
			previous["ssl"] = v
		}
		conn = r.tryConnect(ctx, previous, lg)
		if previous.str("username") != pending.str("username") || previous.str("host") != pending.str("host") {
			if conn != nil {
				closeConn(conn)
			}
			return fmt.Errorf("postgres rotation: attempting to modify user %s on host %s other than previous valid user %s on host %s",
				pending.str("username"), pending.str("host"), previous.str("username"), previous.str("host"))
		}
	}
	if conn == nil {
		return fmt.Errorf("postgres rotation: unable to log into database with previous, current, or pending secret of secret arn %s", arn)
	}
	defer closeConn(conn)

	if err := setPassword(ctx, conn, "ALTER ROLE", pending); err != nil {
		return err
	}
	lg.printf("setSecret: Successfully set password for user %s in PostgreSQL DB for secret arn %s.", pending.str("username"), arn)
	return nil
}

// execer is what *pgx.Conn and pgx.Tx have in common here.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// setPassword runs `<verb> "<username>" WITH [LOGIN] PASSWORD '<verifier>'`
// for d's username and password, as a SCRAM-SHA-256 verifier.
func setPassword(ctx context.Context, q execer, verb string, d secretDict) error {
	verifier, err := scramVerifier(d.str("password"))
	if err != nil {
		return err
	}
	lit, err := quoteLiteral(verifier)
	if err != nil {
		return err
	}
	with := "WITH PASSWORD "
	if verb == "CREATE ROLE" {
		with = "WITH LOGIN PASSWORD "
	}
	user := d.str("username")
	sql := verb + " " + pgx.Identifier{user}.Sanitize() + " " + with + lit
	if _, err := q.Exec(ctx, sql); err != nil {
		return fmt.Errorf("postgres rotation: %s %q: %w", strings.ToLower(verb), user, err)
	}
	return nil
}

func (r *Rotator) setSecretMulti(ctx context.Context, arn, token string, lg *logBuf) error {
	current, pending, done, err := r.readForSet(ctx, arn, token, lg)
	if err != nil || done {
		return err
	}
	alt, err := altUsername(current.str("username"))
	if err != nil {
		return err
	}
	if alt != pending.str("username") {
		return fmt.Errorf("postgres rotation: attempting to modify user %s other than current user or clone %s", pending.str("username"), current.str("username"))
	}
	if current.str("host") != pending.str("host") {
		return fmt.Errorf("postgres rotation: attempting to modify user for host %s other than current host %s", pending.str("host"), current.str("host"))
	}
	// The current credentials must work: guards against a confused deputy.
	conn := r.tryConnect(ctx, current, lg)
	if conn == nil {
		return fmt.Errorf("postgres rotation: unable to log into database using current credentials for secret %s", arn)
	}
	closeConn(conn)

	master, masterARN, err := r.masterSecret(ctx, current)
	if err != nil {
		return err
	}
	conn = r.tryConnect(ctx, master, lg)
	if conn == nil {
		return fmt.Errorf("postgres rotation: unable to log into database using credentials in master secret %s", masterARN)
	}
	defer closeConn(conn)

	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres rotation: setSecret: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", pending.str("username")).Scan(&exists); err != nil {
		return fmt.Errorf("postgres rotation: setSecret: look up role: %w", err)
	}
	if !exists {
		if err := setPassword(ctx, tx, "CREATE ROLE", pending); err != nil {
			return err
		}
		grant := "GRANT " + pgx.Identifier{current.str("username")}.Sanitize() + " TO " + pgx.Identifier{pending.str("username")}.Sanitize()
		if _, err := tx.Exec(ctx, grant); err != nil {
			return fmt.Errorf("postgres rotation: grant %q to %q: %w", current.str("username"), pending.str("username"), err)
		}
	} else if err := setPassword(ctx, tx, "ALTER ROLE", pending); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres rotation: setSecret: commit: %w", err)
	}
	lg.printf("setSecret: Successfully set password for %s in PostgreSQL DB for secret arn %s.", pending.str("username"), arn)
	return nil
}

// masterSecret loads the secret named by current's masterarn (AWSCURRENT),
// with current's dbname, and checks it is for the same host. The RDS
// replica lookup of the template (is_rds_replica_database) and the host
// lookup for RDS-managed master secrets are AWS APIs coffer has not: a
// master secret must name the same host.
func (r *Rotator) masterSecret(ctx context.Context, current secretDict) (secretDict, string, error) {
	masterARN := current.str("masterarn")
	if masterARN == "" {
		return nil, "", fmt.Errorf("postgres rotation: %w: masterarn key is missing from secret JSON", errInvalidSecret)
	}
	master, err := r.getSecret(ctx, masterARN, "", stageCurrent)
	if err != nil {
		return nil, "", fmt.Errorf("postgres rotation: master secret: %w", err)
	}
	if db, ok := current["dbname"]; ok {
		master["dbname"] = db
	} else {
		delete(master, "dbname")
	}
	if current.str("host") != master.str("host") {
		return nil, "", fmt.Errorf("postgres rotation: current database host %s is not the same host as master %s", current.str("host"), master.str("host"))
	}
	return master, masterARN, nil
}

func (r *Rotator) testSecret(ctx context.Context, arn, token string, lg *logBuf) error {
	pending, err := r.getSecret(ctx, arn, token, stagePending)
	if err != nil {
		return fmt.Errorf("postgres rotation: testSecret: %w", err)
	}
	conn := r.tryConnect(ctx, pending, lg)
	if conn == nil {
		return fmt.Errorf("postgres rotation: unable to log into database with pending secret of secret ARN %s", arn)
	}
	defer closeConn(conn)
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT NOW()").Scan(&now); err != nil {
		return fmt.Errorf("postgres rotation: testSecret: SELECT NOW(): %w", err)
	}
	lg.printf("testSecret: Successfully signed into PostgreSQL DB with AWSPENDING secret in %s.", arn)
	return nil
}

func (r *Rotator) finishSecret(ctx context.Context, arn, token string, lg *logBuf) error {
	if err := rotation.FinishStep(ctx, r.api, arn, token, lg.printf); err != nil {
		return fmt.Errorf("postgres rotation: finishSecret: %w", err)
	}
	return nil
}
