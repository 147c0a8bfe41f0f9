package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/rotation"
	"github.com/coffer-dev/coffer/internal/rotation/rotationtest"
)

const arnPrefix = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"

var steps = []string{rotation.StepCreate, rotation.StepSet, rotation.StepTest, rotation.StepFinish}

func secretJSON(t *testing.T, user, password string, extra map[string]any) string {
	t.Helper()
	m := map[string]any{"engine": "postgres", "host": "127.0.0.1", "port": cluster.port,
		"username": user, "password": password, "dbname": "postgres"}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type creds struct{ user, password string }

func credsOf(t *testing.T, api *rotationtest.SecretsAPI, arn, stage string) creds {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(api.Value(arn, stage)), &m); err != nil {
		t.Fatalf("%s of %s: %v", stage, arn, err)
	}
	u, _ := m["username"].(string)
	p, _ := m["password"].(string)
	return creds{u, p}
}

// noSecrets fails when text holds any password the test knows, without
// printing it.
func noSecrets(t *testing.T, what, text string, api *rotationtest.SecretsAPI, fixtures ...string) {
	t.Helper()
	for _, p := range append(api.Passwords(), fixtures...) {
		if p != "" && strings.Contains(text, p) {
			t.Fatalf("%s holds a password", what)
		}
	}
}

func invoke(t *testing.T, fn rotation.Function, api *rotationtest.SecretsAPI, arn, token, step string) error {
	t.Helper()
	log, err := fn.Invoke(testCtx(t), rotation.Event{SecretID: arn, ClientRequestToken: token, Step: step})
	noSecrets(t, step+" log", log, api)
	if err != nil {
		noSecrets(t, step+" error", err.Error(), api)
	}
	return err
}

// rotate runs a whole rotation as the service does, each step twice (they
// must be idempotent), and returns the new version id.
func rotate(t *testing.T, fn rotation.Function, api *rotationtest.SecretsAPI, arn string) string {
	t.Helper()
	token := api.StartRotation(arn)
	for _, step := range steps {
		for i := 0; i < 2; i++ {
			if err := invoke(t, fn, api, arn, token, step); err != nil {
				t.Fatalf("%s (call %d): %v", step, i+1, err)
			}
		}
	}
	api.EndRotation(arn)
	return token
}

func TestSingleUserRotation(t *testing.T) {
	needCluster(t)
	const user, initial = `Sing"le User`, "initial-Pw-1"
	createUser(t, user, initial, "")
	api := rotationtest.NewSecretsAPI()
	arn := arnPrefix + "single-AbCdEf"
	api.Create(arn, secretJSON(t, user, initial, map[string]any{"note": "kept"}))
	fn := SingleUser(api)

	rotate(t, fn, api, arn)
	if n := len(api.Passwords()); n != 1 {
		t.Fatalf("GetRandomPassword called %d times, want 1", n)
	}
	want := rotation.PasswordOptions{Length: 32, ExcludeCharacters: `:/@"'\`, RequireEachIncludedType: true}
	if api.Options()[0] != want {
		t.Errorf("GetRandomPassword options = %+v, want the template's %+v", api.Options()[0], want)
	}
	cur, prev := credsOf(t, api, arn, "AWSCURRENT"), credsOf(t, api, arn, "AWSPREVIOUS")
	if cur.user != user || cur.password != api.Passwords()[0] || prev.password != initial {
		t.Fatalf("labels after rotation: current user %q, previous is initial: %v", cur.user, prev.password == initial)
	}
	if !login(t, cur.user, cur.password) {
		t.Error("AWSCURRENT does not log in after rotation")
	}
	if login(t, prev.user, prev.password) {
		t.Error("AWSPREVIOUS still logs in after single-user rotation")
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(api.Value(arn, "AWSCURRENT")), &m)
	if m["note"] != "kept" || m["port"] != float64(cluster.port) {
		t.Errorf("extra keys or port not preserved: note=%v port=%v", m["note"], m["port"])
	}

	// The database lost the current password but still has the previous
	// one (as after a restore): setSecret falls back to AWSPREVIOUS.
	v, _ := scramVerifier(prev.password)
	superExec(t, fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'", pgx.Identifier{user}.Sanitize(), v))
	rotate(t, fn, api, arn)
	cur, prev = credsOf(t, api, arn, "AWSCURRENT"), credsOf(t, api, arn, "AWSPREVIOUS")
	if !login(t, cur.user, cur.password) {
		t.Error("AWSCURRENT does not log in after a rotation through AWSPREVIOUS")
	}
	if login(t, prev.user, prev.password) || login(t, user, initial) {
		t.Error("an old password still logs in")
	}

	logText := serverLog(t)
	noSecrets(t, "the server log", logText, api)
	if !strings.Contains(logText, `ALTER ROLE "Sing""le User" WITH PASSWORD 'SCRAM-SHA-256$4096:`) {
		t.Error("the server log lacks the ALTER ROLE statement with a SCRAM verifier (is log_statement=all on?)")
	}
}

