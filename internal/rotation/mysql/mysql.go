// Package mysql holds coffer's built-in rotation functions for MySQL and
// MariaDB: the equivalents of AWS's templates
// SecretsManagerRDSMySQLRotationSingleUser / MultiUser and
// SecretsManagerRDSMariaDBRotationSingleUser / MultiUser, step by step, in
// one implementation that detects the server's flavour from SELECT VERSION().
//
// It is imported by the rotation engine (package rotation and whoever wires
// the built-in rotators, e.g. package server); it imports only the rotation
// contract and the go-sql-driver/mysql driver.
//
// Keeping the new password out of the server's logs: the driver interpolates
// parameters client-side (InterpolateParams), so a statement that carries a
// clear password would be written verbatim to the general query log. Before
// any such statement a rotator runs SET SESSION sql_log_off = 1 (and raises
// the session's long_query_time to keep it out of the slow log). When that is
// refused (it needs SUPER / SYSTEM_VARIABLES_ADMIN):
//   - on MariaDB, the password is sent as its mysql_native_password hash
//     ('*' + upper hex SHA1(SHA1(pw))): SET PASSWORD = '<hash>' for the
//     single user (after checking with SHOW CREATE USER that the account
//     authenticates with mysql_native_password only), IDENTIFIED BY PASSWORD
//     '<hash>' for the clone created by the master;
//   - on MySQL, the clear statement is sent only when @@log_raw is OFF: MySQL
//     then rewrites password-bearing statements itself in the general, slow
//     and binary logs; with log_raw ON the step is refused.
//
// See Rotator for the differences from AWS's templates.
package mysql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/rotation"
)

const (
	stageCurrent  = "AWSCURRENT"
	stagePending  = "AWSPENDING"
	stagePrevious = "AWSPREVIOUS"

	cloneSuffix = "_clone"
)

// DefaultExcludeCharacters is the templates' EXCLUDE_CHARACTERS default.
const DefaultExcludeCharacters = "/@\"'\\"

// Rotator is the rotation function returned by SingleUser and MultiUser. Its
// exported fields are the templates' environment variables; the engine may
// type-assert the returned rotation.Function to *Rotator to change them
// before the first Invoke.
//
// Differences from AWS's templates (all deliberate):
//   - the single-user password change is SET PASSWORD as in the templates
//     (MariaDB refuses ALTER USER on oneself without CREATE USER);
//   - the multi-user clone is created locked (CREATE USER ... ACCOUNT LOCK),
//     gets its grants and TLS requirements, and only then its password
//     (ALTER USER ... IDENTIFIED BY ... ACCOUNT UNLOCK), so a setSecret
//     interrupted half-way cannot leave a clone that logs in with the pending
//     password but lacks grants (the templates' pending-login short-cut would
//     then skip the grants forever);
//   - grant rows are split at the last " TO " and WITH GRANT OPTION / WITH
//     ADMIN OPTION are kept; MariaDB's SET DEFAULT ROLE rows are replayed;
//   - the master host must equal the current host: there is no RDS API to ask
//     whether one is a read replica of the other.
type Rotator struct {
	api   rotation.SecretsAPI
	multi bool

	// Password holds GetRandomPassword's options. Defaults: the templates'
	// EXCLUDE_CHARACTERS (/@"'\), PASSWORD_LENGTH 32 and
	// REQUIRE_EACH_INCLUDED_TYPE true.
	Password rotation.PasswordOptions
	// UsernameCharacterLimit bounds the clone's name (multi-user). 0 means
	// the templates' defaults: 16 for mysql/aurora-mysql (MySQL template's
	// USERNAME_CHARACTER_LIMIT), 80 for mariadb.
	UsernameCharacterLimit int
	// ConnectTimeout is the dial timeout of every login (template: 5 s).
	ConnectTimeout time.Duration
}

// SingleUser returns the single-user rotation function: the user changes
// its own password (the old one stops working at setSecret).
func SingleUser(api rotation.SecretsAPI) rotation.Function { return newRotator(api, false) }

// MultiUser returns the alternating-users rotation function: the master
// (secret "masterarn") creates <username>_clone with the same grants and the
// rotation alternates between the two users, so the previous credentials
// keep working until the next rotation.
func MultiUser(api rotation.SecretsAPI) rotation.Function { return newRotator(api, true) }

