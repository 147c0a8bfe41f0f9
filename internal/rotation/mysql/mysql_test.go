package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/coffer-dev/coffer/internal/rotation"
	"github.com/coffer-dev/coffer/internal/rotation/rotationtest"
)

const dbAddr = "127.0.0.1:3306"

// rootDB connects as root to the test MariaDB, skipping (or failing under
// CI=true) when it is unreachable.
func rootDB(t *testing.T) *sql.DB {
	t.Helper()
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", dbAddr, "test"
	cfg.Timeout = 2 * time.Second
	cfg.InterpolateParams = true // CREATE USER ... IDENTIFIED BY ? cannot be prepared
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("MariaDB at %s unreachable (root, no password, database test): %v", dbAddr, err)
		}
		t.Skipf("skipping: MariaDB at %s unreachable (root, no password, database test): %v", dbAddr, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// newUser creates user@'%' with password pw and the given grants (each a
// privilege clause applied with "GRANT <g> TO user"), dropping it and its
// clone at the end of the test.
func newUser(t *testing.T, db *sql.DB, name, pw string, grants ...string) {
	t.Helper()
	acct := account(name)
	t.Cleanup(func() {
		db.Exec("DROP USER IF EXISTS " + acct)
		db.Exec("DROP USER IF EXISTS " + account(name+cloneSuffix))
	})
	exec(t, db, "CREATE USER "+acct+" IDENTIFIED BY ?", pw)
	for _, g := range grants {
		g = strings.Replace(g, "%USER%", acct, 1)
		if !strings.Contains(g, " TO ") {
			g += " TO " + acct
		}
		exec(t, db, "GRANT "+g)
	}
}

func secretJSON(user, pw string, port int, extra map[string]any) string {
	m := map[string]any{"engine": "mariadb", "host": "127.0.0.1", "port": port, "username": user, "password": pw, "dbname": "test", "ssl": false}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// login reports whether user/pw can log in (port: the real server).
func login(user, pw string) error {
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, pw, "tcp", dbAddr, "test"
	cfg.Timeout = 2 * time.Second
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	return db.Ping()
}

// create adds the secret name to api and returns its ARN.
func create(api *rotationtest.SecretsAPI, name, value string) string {
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf"
	api.Create(arn, value)
	return arn
}

func stageDict(t *testing.T, api *rotationtest.SecretsAPI, arn, stage string) map[string]any {
	t.Helper()
	s, err := api.GetSecretValue(context.Background(), arn, "", stage)
	if err != nil {
		t.Fatalf("%s: %v", stage, err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustLogin(t *testing.T, api *rotationtest.SecretsAPI, arn, stage string) map[string]any {
	t.Helper()
	d := stageDict(t, api, arn, stage)
	if err := login(d["username"].(string), d["password"].(string)); err != nil {
		t.Fatalf("%s credentials (user %v) do not log in: %v", stage, d["username"], err)
	}
	return d
}

func mustNotLogin(t *testing.T, api *rotationtest.SecretsAPI, arn, stage string) {
	t.Helper()
	d := stageDict(t, api, arn, stage)
	if err := login(d["username"].(string), d["password"].(string)); err == nil {
		t.Fatalf("%s credentials (user %v) still log in", stage, d["username"])
	}
}

// noSecrets fails when text holds any of the passwords.
func noSecrets(t *testing.T, what, text string, pws []string) {
	t.Helper()
	for _, pw := range pws {
		if pw != "" && strings.Contains(text, pw) {
			t.Fatalf("%s holds a password", what)
		}
	}
}

// step invokes one step and checks its log and error hold no password.
func step(t *testing.T, fn rotation.Function, api *rotationtest.SecretsAPI, arn, token, name string, extra ...string) error {
	t.Helper()
	log, err := fn.Invoke(context.Background(), rotation.Event{SecretID: arn, ClientRequestToken: token, Step: name})
	pws := append(api.Passwords(), extra...)
	noSecrets(t, name+" log", log, pws)
	if err != nil {
		noSecrets(t, name+" error", err.Error(), pws)
	}
	return err
}

// rotate runs a whole rotation, every step twice (idempotency).
func rotate(t *testing.T, fn rotation.Function, api *rotationtest.SecretsAPI, arn string, extra ...string) string {
	t.Helper()
	token := api.StartRotation(arn)
	for _, s := range []string{rotation.StepCreate, rotation.StepSet, rotation.StepTest, rotation.StepFinish} {
		for i := 0; i < 2; i++ {
			if err := step(t, fn, api, arn, token, s, extra...); err != nil {
				t.Fatalf("%s (run %d): %v", s, i+1, err)
			}
		}
	}
	api.EndRotation(arn)
	return token
}

func TestSingleUserRotation(t *testing.T) {
	db := rootDB(t)
	api := rotationtest.NewSecretsAPI()
	user, pw0 := "ct"+randHex(4), "Init-"+randHex(8)
	newUser(t, db, user, pw0, "SELECT ON `test`.*")
	arn := create(api, user, secretJSON(user, pw0, 3306, map[string]any{"keep": "me"}))
	fn := SingleUser(api)

	if err := fn.(rotation.Checker).Check(context.Background(), arn); err != nil {
		t.Fatalf("Check: %v", err)
	}
	tok := rotate(t, fn, api, arn, pw0)
	cur := mustLogin(t, api, arn, stageCurrent)
	mustNotLogin(t, api, arn, stagePrevious)
	if cur["keep"] != "me" || cur["username"] != user || cur["port"] != float64(3306) {
		t.Fatalf("new version lost fields: keep=%v username=%v port=%v", cur["keep"], cur["username"], cur["port"])
	}
	if st := api.Stages(arn)[tok]; len(st) != 1 || st[0] != stageCurrent {
		t.Fatalf("new version stages %v", st)
	}
	if o := api.Options()[0]; o.Length != 32 || o.ExcludeCharacters != `/@"'\` || !o.RequireEachIncludedType {
		t.Fatalf("GetRandomPassword options %+v", o)
	}
	// A second rotation starts from the new current password.
	rotate(t, fn, api, arn, pw0)
	mustLogin(t, api, arn, stageCurrent)
	mustNotLogin(t, api, arn, stagePrevious)
}

// TestSingleUserFallsBackToPrevious: AWSCURRENT was moved to a version
// whose password was never set in the database (e.g. a failed manual
// change); setSecret logs in with AWSPREVIOUS, as the template does.
func TestSingleUserFallsBackToPrevious(t *testing.T) {
	db := rootDB(t)
	api := rotationtest.NewSecretsAPI()
	user, pw0 := "ct"+randHex(4), "Init-"+randHex(8)
	newUser(t, db, user, pw0, "SELECT ON `test`.*")
	arn := create(api, user, secretJSON(user, pw0, 3306, nil))
	bad := "Bad-" + randHex(8)
	if err := api.PutSecretValue(context.Background(), arn, "manual", secretJSON(user, bad, 3306, nil), []string{stageCurrent}); err != nil {
		t.Fatal(err)
	}
	mustNotLogin(t, api, arn, stageCurrent)
	rotate(t, SingleUser(api), api, arn, pw0, bad)
	mustLogin(t, api, arn, stageCurrent)
}

func grantsOf(t *testing.T, db *sql.DB, user string) []string {
	t.Helper()
	rows, err := db.Query("SHOW GRANTS FOR " + account(user))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		if i := strings.Index(g, " IDENTIFIED BY PASSWORD"); i >= 0 {
			g = g[:i]
		}
		out = append(out, strings.ReplaceAll(g, quoteIdent(user)+"@", "<u>@"))
	}
	sort.Strings(out)
	return out
}

func multiSetup(t *testing.T, db *sql.DB, api *rotationtest.SecretsAPI, masterGrants ...string) (arn, user, pw0, masterPW string) {
	t.Helper()
	h := randHex(3)
	master, masterPW := "cm"+h, "Master-"+randHex(8)
	newUser(t, db, master, masterPW, masterGrants...)
	masterARN := create(api, master, secretJSON(master, masterPW, 3306, nil))
	// A name that needs escaping.
	user, pw0 = "ct"+h+"'`\"x", "Init-"+randHex(8)
	table := quoteIdent("ct" + h + "_t")
	exec(t, db, "CREATE TABLE `test`."+table+" (c INT, d INT)")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS `test`." + table) })
	newUser(t, db, user, pw0,
		"SELECT, INSERT ON `test`.*",
		"UPDATE ON `test`.* TO %USER% WITH GRANT OPTION",
		"UPDATE (c) ON `test`."+table,
	)
	arn = create(api, user, secretJSON(user, pw0, 3306, map[string]any{"masterarn": masterARN}))
	return arn, user, pw0, masterPW
}

// limitedMaster can create users and grant what the app users hold, but has
// no SUPER: setSecret sends the clone's password as a hash.
var limitedMaster = []string{
	"CREATE USER ON *.* TO %USER% WITH GRANT OPTION",
	"SELECT ON `mysql`.*",
	"SELECT, INSERT, UPDATE ON `test`.* TO %USER% WITH GRANT OPTION",
}

func TestMultiUserRotation(t *testing.T) {
	db := rootDB(t)
	api := rotationtest.NewSecretsAPI()
	arn, user, pw0, masterPW := multiSetup(t, db, api, limitedMaster...)
	fn := MultiUser(api)
	if err := fn.(rotation.Checker).Check(context.Background(), arn); err != nil {
		t.Fatalf("Check: %v", err)
	}

	rotate(t, fn, api, arn, pw0, masterPW)
	cur := mustLogin(t, api, arn, stageCurrent)
	prev := mustLogin(t, api, arn, stagePrevious)
	if cur["username"] != user+cloneSuffix || prev["username"] != user {
		t.Fatalf("users: current %v previous %v", cur["username"], prev["username"])
	}
	want, got := grantsOf(t, db, user), grantsOf(t, db, user+cloneSuffix)
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Fatalf("clone grants differ:\nuser:  %q\nclone: %q", want, got)
	}
	if j := strings.Join(want, "\n"); len(want) != 3 || !strings.Contains(j, "WITH GRANT OPTION") || !strings.Contains(j, "UPDATE (`c`)") {
		t.Fatalf("unexpected grants of the user: %q", want)
	}

	// Back to the original user, with a new password.
	rotate(t, fn, api, arn, pw0, masterPW)
	cur = mustLogin(t, api, arn, stageCurrent)
	prev = mustLogin(t, api, arn, stagePrevious)
	if cur["username"] != user || prev["username"] != user+cloneSuffix {
		t.Fatalf("users: current %v previous %v", cur["username"], prev["username"])
	}
	if err := login(user, pw0); err == nil {
		t.Fatal("the original password still logs in after the second rotation")
	}
}

// proxy forwards TCP connections to the database until stopped; restart
// listens again on the same port.
type proxy struct {
	t     *testing.T
	addr  string
	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newProxy(t *testing.T) *proxy {
	p := &proxy{t: t, addr: "127.0.0.1:0"}
	p.start()
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) port() int {
	_, ps, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(ps)
	return n
}

func (p *proxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", dbAddr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestInterruptedSetSecret: the database becomes unreachable during
// setSecret; the step fails, AWSCURRENT keeps working, and rerunning the
// rotation once the database is back succeeds.
func TestInterruptedSetSecret(t *testing.T) {
	db := rootDB(t)
	for _, multi := range []bool{false, true} {
		name := map[bool]string{false: "single", true: "multi"}[multi]
		t.Run(name, func(t *testing.T) {
			api := rotationtest.NewSecretsAPI()
			p := newProxy(t)
			h := randHex(3)
			user, pw0 := "ct"+h, "Init-"+randHex(8)
			newUser(t, db, user, pw0, "SELECT ON `test`.*")
			extra := map[string]any{}
			var fn rotation.Function
			known := []string{pw0}
			if multi {
				master, mpw := "cm"+h, "Master-"+randHex(8)
				newUser(t, db, master, mpw, limitedMaster...)
				extra["masterarn"] = create(api, master, secretJSON(master, mpw, p.port(), nil))
				fn = MultiUser(api)
				known = append(known, mpw)
			} else {
				fn = SingleUser(api)
			}
			arn := create(api, user, secretJSON(user, pw0, p.port(), extra))
			if r, ok := fn.(*Rotator); ok {
				r.ConnectTimeout = time.Second
			}
			token := api.StartRotation(arn)
			if err := step(t, fn, api, arn, token, rotation.StepCreate, known...); err != nil {
				t.Fatal(err)
			}
			p.stop()
			if err := step(t, fn, api, arn, token, rotation.StepSet, known...); err == nil {
				t.Fatal("setSecret succeeded with the database unreachable")
			}
			mustLogin(t, api, arn, stageCurrent)
			// The service retries the whole run with the same token.
			p.start()
			for _, s := range []string{rotation.StepCreate, rotation.StepSet, rotation.StepTest, rotation.StepFinish} {
				if err := step(t, fn, api, arn, token, s, known...); err != nil {
					t.Fatalf("rerun %s: %v", s, err)
				}
				// Single user: between setSecret and finishSecret only the
				// pending password works (the templates' outage window).
				if multi || s == rotation.StepCreate || s == rotation.StepFinish {
					mustLogin(t, api, arn, stageCurrent)
				}
			}
			api.EndRotation(arn)
			if d := mustLogin(t, api, arn, stageCurrent); !multi && d["password"] == pw0 {
				t.Fatal("password not rotated")
			}
		})
	}
}

func TestCheck(t *testing.T) {
	db := rootDB(t)
	ctx := context.Background()

	t.Run("single wrong password", func(t *testing.T) {
		api := rotationtest.NewSecretsAPI()
		user := "ct" + randHex(4)
		newUser(t, db, user, "Right-"+randHex(4), "SELECT ON `test`.*")
		arn := create(api, user, secretJSON(user, "Wrong-"+randHex(4), 3306, nil))
		if err := SingleUser(api).(rotation.Checker).Check(ctx, arn); err == nil {
			t.Fatal("Check passed with a wrong current password")
		}
	})

	t.Run("single password cannot be kept out of the logs", func(t *testing.T) {
		// No SUPER (sql_log_off refused) and an account that is not
		// mysql_native_password alone (so no hash can be sent).
		api := rotationtest.NewSecretsAPI()
		user, pw := "ct"+randHex(4), "Init-"+randHex(8)
		t.Cleanup(func() { db.Exec("DROP USER IF EXISTS " + account(user)) })
		exec(t, db, "CREATE USER "+account(user)+" IDENTIFIED VIA mysql_native_password USING PASSWORD(?) OR unix_socket", pw)
		exec(t, db, "GRANT SELECT ON `test`.* TO "+account(user))
		arn := create(api, user, secretJSON(user, pw, 3306, nil))
		fn := SingleUser(api)
		if err := fn.(rotation.Checker).Check(ctx, arn); err == nil {
			t.Fatal("Check passed")
		}
		// setSecret refuses as well, and nothing changed.
		token := api.StartRotation(arn)
		if err := step(t, fn, api, arn, token, rotation.StepCreate, pw); err != nil {
			t.Fatal(err)
		}
		if err := step(t, fn, api, arn, token, rotation.StepSet, pw); err == nil {
			t.Fatal("setSecret passed")
		}
		if err := login(user, pw); err != nil {
			t.Fatalf("password changed: %v", err)
		}
	})

	for _, tc := range []struct {
		name   string
		grants []string
		ok     bool
	}{
		{"multi good", limitedMaster, true},
		{"multi master without CREATE USER", []string{"SELECT ON `mysql`.*", "SELECT, INSERT, UPDATE ON `test`.* TO %USER% WITH GRANT OPTION"}, false},
		{"multi master without GRANT OPTION", []string{"CREATE USER ON *.*", "SELECT ON `mysql`.*", "SELECT, INSERT, UPDATE ON `test`.*"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := rotationtest.NewSecretsAPI()
			arn, user, pw0, _ := multiSetup(t, db, api, tc.grants...)
			before := api.Stages(arn)
			grants := grantsOf(t, db, user)
			err := MultiUser(api).(rotation.Checker).Check(ctx, arn)
			if (err == nil) != tc.ok {
				t.Fatalf("Check: %v, want ok=%v", err, tc.ok)
			}
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE User = ?", user+cloneSuffix).Scan(&n); err != nil || n != 0 {
				t.Fatalf("Check created the clone (n=%d, err=%v)", n, err)
			}
			if strings.Join(grantsOf(t, db, user), "\n") != strings.Join(grants, "\n") {
				t.Fatal("Check changed the user's grants")
			}
			if err := login(user, pw0); err != nil {
				t.Fatalf("Check changed the password: %v", err)
			}
			after := api.Stages(arn)
			if len(before) != len(after) {
				t.Fatal("Check changed the secret's versions")
			}
		})
	}
}

// TestNoPasswordInGeneralLog turns the general query log on (to a table)
// and checks that no generated password reaches it, through every path:
// single user with and without SUPER, master with and without SUPER.
func TestNoPasswordInGeneralLog(t *testing.T) {
	db := rootDB(t)
	var logOutput string
	var generalLog int
	if err := db.QueryRow("SELECT @@global.log_output, @@global.general_log").Scan(&logOutput, &generalLog); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec("SET GLOBAL general_log = ?", generalLog)
		db.Exec("SET GLOBAL log_output = ?", logOutput)
		db.Exec("TRUNCATE TABLE mysql.general_log")
	})
	exec(t, db, "SET GLOBAL general_log = OFF")
	exec(t, db, "TRUNCATE TABLE mysql.general_log")
	exec(t, db, "SET GLOBAL log_output = 'TABLE'")
	exec(t, db, "SET GLOBAL general_log = ON")

	api := rotationtest.NewSecretsAPI()
	var known []string

	h := randHex(3)
	plain, plainPW := "cp"+h, "Init-"+randHex(8)
	newUser(t, db, plain, plainPW, "SELECT ON `test`.*")
	rotate(t, SingleUser(api), api, create(api, plain, secretJSON(plain, plainPW, 3306, nil)), plainPW)

	super, superPW := "cs"+h, "Init-"+randHex(8)
	newUser(t, db, super, superPW, "SUPER ON *.*", "SELECT ON `test`.*")
	rotate(t, SingleUser(api), api, create(api, super, secretJSON(super, superPW, 3306, nil)), superPW)

	arn, _, pw0, mpw := multiSetup(t, db, api, limitedMaster...)
	known = append(known, pw0, mpw)
	rotate(t, MultiUser(api), api, arn, known...)
	rotate(t, MultiUser(api), api, arn, known...)

	arn2, _, _, mpw2 := multiSetup(t, db, api, "ALL PRIVILEGES ON *.* TO %USER% WITH GRANT OPTION")
	rotate(t, MultiUser(api), api, arn2, mpw2)

	marker := "coffer-log-marker-" + randHex(4)
	exec(t, db, "SELECT ?", marker)
	exec(t, db, "SET GLOBAL general_log = OFF")

	rows, err := db.Query("SELECT argument FROM mysql.general_log")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sawMarker, sawHash bool
	n := 0
	for rows.Next() {
		var arg []byte
		if err := rows.Scan(&arg); err != nil {
			t.Fatal(err)
		}
		n++
		s := string(arg)
		sawMarker = sawMarker || strings.Contains(s, marker)
		sawHash = sawHash || strings.Contains(s, "SET PASSWORD = '*")
		for i, pw := range api.Passwords() {
			if strings.Contains(s, pw) {
				t.Fatalf("general log holds generated password #%d (in a %d-byte entry)", i, len(s))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !sawMarker {
		t.Fatalf("the general log did not record the marker statement (%d entries): the test proves nothing", n)
	}
	if !sawHash {
		t.Fatal("the hash path (single user without SUPER) did not run")
	}
	if len(api.Passwords()) != 5 {
		t.Fatalf("%d passwords generated, want 5", len(api.Passwords()))
	}
}

func TestHandlerChecks(t *testing.T) {
	ctx := context.Background()
	api := rotationtest.NewSecretsAPI()
	arn := create(api, "x", secretJSON("u", "p", 3306, nil))
	fn := SingleUser(api)
	// Token unknown.
	if _, err := fn.Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: "nope", Step: rotation.StepCreate}); err == nil {
		t.Fatal("unknown token accepted")
	}
	// Token is AWSCURRENT: nothing to do.
	var cur string
	for id := range api.Stages(arn) {
		cur = id
	}
	if _, err := fn.Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: cur, Step: rotation.StepSet}); err != nil {
		t.Fatalf("AWSCURRENT token: %v", err)
	}
	// Token without AWSPENDING.
	if err := api.PutSecretValue(ctx, arn, "other", secretJSON("u", "q", 3306, nil), []string{"CUSTOM"}); err != nil {
		t.Fatal(err)
	}
	if _, err := fn.Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: "other", Step: rotation.StepCreate}); err == nil {
		t.Fatal("token without AWSPENDING accepted")
	}
	token := api.StartRotation(arn)
	if _, err := fn.Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: token, Step: "bogus"}); err == nil {
		t.Fatal("invalid step accepted")
	}
	// createSecret fills the placeholder, once.
	if _, err := fn.Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: token, Step: rotation.StepCreate}); err != nil {
		t.Fatal(err)
	}
	if _, err := fn.Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: token, Step: rotation.StepCreate}); err != nil {
		t.Fatal(err)
	}
	if len(api.Passwords()) != 1 {
		t.Fatalf("%d passwords generated, want 1", len(api.Passwords()))
	}
	// finishSecret without setSecret still moves the label (template).
	if _, err := fn.Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: token, Step: rotation.StepFinish}); err != nil {
		t.Fatal(err)
	}
	if st := api.Stages(arn)[token]; !slices.Contains(st, stageCurrent) {
		t.Fatalf("stages %v", st)
	}
	// Rotation disabled.
	api.SetRotationEnabled(arn, false)
	if _, err := fn.Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: token, Step: rotation.StepCreate}); err == nil {
		t.Fatal("rotation disabled accepted")
	}
	// Wrong engine.
	arn2 := create(api, "y", `{"engine":"postgres","host":"h","username":"u","password":"p"}`)
	tok2 := api.StartRotation(arn2)
	if _, err := fn.Invoke(ctx, rotation.Event{SecretID: arn2, ClientRequestToken: tok2, Step: rotation.StepCreate}); err == nil {
		t.Fatal("postgres secret accepted")
	}
}