// interruptSetSecret starts a rotation of arn, runs createSecret, and then
// setSecret with every connection going to a closed port, which must fail.
// It returns the rotation's token; later connections reach the database.
func interruptSetSecret(t *testing.T, r *Rotator, api *rotationtest.SecretsAPI, arn string) string {
	t.Helper()
	var fail atomic.Bool
	r.dial = func(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
		if fail.Load() {
			cfg.Port = 1 // nothing listens there
		}
		return pgx.ConnectConfig(ctx, cfg)
	}

	token := api.StartRotation(arn)
	if err := invoke(t, r, api, arn, token, rotation.StepCreate); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	if err := invoke(t, r, api, arn, token, rotation.StepSet); err == nil {
		t.Fatal("setSecret succeeded with the database unreachable")
	}
	fail.Store(false)
	return token
}

func TestSingleUserInterruptedSetSecret(t *testing.T) {
	needCluster(t)
	const user, initial = "single_interrupted", "initial-Pw-2"
	createUser(t, user, initial, "")
	api := rotationtest.NewSecretsAPI()
	arn := arnPrefix + "single-int"
	api.Create(arn, secretJSON(t, user, initial, map[string]any{"ssl": false}))
	fn := SingleUser(api).(*Rotator)
	token := interruptSetSecret(t, fn, api, arn)
	cur := credsOf(t, api, arn, "AWSCURRENT")
	if !login(t, cur.user, cur.password) {
		t.Fatal("AWSCURRENT does not log in after the failed setSecret")
	}
	pending := credsOf(t, api, arn, "AWSPENDING")
	if login(t, pending.user, pending.password) {
		t.Fatal("AWSPENDING logs in although setSecret failed")
	}
	for _, step := range steps[1:] {
		if err := invoke(t, fn, api, arn, token, step); err != nil {
			t.Fatalf("%s after the failure: %v", step, err)
		}
	}
	api.EndRotation(arn)
	cur = credsOf(t, api, arn, "AWSCURRENT")
	if cur.password != pending.password || !login(t, cur.user, cur.password) {
		t.Fatal("AWSCURRENT does not log in after the resumed rotation")
	}
	noSecrets(t, "the server log", serverLog(t), api)
}

func multiSetup(t *testing.T, user, initial, master, masterAttrs string) (*rotationtest.SecretsAPI, string) {
	t.Helper()
	const masterPw = "master-Pw-3"
	createUser(t, user, initial, "")
	createUser(t, master, masterPw, masterAttrs)
	api := rotationtest.NewSecretsAPI()
	arn, masterARN := arnPrefix+user, arnPrefix+master
	api.Create(masterARN, secretJSON(t, master, masterPw, nil))
	api.Create(arn, secretJSON(t, user, initial, map[string]any{"masterarn": masterARN}))
	return api, arn
}

