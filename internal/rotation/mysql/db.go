package mysql

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// dbConn is one logged-in session.
type dbConn struct {
	db      *sql.DB
	conn    *sql.Conn
	version string // SELECT VERSION()
	mariadb bool
}

func (c *dbConn) close() {
	c.conn.Close()
	c.db.Close()
}

// atLeast8 reports a MySQL (not MariaDB) server of major version 8 or later.
func (c *dbConn) atLeast8() bool {
	major, _, _ := strings.Cut(c.version, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 8
}

// connect is the templates' get_connection: TLS first unless the secret's
// "ssl" says otherwise, then plaintext when falling back is allowed.
func (r *Rotator) connect(ctx context.Context, d *secretDict, l *logger) (*dbConn, error) {
	port, err := d.port()
	if err != nil {
		return nil, err
	}
	useTLS, fallBack := d.sslConfig()
	c, err := r.dial(ctx, d, port, useTLS)
	if err != nil && useTLS && fallBack {
		c, err = r.dial(ctx, d, port, false)
		useTLS = false
	}
	if err != nil {
		return nil, err
	}
	kind := "non SSL/TLS"
	if useTLS {
		kind = "SSL/TLS"
	}
	l.printf("Successfully established %s connection as user '%s' with host: '%s'", kind, d.str("username"), d.str("host"))
	return c, nil
}

func (r *Rotator) dial(ctx context.Context, d *secretDict, port int, useTLS bool) (*dbConn, error) {
	cfg := gomysql.NewConfig()
	cfg.User = d.str("username")
	cfg.Passwd = d.str("password")
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(d.str("host"), strconv.Itoa(port))
	cfg.DBName = d.str("dbname")
	cfg.Timeout = r.ConnectTimeout
	cfg.ReadTimeout = 30 * time.Second
	cfg.WriteTimeout = 30 * time.Second
	cfg.InterpolateParams = true
	if useTLS {
		cfg.TLS = &tls.Config{ServerName: d.str("host"), MinVersion: tls.VersionTLS12}
	}
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", scrub(err))
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("log in as %q at %s: %w", cfg.User, cfg.Addr, err)
	}
	c := &dbConn{db: db, conn: conn}
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&c.version); err != nil {
		c.close()
		return nil, fmt.Errorf("select version as %q: %w", cfg.User, err)
	}
	c.mariadb = strings.Contains(strings.ToLower(c.version), "mariadb")
	return c, nil
}

// secretMode is how a statement carrying a new password is kept out of the
// server's logs.
type secretMode string

const (
	modeLogOff  secretMode = "general log off for the session"
	modeHash    secretMode = "password sent as its mysql_native_password hash"
	modeRewrite secretMode = "server rewrites passwords in its logs"
)

// protect prepares the session for a statement that sets a password (see
// the package comment). self is true when the session's own user will
// change its own password (single user), false when it sets another user's
// (the master). It changes only session variables.
func (c *dbConn) protect(ctx context.Context, self bool) (secretMode, error) {
	// Best effort: the slow log is not governed by sql_log_off; one year is
	// the variable's maximum.
	_, _ = c.conn.ExecContext(ctx, "SET SESSION long_query_time = 31536000")
	_, err := c.conn.ExecContext(ctx, "SET SESSION sql_log_off = 1")
	if err == nil {
		return modeLogOff, nil
	}
	var me *gomysql.MySQLError
	if !errors.As(err, &me) {
		return "", fmt.Errorf("set sql_log_off: %w", err)
	}
	if c.mariadb {
		if !self {
			return modeHash, nil
		}
		var create string
		if err := c.conn.QueryRowContext(ctx, "SHOW CREATE USER CURRENT_USER()").Scan(&create); err != nil {
			return "", fmt.Errorf("cannot keep the new password out of the server's logs: SET SESSION sql_log_off refused (needs SUPER) and SHOW CREATE USER failed: %w", err)
		}
		if !nativeOnly(create) {
			return "", errors.New("cannot keep the new password out of the server's logs: SET SESSION sql_log_off refused (needs SUPER) and the user does not authenticate with mysql_native_password alone, so its password cannot be sent as a hash")
		}
		return modeHash, nil
	}
	var logRaw sql.NullString
	if err := c.conn.QueryRowContext(ctx, "SELECT @@global.log_raw").Scan(&logRaw); err != nil {
		return "", fmt.Errorf("cannot keep the new password out of the server's logs: SET SESSION sql_log_off refused (needs SYSTEM_VARIABLES_ADMIN or SUPER) and @@log_raw unreadable: %w", err)
	}
	if v := strings.ToUpper(logRaw.String); v == "0" || v == "OFF" {
		return modeRewrite, nil
	}
	return "", errors.New("cannot keep the new password out of the server's logs: SET SESSION sql_log_off refused (needs SYSTEM_VARIABLES_ADMIN or SUPER) and log_raw is ON")
}