func TestAltUsername(t *testing.T) {
	r := newRotator(nil, true)
	for _, tc := range []struct{ engine, in, want string }{
		{"mysql", "app", "app_clone"},
		{"mysql", "app_clone", "app"},
		{"mysql", "abcdefghijk", ""}, // 17 > 16
		{"mariadb", "abcdefghijk", "abcdefghijk_clone"},
	} {
		got, err := r.altUsername(&secretDict{m: map[string]any{"engine": tc.engine, "username": tc.in}})
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s %q: no error", tc.engine, tc.in)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %q = %q, %v; want %q", tc.engine, tc.in, got, err, tc.want)
		}
	}
}

func TestNativeHash(t *testing.T) {
	// SELECT PASSWORD('p2') on MariaDB.
	if got := nativeHash("p2"); got != "*89063080929868A5DFEC18596EC951918DC26DB5" {
		t.Fatalf("nativeHash = %s", got)
	}
}

func TestReplayGrant(t *testing.T) {
	p := account("new")
	for _, tc := range []struct{ user, row, want string }{
		{"u", "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*ABC'", "GRANT USAGE ON *.* TO `new`@`%`"},
		{"u", "GRANT SELECT ON `a TO b`.* TO `u`@`%` WITH GRANT OPTION", "GRANT SELECT ON `a TO b`.* TO `new`@`%` WITH GRANT OPTION"},
		{"u", "GRANT SELECT ON `db`.* TO 'u'@'%'", "GRANT SELECT ON `db`.* TO `new`@`%`"},
		{"u", "GRANT `r` TO `u`@`%` WITH ADMIN OPTION", "GRANT `r` TO `new`@`%` WITH ADMIN OPTION"},
		{"u`x", "GRANT SELECT ON *.* TO `u``x`@`%`", "GRANT SELECT ON *.* TO `new`@`%`"},
		{"u", "SET DEFAULT ROLE `r` FOR `u`@`%`", "SET DEFAULT ROLE `r` FOR `new`@`%`"},
	} {
		got, _, ok := replayGrant(tc.row, tc.user, p)
		if !ok || got != tc.want {
			t.Errorf("%q → %q (ok=%v), want %q", tc.row, got, ok, tc.want)
		}
	}
	if _, _, ok := replayGrant("REVOKE x", "u", p); ok {
		t.Error("non-GRANT row accepted")
	}
}

func TestScrub(t *testing.T) {
	err := scrub(&gomysql.MySQLError{Number: 1064, SQLState: [5]byte{'4', '2', '0', '0', '0'}, Message: "near 'secret-pw'"})
	if strings.Contains(err.Error(), "secret-pw") {
		t.Fatal("scrub kept the message")
	}
	var se *scrubbedError
	if !errors.As(err, &se) || se.number != 1064 {
		t.Fatalf("scrub = %v", err)
	}
}