func TestMultiUserRotation(t *testing.T) {
	needCluster(t)
	const user, initial = "Multi_App", "initial-Pw-4"
	api, arn := multiSetup(t, user, initial, "multi_master", "CREATEROLE")
	superExec(t, `CREATE TABLE multi_t (x int)`, `INSERT INTO multi_t VALUES (7)`, `GRANT SELECT ON multi_t TO "Multi_App"`)
	fn := MultiUser(api)
	if err := fn.(rotation.Checker).Check(testCtx(t), arn); err != nil {
		t.Fatalf("Check before the first rotation: %v", err)
	}

	rotate(t, fn, api, arn)
	cur, prev := credsOf(t, api, arn, "AWSCURRENT"), credsOf(t, api, arn, "AWSPREVIOUS")
	if cur.user != user+"_clone" || prev.user != user || prev.password != initial {
		t.Fatalf("after the first rotation: current user %q, previous user %q", cur.user, prev.user)
	}
	if !login(t, cur.user, cur.password) || !login(t, prev.user, prev.password) {
		t.Fatal("AWSCURRENT (clone) and AWSPREVIOUS (original) must both log in")
	}
	// The clone has the original's privileges through membership.
	cfg, _ := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=disable user=%s", cluster.port, cur.user))
	cfg.Password = cur.password
	conn, err := pgx.ConnectConfig(testCtx(t), cfg)
	if err != nil {
		t.Fatal("clone login failed")
	}
	var x int
	err = conn.QueryRow(testCtx(t), "SELECT x FROM multi_t").Scan(&x)
	closeConn(conn)
	if err != nil || x != 7 {
		t.Fatalf("clone cannot read the original's table: %v", err)
	}
	if err := fn.(rotation.Checker).Check(testCtx(t), arn); err != nil {
		t.Fatalf("Check with the clone current: %v", err)
	}

	rotate(t, fn, api, arn)
	cur, prev = credsOf(t, api, arn, "AWSCURRENT"), credsOf(t, api, arn, "AWSPREVIOUS")
	if cur.user != user || prev.user != user+"_clone" {
		t.Fatalf("after the second rotation: current user %q, previous user %q", cur.user, prev.user)
	}
	if !login(t, cur.user, cur.password) || !login(t, prev.user, prev.password) {
		t.Fatal("AWSCURRENT and AWSPREVIOUS must both log in after the second rotation")
	}
	if login(t, user, initial) {
		t.Error("the original password still logs in after its user was rotated")
	}
	if n := len(api.Passwords()); n != 2 {
		t.Errorf("GetRandomPassword called %d times, want 2", n)
	}

	logText := serverLog(t)
	noSecrets(t, "the server log", logText, api)
	for _, want := range []string{
		`CREATE ROLE "Multi_App_clone" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:`,
		`GRANT "Multi_App" TO "Multi_App_clone"`,
		`ALTER ROLE "Multi_App" WITH PASSWORD 'SCRAM-SHA-256$4096:`,
	} {
		if !strings.Contains(logText, want) {
			t.Errorf("the server log lacks %s", want)
		}
	}
}

func TestMultiUserInterruptedSetSecret(t *testing.T) {
	needCluster(t)
	const user, initial = "multi_interrupted", "initial-Pw-5"
	api, arn := multiSetup(t, user, initial, "multi_master2", "CREATEROLE")
	fn := MultiUser(api).(*Rotator)
	token := interruptSetSecret(t, fn, api, arn)
	if !login(t, user, initial) {
		t.Fatal("AWSCURRENT does not log in after the failed setSecret")
	}
	for _, step := range steps[1:] {
		if err := invoke(t, fn, api, arn, token, step); err != nil {
			t.Fatalf("%s after the failure: %v", step, err)
		}
		if c := credsOf(t, api, arn, "AWSCURRENT"); !login(t, c.user, c.password) {
			t.Fatalf("AWSCURRENT does not log in after %s", step)
		}
	}
	api.EndRotation(arn)
	cur, prev := credsOf(t, api, arn, "AWSCURRENT"), credsOf(t, api, arn, "AWSPREVIOUS")
	if cur.user != user+"_clone" || !login(t, cur.user, cur.password) || !login(t, prev.user, prev.password) {
		t.Fatal("after the resumed rotation AWSCURRENT (clone) and AWSPREVIOUS must both log in")
	}
}

func TestCheck(t *testing.T) {
	needCluster(t)
	ctx := testCtx(t)

	// Single user: the AWSCURRENT credentials must log in.
	const user, pw = "check_single", "initial-Pw-6"
	createUser(t, user, pw, "")
	api := rotationtest.NewSecretsAPI()
	arn := arnPrefix + "check-single"
	api.Create(arn, secretJSON(t, user, pw, nil))
	fn := SingleUser(api).(*Rotator)
	if err := fn.Check(ctx, arn); err != nil {
		t.Fatalf("Check on a good single-user secret: %v", err)
	}
	const wrong = "not-the-Password-7"
	api.Set(arn, "AWSCURRENT", secretJSON(t, user, wrong, nil))
	err := fn.Check(ctx, arn)
	if err == nil {
		t.Fatal("Check passed with a wrong AWSCURRENT password")
	}
	noSecrets(t, "the Check error", err.Error(), api, wrong, pw)
	if !login(t, user, pw) {
		t.Fatal("Check changed the password")
	}

	// Multi user: a master without CREATEROLE cannot create the clone.
	const muser, mpw = "check_multi", "initial-Pw-8"
	mapi, marn := multiSetup(t, muser, mpw, "weak_master", "")
	mfn := MultiUser(mapi).(*Rotator)
	before := len(serverLog(t))
	err = mfn.Check(ctx, marn)
	if err == nil || !strings.Contains(err.Error(), "CREATEROLE") {
		t.Fatalf("Check with a master lacking CREATEROLE = %v, want a privilege error", err)
	}
	noSecrets(t, "the Check error", err.Error(), mapi, mpw, "master-Pw-3")
	after := serverLog(t)[before:]
	for _, verb := range []string{"ALTER", "CREATE", "GRANT", "DROP"} {
		if strings.Contains(strings.ToUpper(after), verb+" ") {
			t.Errorf("Check sent a %s statement", verb)
		}
	}
	if login(t, muser+"_clone", mpw) || !login(t, muser, mpw) {
		t.Fatal("Check changed the database")
	}
	// The same master makes setSecret fail, and the clone is not created.
	token := mapi.StartRotation(marn)
	if err := invoke(t, mfn, mapi, marn, token, rotation.StepCreate); err != nil {
		t.Fatal(err)
	}
	if err := invoke(t, mfn, mapi, marn, token, rotation.StepSet); err == nil {
		t.Fatal("setSecret succeeded with a master lacking CREATEROLE")
	}
	// With CREATEROLE the check passes.
	superExec(t, `ALTER ROLE weak_master CREATEROLE`)
	if err := mfn.Check(ctx, marn); err != nil {
		t.Fatalf("Check with a CREATEROLE master: %v", err)
	}
}