// nativeOnly reports whether a MariaDB SHOW CREATE USER text shows an
// account authenticated by mysql_native_password alone.
func nativeOnly(create string) bool {
	i := strings.Index(create, " IDENTIFIED ")
	if i < 0 {
		return true // no password: mysql_native_password with an empty one
	}
	rest := create[i+len(" IDENTIFIED "):]
	if strings.HasPrefix(rest, "BY PASSWORD '") {
		return !strings.Contains(rest, " OR ")
	}
	if strings.HasPrefix(rest, "VIA mysql_native_password") || strings.HasPrefix(rest, "WITH mysql_native_password") {
		return !strings.Contains(rest, " OR ")
	}
	return false
}

// nativeHash is the mysql_native_password hash of pw as the server stores
// it: '*' followed by upper-case hex SHA1(SHA1(pw)).
func nativeHash(pw string) string {
	h1 := sha1.Sum([]byte(pw))
	h2 := sha1.Sum(h1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(h2[:]))
}

// scrubbedError is a server error stripped of its message, which may quote
// the statement (and so the password it carries).
type scrubbedError struct {
	number uint16
	state  string
}

func (e *scrubbedError) Error() string {
	return fmt.Sprintf("server error %d (%s)", e.number, e.state)
}

// scrub returns err without any text that could quote a statement.
func scrub(err error) error {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		return &scrubbedError{number: me.Number, state: string(me.SQLState[:])}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errors.New("statement failed")
}

// quoteIdent quotes s as a MySQL identifier (backticks doubled).
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// account is the account name 'user'@'%' the templates assume.
func account(user string) string {
	return quoteIdent(user) + "@`%`"
}

func (c *dbConn) showGrants(ctx context.Context, acct string) ([]string, error) {
	rows, err := c.conn.QueryContext(ctx, "SHOW GRANTS FOR "+acct)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// replayGrant turns a SHOW GRANTS row of user into the same grant for
// pendAcct. isDefaultRole marks MariaDB's SET DEFAULT ROLE rows (to run after
// the role grants); ok is false for a row that is neither.
func replayGrant(row, user, pendAcct string) (stmt string, isDefaultRole, ok bool) {
	switch {
	case strings.HasPrefix(row, "GRANT "):
		i := -1
		for _, grantee := range []string{
			" TO " + quoteIdent(user) + "@`%`",
			" TO '" + strings.ReplaceAll(user, "'", "''") + "'@'%'",
			" TO '" + strings.ReplaceAll(user, "'", "\\'") + "'@'%'",
		} {
			if i = strings.Index(row, grantee); i >= 0 {
				break
			}
		}
		if i < 0 {
			i = strings.LastIndex(row, " TO ")
		}
		if i < 0 {
			return "", false, false
		}
		stmt = row[:i] + " TO " + pendAcct
		rest := row[i:]
		switch {
		case strings.Contains(rest, "GRANT OPTION"):
			stmt += " WITH GRANT OPTION"
		case strings.Contains(rest, "WITH ADMIN OPTION"):
			stmt += " WITH ADMIN OPTION"
		}
		return stmt, false, true
	case strings.HasPrefix(row, "SET DEFAULT ROLE "):
		j := strings.LastIndex(row, " FOR ")
		if j < len("SET DEFAULT ROLE ") {
			return "", false, false
		}
		return row[:j] + " FOR " + pendAcct, true, true
	}
	return "", false, false
}

// copyTLS gives pendAcct the TLS requirements of user@'%', as the
// templates do.
func (c *dbConn) copyTLS(ctx context.Context, user, pendAcct string) error {
	var sslType, cipher, issuer, subject sql.NullString
	err := c.conn.QueryRowContext(ctx,
		"SELECT ssl_type, ssl_cipher, x509_issuer, x509_subject FROM mysql.user WHERE User = ? AND Host = '%'", user,
	).Scan(&sslType, &cipher, &issuer, &subject)
	if err != nil {
		return err
	}
	prefix := "ALTER USER " + pendAcct + " REQUIRE"
	if !c.mariadb && strings.HasPrefix(c.version, "5.6") {
		prefix = "GRANT USAGE ON *.* TO " + pendAcct + " REQUIRE"
	}
	var args []any
	switch strings.ToUpper(sslType.String) {
	case "":
		prefix += " NONE"
	case "ANY":
		prefix += " SSL"
	case "X509":
		prefix += " X509"
	default:
		var parts []string
		for _, p := range []struct {
			kw string
			v  sql.NullString
		}{{"CIPHER", cipher}, {"ISSUER", issuer}, {"SUBJECT", subject}} {
			if p.v.String != "" {
				parts = append(parts, p.kw+" ?")
				args = append(args, p.v.String)
			}
		}
		if len(parts) == 0 {
			prefix += " SSL"
		} else {
			prefix += " " + strings.Join(parts, " AND ")
		}
	}
	_, err = c.conn.ExecContext(ctx, prefix, args...)
	return err
}