func newRotator(api rotation.SecretsAPI, multi bool) *Rotator {
	return &Rotator{
		api:   api,
		multi: multi,
		Password: rotation.PasswordOptions{
			Length:                  32,
			ExcludeCharacters:       DefaultExcludeCharacters,
			RequireEachIncludedType: true,
		},
		ConnectTimeout: 5 * time.Second,
	}
}

var (
	_ rotation.Function = (*Rotator)(nil)
	_ rotation.Checker  = (*Rotator)(nil)
)

// logger collects the function's log (never a secret value).
type logger struct{ b strings.Builder }

func (l *logger) printf(format string, args ...any) {
	fmt.Fprintf(&l.b, format, args...)
	l.b.WriteByte('\n')
}

// Invoke runs one step, as the templates' lambda_handler.
func (r *Rotator) Invoke(ctx context.Context, ev rotation.Event) (string, error) {
	var l logger
	err := r.invoke(ctx, ev, &l)
	if err != nil {
		l.printf("%s: %v", ev.Step, err)
	}
	return l.b.String(), err
}

func (r *Rotator) invoke(ctx context.Context, ev rotation.Event, l *logger) error {
	done, err := rotation.StartStep(ctx, r.api, ev, l.printf)
	if err != nil || done {
		return err
	}
	set := r.setSecretSingle
	if r.multi {
		set = r.setSecretMulti
	}
	return rotation.Steps[*logger]{Create: r.createSecret, Set: set, Test: r.testSecret, Finish: r.finishSecret}.Run(ctx, ev, l)
}

func (r *Rotator) createSecret(ctx context.Context, arn, token string, l *logger) error {
	current, err := r.getSecret(ctx, arn, "", stageCurrent)
	if err != nil {
		return err
	}
	if _, err := r.getSecret(ctx, arn, token, stagePending); err == nil {
		l.printf("createSecret: Successfully retrieved secret for %s.", arn)
		return nil
	} else if !errors.Is(err, rotation.ErrNotFound) {
		return err
	}
	if r.multi {
		alt, err := r.altUsername(current)
		if err != nil {
			return err
		}
		current.set("username", alt)
	}
	pw, err := r.api.GetRandomPassword(ctx, r.Password)
	if err != nil {
		return fmt.Errorf("get random password: %w", err)
	}
	current.set("password", pw)
	value, err := current.marshal()
	if err != nil {
		return err
	}
	if err := r.api.PutSecretValue(ctx, arn, token, value, []string{stagePending}); err != nil {
		return fmt.Errorf("put pending secret value: %w", err)
	}
	l.printf("createSecret: Successfully put secret for ARN %s and version %s.", arn, token)
	return nil
}

func (r *Rotator) testSecret(ctx context.Context, arn, token string, l *logger) error {
	pending, err := r.getSecret(ctx, arn, token, stagePending)
	if err != nil {
		return err
	}
	c, err := r.connect(ctx, pending, l)
	if err != nil {
		return fmt.Errorf("unable to log into database with pending secret of secret ARN %s: %w", arn, err)
	}
	defer c.close()
	var now string
	if err := c.conn.QueryRowContext(ctx, "SELECT NOW()").Scan(&now); err != nil {
		return fmt.Errorf("test pending secret of %s: %w", arn, err)
	}
	l.printf("testSecret: Successfully signed into database with AWSPENDING secret in %s.", arn)
	return nil
}

func (r *Rotator) finishSecret(ctx context.Context, arn, token string, l *logger) error {
	return rotation.FinishStep(ctx, r.api, arn, token, l.printf)
}

// readForSet is how both set_secret templates start: it reads AWSCURRENT
// and version token's AWSPENDING; done reports that the pending secret
// logs in already, so setSecret has nothing left to do.
func (r *Rotator) readForSet(ctx context.Context, arn, token string, l *logger) (current, pending *secretDict, done bool, err error) {
	current, err = r.getSecret(ctx, arn, "", stageCurrent)
	if err != nil {
		return nil, nil, false, err
	}
	pending, err = r.getSecret(ctx, arn, token, stagePending)
	if err != nil {
		return nil, nil, false, err
	}
	if c, err := r.connect(ctx, pending, l); err == nil {
		c.close()
		l.printf("setSecret: AWSPENDING secret is already set as password in database for secret arn %s.", arn)
		return current, pending, true, nil
	}
	return current, pending, false, nil
}