// The handler's checks (lambda_handler) need no database.
func TestHandlerChecks(t *testing.T) {
	api := rotationtest.NewSecretsAPI()
	arn := arnPrefix + "handler"
	api.Create(arn, `{"engine":"postgres","host":"h","username":"u","password":"p"}`)
	fn := SingleUser(api)
	ctx := context.Background()
	call := func(token, step string) (string, error) {
		return fn.Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: token, Step: step})
	}
	if _, err := call("no-such-token", rotation.StepCreate); err == nil || !strings.Contains(err.Error(), "has no stage for rotation") {
		t.Errorf("unknown token: %v", err)
	}
	meta, _ := api.DescribeSecret(ctx, arn)
	var currentID string
	for id := range meta.VersionIDsToStages {
		currentID = id
	}
	if log, err := call(currentID, rotation.StepSet); err != nil || !strings.Contains(log, "already set as AWSCURRENT") {
		t.Errorf("AWSCURRENT token: log %q, err %v", log, err)
	}
	token := api.StartRotation(arn)
	if _, err := call(token, "rotateSecret"); err == nil || !strings.Contains(err.Error(), "invalid step") {
		t.Errorf("invalid step: %v", err)
	}
	if err := invoke(t, fn, api, arn, token, rotation.StepCreate); err != nil {
		t.Fatal(err)
	}
	// The version keeps its value but loses AWSPENDING: not a rotation.
	if err := api.UpdateSecretVersionStage(ctx, arn, "AWSPENDING", "", token); err != nil {
		t.Fatal(err)
	}
	api.SetStages(arn, token, "LABEL")
	if _, err := call(token, rotation.StepSet); err == nil || !strings.Contains(err.Error(), "not set as AWSPENDING") {
		t.Errorf("token without AWSPENDING: %v", err)
	}

	// createSecret validates the current secret like get_secret_dict.
	for name, value := range map[string]string{
		"mysql":   `{"engine":"mysql","host":"h","username":"u","password":"p"}`,
		"no host": `{"engine":"postgres","username":"u","password":"p"}`,
		"bad":     `{"engine":"postgres","host":"h","username":"u","password":"secret-in-bad-json"`,
	} {
		a := rotationtest.NewSecretsAPI()
		a.Create(arn, value)
		tok := a.StartRotation(arn)
		_, err := SingleUser(a).Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: tok, Step: rotation.StepCreate})
		if !errors.Is(err, errInvalidSecret) || strings.Contains(err.Error(), "secret-in-bad-json") {
			t.Errorf("%s: createSecret error = %v", name, err)
		}
	}

	// Multi user: the clone name must fit in 63 bytes.
	long := strings.Repeat("u", 60)
	a := rotationtest.NewSecretsAPI()
	a.Create(arn, `{"engine":"postgres","host":"h","username":"`+long+`","password":"p","masterarn":"m"}`)
	tok := a.StartRotation(arn)
	if _, err := MultiUser(a).Invoke(ctx, rotation.Event{SecretID: arn, ClientRequestToken: tok, Step: rotation.StepCreate}); err == nil || !strings.Contains(err.Error(), "63") {
		t.Errorf("too long clone name: %v", err)
	}
	if alt, _ := altUsername("app_clone"); alt != "app" {
		t.Errorf("altUsername(app_clone) = %q", alt)
	}
}
