package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Check verifies, without changing anything (it only runs SELECTs), that a
// rotation of secretID can work: the AWSCURRENT credentials log in as the
// user they name, and
//   - single user: that user may change its own password (any PostgreSQL
//     role may: ALTER ROLE self PASSWORD needs no privilege), so logging in
//     as itself is the check;
//   - multi user: the alternate user name fits in 63 bytes, the master
//     secret (masterarn) is on the same host and logs in, and the master
//     may create or alter the alternate user and grant it the current
//     user's role: superuser, or CREATEROLE on non-superuser roles (from
//     PostgreSQL 16 also ADMIN OPTION on those roles).
func (r *Rotator) Check(ctx context.Context, secretID string) error {
	current, err := r.getSecret(ctx, secretID, "", stageCurrent)
	if err != nil {
		return fmt.Errorf("postgres rotation: check: %w", err)
	}
	conn, err := r.connect(ctx, current)
	if err != nil {
		return fmt.Errorf("postgres rotation: check: unable to log in with the AWSCURRENT credentials of secret %s: %w", secretID, err)
	}
	var sessionUser string
	err = conn.QueryRow(ctx, "SELECT session_user").Scan(&sessionUser)
	closeConn(conn)
	if err != nil {
		return fmt.Errorf("postgres rotation: check: %w", err)
	}
	if sessionUser != current.str("username") {
		return fmt.Errorf("postgres rotation: check: logged in as %q, not as the secret's user %q", sessionUser, current.str("username"))
	}
	if !r.multi {
		return nil
	}

	alt, err := altUsername(current.str("username"))
	if err != nil {
		return err
	}
	master, masterARN, err := r.masterSecret(ctx, current)
	if err != nil {
		return fmt.Errorf("postgres rotation: check: %w", err)
	}
	conn, err = r.connect(ctx, master)
	if err != nil {
		return fmt.Errorf("postgres rotation: check: unable to log in with the credentials in master secret %s: %w", masterARN, err)
	}
	defer closeConn(conn)
	return checkMasterPrivileges(ctx, conn, current.str("username"), alt)
}

func checkMasterPrivileges(ctx context.Context, conn *pgx.Conn, user, alt string) error {
	var (
		master             string
		super, createRole  bool
		version            int
		userSuper, altSup  bool
		altExists          bool
		adminUser, adminAl bool
	)
	err := conn.QueryRow(ctx, `SELECT current_user, r.rolsuper, r.rolcreaterole,
		current_setting('server_version_num')::int
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&master, &super, &createRole, &version)
	if err != nil {
		return fmt.Errorf("postgres rotation: check: read the master's attributes: %w", err)
	}
	if super {
		return nil
	}
	if !createRole {
		return fmt.Errorf("postgres rotation: check: master user %q has neither SUPERUSER nor CREATEROLE: it cannot create or alter %q", master, alt)
	}
	err = conn.QueryRow(ctx, `SELECT
		COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = $1), false),
		COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = $2), false),
		EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2)`, user, alt).Scan(&userSuper, &altSup, &altExists)
	if err != nil {
		return fmt.Errorf("postgres rotation: check: read the users' attributes: %w", err)
	}
	if userSuper || altSup {
		return fmt.Errorf("postgres rotation: check: %q or %q is a superuser: only a superuser master can rotate it", user, alt)
	}
	if version < 160000 {
		return nil
	}
	// PostgreSQL 16: CREATEROLE acts only on roles the master holds with
	// ADMIN OPTION (it gets it on the roles it creates).
	err = conn.QueryRow(ctx, `SELECT
		pg_has_role(current_user, $1, 'MEMBER WITH ADMIN OPTION'),
		CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2)
		  THEN pg_has_role(current_user, $2, 'MEMBER WITH ADMIN OPTION') ELSE true END`, user, alt).Scan(&adminUser, &adminAl)
	if err != nil {
		return fmt.Errorf("postgres rotation: check: read the master's role memberships: %w", err)
	}
	if !adminUser {
		return fmt.Errorf("postgres rotation: check: master user %q lacks ADMIN OPTION on role %q: it cannot grant it to %q", master, user, alt)
	}
	if altExists && !adminAl {
		return fmt.Errorf("postgres rotation: check: master user %q lacks ADMIN OPTION on role %q: it cannot change its password", master, alt)
	}
	return nil
}