// setSecretSingle is the single-user template's set_secret: log in with
// pending (done), else current, else previous, and change the password as
// that user.
func (r *Rotator) setSecretSingle(ctx context.Context, arn, token string, l *logger) error {
	previous, perr := r.getSecret(ctx, arn, "", stagePrevious)
	if perr != nil {
		previous = nil
	}
	current, pending, done, err := r.readForSet(ctx, arn, token, l)
	if err != nil || done {
		return err
	}
	if current.str("username") != pending.str("username") {
		return fmt.Errorf("attempting to modify user %q other than current user %q", pending.str("username"), current.str("username"))
	}
	if current.str("host") != pending.str("host") {
		return fmt.Errorf("attempting to modify user for host %q other than current host %q", pending.str("host"), current.str("host"))
	}
	c, cerr := r.connect(ctx, current, l)
	if cerr != nil && previous != nil {
		// Use the current secret's TLS setting, as the template does.
		delete(previous.m, "ssl")
		if v, ok := current.m["ssl"]; ok {
			previous.m["ssl"] = v
		}
		if previous.str("username") != pending.str("username") {
			return fmt.Errorf("attempting to modify user %q other than previous valid user %q", pending.str("username"), previous.str("username"))
		}
		if previous.str("host") != pending.str("host") {
			return fmt.Errorf("attempting to modify user for host %q other than previous host %q", pending.str("host"), previous.str("host"))
		}
		c, cerr = r.connect(ctx, previous, l)
	}
	if cerr != nil {
		return fmt.Errorf("unable to log into database with previous, current, or pending secret of secret arn %s: %w", arn, cerr)
	}
	defer c.close()

	mode, err := c.protect(ctx, true)
	if err != nil {
		return err
	}
	var stmt string
	var arg string
	switch {
	case mode == modeHash:
		stmt, arg = "SET PASSWORD = ?", nativeHash(pending.str("password"))
	case c.mariadb || !c.atLeast8():
		stmt, arg = "SET PASSWORD = PASSWORD(?)", pending.str("password")
	default:
		stmt, arg = "SET PASSWORD = ?", pending.str("password")
	}
	if _, err := c.conn.ExecContext(ctx, stmt, arg); err != nil {
		return fmt.Errorf("set password for user %q: %w", pending.str("username"), scrub(err))
	}
	l.printf("setSecret: Successfully set password for user %s in database for secret arn %s (%s).", pending.str("username"), arn, mode)
	return nil
}

// setSecretMulti is the multi-user template's set_secret: the master
// creates the alternate user if needed, copies the current user's grants
// and TLS requirements to it and sets its password.
func (r *Rotator) setSecretMulti(ctx context.Context, arn, token string, l *logger) error {
	current, pending, done, err := r.readForSet(ctx, arn, token, l)
	if err != nil || done {
		return err
	}
	alt, err := r.altUsername(current)
	if err != nil {
		return err
	}
	if alt != pending.str("username") {
		return fmt.Errorf("attempting to modify user %q other than current user or clone %q", pending.str("username"), current.str("username"))
	}
	if current.str("host") != pending.str("host") {
		return fmt.Errorf("attempting to modify user for host %q other than current host %q", pending.str("host"), current.str("host"))
	}
	// Guard against a confused deputy: the credential being rotated must be
	// valid.
	cc, err := r.connect(ctx, current, l)
	if err != nil {
		return fmt.Errorf("unable to log into database using current credentials for secret %s: %w", arn, err)
	}
	cc.close()

	mc, masterARN, err := r.connectMaster(ctx, current, l)
	if err != nil {
		return err
	}
	defer mc.close()
	mode, err := mc.protect(ctx, false)
	if err != nil {
		return err
	}

	curUser, pendUser := current.str("username"), pending.str("username")
	curAcct, pendAcct := account(curUser), account(pendUser)
	var n int
	if err := mc.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = '%'", pendUser).Scan(&n); err != nil {
		return fmt.Errorf("look up user %q: %w", pendUser, err)
	}
	if n == 0 {
		if _, err := mc.conn.ExecContext(ctx, "CREATE USER "+pendAcct+" ACCOUNT LOCK"); err != nil {
			return fmt.Errorf("create user %q: %w", pendUser, err)
		}
		l.printf("setSecret: Created user %s (locked until its password is set).", pendUser)
	}

	grants, err := mc.showGrants(ctx, curAcct)
	if err != nil {
		return fmt.Errorf("show grants for %q: %w", curUser, err)
	}
	var defaultRoles []string
	for _, g := range grants {
		stmt, isDefaultRole, ok := replayGrant(g, curUser, pendAcct)
		if !ok {
			l.printf("setSecret: Skipped a grant row of %s that is not a GRANT statement.", curUser)
			continue
		}
		if isDefaultRole {
			defaultRoles = append(defaultRoles, stmt)
			continue
		}
		if _, err := mc.conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("copy grant of %q to %q: %w", curUser, pendUser, err)
		}
	}
	for _, stmt := range defaultRoles {
		if _, err := mc.conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("copy default role of %q to %q: %w", curUser, pendUser, err)
		}
	}

	if err := mc.copyTLS(ctx, curUser, pendAcct); err != nil {
		return fmt.Errorf("copy TLS options of %q to %q: %w", curUser, pendUser, err)
	}

	var stmt, arg string
	switch {
	case mode == modeHash:
		stmt, arg = "ALTER USER "+pendAcct+" IDENTIFIED BY PASSWORD ? ACCOUNT UNLOCK", nativeHash(pending.str("password"))
	default:
		stmt, arg = "ALTER USER "+pendAcct+" IDENTIFIED BY ? ACCOUNT UNLOCK", pending.str("password")
	}
	if _, err := mc.conn.ExecContext(ctx, stmt, arg); err != nil {
		return fmt.Errorf("set password for user %q: %w", pendUser, scrub(err))
	}
	l.printf("setSecret: Successfully set password for %s in database for secret arn %s as master %s (%s).", pendUser, arn, masterARN, mode)
	return nil
}

// connectMaster loads the master secret named by current's masterarn, checks
// its host and logs in with it.
func (r *Rotator) connectMaster(ctx context.Context, current *secretDict, l *logger) (*dbConn, string, error) {
	masterARN := current.str("masterarn")
	if masterARN == "" {
		return nil, "", errors.New("masterarn key is missing from secret JSON")
	}
	master, err := r.getSecret(ctx, masterARN, "", stageCurrent)
	if err != nil {
		return nil, "", fmt.Errorf("master secret %s: %w", masterARN, err)
	}
	if current.str("host") != master.str("host") {
		return nil, "", fmt.Errorf("current database host %q is not the same host as master %q", current.str("host"), master.str("host"))
	}
	mc, err := r.connect(ctx, master, l)
	if err != nil {
		return nil, "", fmt.Errorf("unable to log into database using credentials in master secret %s: %w", masterARN, err)
	}
	return mc, masterARN, nil
}

func (r *Rotator) altUsername(d *secretDict) (string, error) {
	u := d.str("username")
	if strings.HasSuffix(u, cloneSuffix) {
		return strings.TrimSuffix(u, cloneSuffix), nil
	}
	limit := r.UsernameCharacterLimit
	if limit <= 0 {
		limit = 16
		if d.str("engine") == "mariadb" {
			limit = 80
		}
	}
	alt := u + cloneSuffix
	if len([]rune(alt)) > limit {
		return "", fmt.Errorf("unable to clone user, username length with _clone appended would exceed %d characters", limit)
	}
	return alt, nil
}

// Check implements rotation.Checker: it logs in with AWSCURRENT and checks,
// without changing anything, the privileges setSecret needs.
func (r *Rotator) Check(ctx context.Context, secretID string) error {
	var l logger
	current, err := r.getSecret(ctx, secretID, "", stageCurrent)
	if err != nil {
		return err
	}
	c, err := r.connect(ctx, current, &l)
	if err != nil {
		return fmt.Errorf("unable to log into database with the current secret of %s: %w", secretID, err)
	}
	defer c.close()
	if !r.multi {
		// The user changes its own password with SET PASSWORD, which needs
		// no privilege; what can fail is keeping it out of the logs.
		if _, err := c.protect(ctx, true); err != nil {
			return err
		}
		return nil
	}
	if _, err := r.altUsername(current); err != nil {
		return err
	}
	mc, masterARN, err := r.connectMaster(ctx, current, &l)
	if err != nil {
		return err
	}
	defer mc.close()
	var who string
	if err := mc.conn.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&who); err != nil {
		return fmt.Errorf("master: %w", err)
	}
	i := strings.LastIndexByte(who, '@')
	if i < 0 {
		return fmt.Errorf("master: unexpected CURRENT_USER() %q", who)
	}
	grantee := "'" + who[:i] + "'@'" + who[i+1:] + "'"
	rows, err := mc.conn.QueryContext(ctx, "SELECT PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?", grantee)
	if err != nil {
		return fmt.Errorf("master privileges: %w", err)
	}
	var createUser, grantOption bool
	for rows.Next() {
		var p, g string
		if err := rows.Scan(&p, &g); err != nil {
			rows.Close()
			return fmt.Errorf("master privileges: %w", err)
		}
		if p == "CREATE USER" {
			createUser = true
		}
		if g == "YES" {
			grantOption = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("master privileges: %w", err)
	}
	var missing []string
	if !createUser {
		missing = append(missing, "CREATE USER")
	}
	if !grantOption {
		missing = append(missing, "GRANT OPTION")
	}
	if len(missing) > 0 {
		return fmt.Errorf("master secret %s: user %s lacks the global privilege(s) %s", masterARN, who, strings.Join(missing, ", "))
	}
	var n int
	if err := mc.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ?", current.str("username")).Scan(&n); err != nil {
		return fmt.Errorf("master secret %s cannot read mysql.user: %w", masterARN, err)
	}
	if _, err := mc.showGrants(ctx, account(current.str("username"))); err != nil {
		return fmt.Errorf("master secret %s cannot show the grants of %q: %w", masterARN, current.str("username"), err)
	}
	if _, err := mc.protect(ctx, false); err != nil {
		return err
	}
	return nil
}

// secretDict is a secret's JSON object; unknown keys are preserved.
type secretDict struct{ m map[string]any }

// getSecret reads and validates a secret version (ErrNotFound passes
// through wrapped).
func (r *Rotator) getSecret(ctx context.Context, id, versionID, stage string) (*secretDict, error) {
	s, err := r.api.GetSecretValue(ctx, id, versionID, stage)
	if err != nil {
		return nil, fmt.Errorf("get %s secret of %s: %w", stage, id, err)
	}
	d := &secretDict{}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&d.m); err != nil || d.m == nil {
		// The decoder's message may quote the value: do not wrap it.
		return nil, fmt.Errorf("%s secret of %s is not a valid JSON object", stage, id)
	}
	switch d.str("engine") {
	case "mysql", "aurora-mysql", "mariadb":
	default:
		return nil, fmt.Errorf("%s secret of %s: database engine must be set to 'mysql', 'aurora-mysql' or 'mariadb' in order to use this rotation function", stage, id)
	}
	for _, k := range []string{"host", "username", "password"} {
		if _, ok := d.m[k].(string); !ok {
			return nil, fmt.Errorf("%s secret of %s: %s key is missing from secret JSON", stage, id, k)
		}
	}
	if u := d.str("username"); u == "" || strings.ContainsRune(u, 0) {
		return nil, fmt.Errorf("%s secret of %s: invalid username", stage, id)
	}
	return d, nil
}

func (d *secretDict) str(k string) string {
	s, _ := d.m[k].(string)
	return s
}

func (d *secretDict) set(k, v string) { d.m[k] = v }

func (d *secretDict) marshal() (string, error) {
	b, err := json.Marshal(d.m)
	if err != nil {
		return "", errors.New("encode secret JSON")
	}
	return string(b), nil
}

func (d *secretDict) port() (int, error) {
	switch v := d.m["port"].(type) {
	case nil:
		return 3306, nil
	case json.Number:
		p, err := strconv.Atoi(v.String())
		if err != nil {
			return 0, fmt.Errorf("invalid port %q", v.String())
		}
		return p, nil
	case string:
		p, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("invalid port %q", v)
		}
		return p, nil
	default:
		return 0, errors.New("invalid port")
	}
}

// sslConfig is the templates' get_ssl_config: (use TLS, fall back to
// plaintext on failure).
func (d *secretDict) sslConfig() (bool, bool) {
	switch v := d.m["ssl"].(type) {
	case bool:
		return v, false
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, false
		case "false":
			return false, false
		}
	}
	return true, true
}
