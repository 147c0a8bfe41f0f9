package smapi

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

const canary = "canary-xyz"

// leaks reports where the canary shows up in any printed form of x.
func leaks(t *testing.T, x any) []string {
	return leaksVia(t, x, true)
}

// leaksVia is leaks, with slog's JSON handler only when withJSON is set.
func leaksVia(t *testing.T, x any, withJSON bool) []string {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString([]byte(canary))
	hexed := fmt.Sprintf("%x", canary)
	var found []string
	check := func(how, s string) {
		if strings.Contains(s, canary) || strings.Contains(s, b64) || strings.Contains(s, hexed) {
			found = append(found, how+": "+s)
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %10.3v"} {
		check(verb, fmt.Sprintf(verb, x))
	}
	check("Sprint", fmt.Sprint(x))
	check("Sprintln", fmt.Sprintln(x, []any{x}))
	check("Errorf", fmt.Errorf("wrapped: %v", x).Error())
	if s, ok := x.(fmt.Stringer); ok {
		check("String", s.String())
	}
	if s, ok := x.(fmt.GoStringer); ok {
		check("GoString", s.GoString())
	}
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		if name == "slog json" && !withJSON {
			continue
		}
		var buf bytes.Buffer
		l := slog.New(h(&buf))
		l.Info("msg", "value", x)
		l.Info("msg", slog.Any("value", x))
		l.Info("msg", slog.Group("g", "value", x))
		l.With("value", x).Info("msg")
		check(name, buf.String())
	}
	return found
}

func TestLeakDetector(t *testing.T) {
	for _, x := range []any{
		struct{ S string }{canary},
		struct{ B []byte }{[]byte(canary)},
		map[string]any{"k": canary},
	} {
		if len(leaks(t, x)) == 0 {
			t.Errorf("leaks(%T) found nothing", x)
		}
	}
}

func TestGetSecretValueResponseRedacted(t *testing.T) {
	resp := GetSecretValueResponse{
		ARN:           new("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"),
		Name:          new("prod/db"),
		SecretString:  new(canary),
		SecretBinary:  []byte(canary),
		VersionStages: []string{"AWSCURRENT"},
		CreatedDate:   NewTimestamp(time.Unix(1523477145, 713e6)),
	}
	for _, x := range []any{resp, &resp} {
		if found := leaks(t, x); len(found) > 0 {
			t.Errorf("%T leaks the secret:\n%s", x, strings.Join(found, "\n"))
		}
	}
	want := `GetSecretValueResponse{ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", ` +
		`Name: "prod/db", SecretBinary: REDACTED, SecretString: REDACTED, VersionStages: ["AWSCURRENT"], ` +
		`CreatedDate: 2018-04-11T20:05:45.713Z}`
	if got := fmt.Sprint(resp); got != want {
		t.Errorf("Sprint =\n%s\nwant\n%s", got, want)
	}
	if got := fmt.Sprintf("%#v", &resp); got != "smapi."+want {
		t.Errorf("%%#v = %s", got)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).Info("got", "resp", resp)
	wantLog := `{"level":"INFO","msg":"got","resp":{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",` +
		`"Name":"prod/db","SecretBinary":"REDACTED","SecretString":"REDACTED","VersionStages":["AWSCURRENT"],` +
		`"CreatedDate":"2018-04-11T20:05:45.713Z"}}` + "\n"
	if buf.String() != wantLog {
		t.Errorf("slog JSON =\n%s\nwant\n%s", buf.String(), wantLog)
	}
}

func TestNestedRedacted(t *testing.T) {
	resp := BatchGetSecretValueResponse{
		SecretValues: []SecretValueEntry{
			{Name: new("a"), SecretString: new(canary)},
			{Name: new("b"), SecretBinary: []byte(canary)},
		},
		Errors: []APIErrorType{{SecretId: new("c"), ErrorCode: new("ResourceNotFoundException")}},
	}
	if found := leaks(t, resp); len(found) > 0 {
		t.Errorf("leaks:\n%s", strings.Join(found, "\n"))
	}
	got := resp.String()
	want := `BatchGetSecretValueResponse{SecretValues: [SecretValueEntry{Name: "a", SecretString: REDACTED}, ` +
		`SecretValueEntry{Name: "b", SecretBinary: REDACTED}], Errors: [APIErrorType{SecretId: "c", ErrorCode: "ResourceNotFoundException"}]}`
	if got != want {
		t.Errorf("String =\n%s\nwant\n%s", got, want)
	}
	// Bare slices and maps of generated structs print safely through fmt
	// and slog's text handler. slog's JSON handler hands them to
	// encoding/json, which writes the wire form: the package doc says to log
	// the enclosing struct instead.
	if found := leaksVia(t, resp.SecretValues, false); len(found) > 0 {
		t.Errorf("slice leaks:\n%s", strings.Join(found, "\n"))
	}
	if found := leaksVia(t, map[string]SecretValueEntry{"k": resp.SecretValues[0]}, false); len(found) > 0 {
		t.Errorf("map leaks:\n%s", strings.Join(found, "\n"))
	}
}

// sensitiveMembers reads from the model the member names whose shape is
// sensitive.
func sensitiveMembers(t *testing.T) map[string]bool {
	shapes := modelShapes(t)
	names := map[string]bool{}
	for _, s := range shapes {
		members, _ := s["members"].(map[string]any)
		for name, ref := range members {
			target := ref.(map[string]any)["shape"].(string)
			if sens, _ := shapes[target]["sensitive"].(bool); sens {
				names[name] = true
			}
		}
	}
	if len(names) < 4 {
		t.Fatalf("sensitive members %v: expected at least SecretString, SecretBinary, RotationToken, RandomPassword", names)
	}
	return names
}

// fill sets every field of the struct v points to: sensitive members to the
// canary, other members to harmless values, recursively.
func fill(v reflect.Value, sensitive map[string]bool, depth int) {
	for i := 0; i < v.NumField(); i++ {
		f, sf := v.Field(i), v.Type().Field(i)
		f.Set(value(f.Type(), sensitive[sf.Name], sensitive, depth))
	}
}

func value(typ reflect.Type, secret bool, sensitive map[string]bool, depth int) reflect.Value {
	s := "plain"
	if secret {
		s = canary
	}
	switch {
	case typ == reflect.TypeFor[Timestamp]():
		return reflect.ValueOf(Timestamp{time.Unix(1523477145, 0)})
	case typ == reflect.TypeFor[[]byte]():
		return reflect.ValueOf([]byte(s))
	}
	switch typ.Kind() {
	case reflect.String:
		return reflect.ValueOf(s)
	case reflect.Bool:
		return reflect.ValueOf(true)
	case reflect.Int64:
		return reflect.ValueOf(int64(7))
	case reflect.Pointer:
		p := reflect.New(typ.Elem())
		p.Elem().Set(value(typ.Elem(), secret, sensitive, depth))
		return p
	case reflect.Slice:
		l := reflect.MakeSlice(typ, 2, 2)
		for i := range 2 {
			l.Index(i).Set(value(typ.Elem(), secret, sensitive, depth))
		}
		return l
	case reflect.Map:
		m := reflect.MakeMap(typ)
		m.SetMapIndex(reflect.ValueOf("key"), value(typ.Elem(), secret, sensitive, depth))
		return m
	case reflect.Struct:
		x := reflect.New(typ).Elem()
		if depth < 5 {
			fill(x, sensitive, depth+1)
		}
		return x
	}
	panic("unexpected field type " + typ.String())
}

// TestAllStructsRedacted fills every generated struct completely and checks
// that no printed form carries a sensitive value, while the non-sensitive
// values do show.
func TestAllStructsRedacted(t *testing.T) {
	sensitive := sensitiveMembers(t)
	withSecrets := 0
	for _, zero := range allStructs {
		typ := reflect.TypeOf(zero)
		x := reflect.New(typ)
		fill(x.Elem(), sensitive, 0)
		val := x.Elem().Interface()
		if found := leaks(t, val); len(found) > 0 {
			t.Errorf("%s leaks:\n%s", typ.Name(), strings.Join(found, "\n"))
		}
		plain := 0
		for i := range typ.NumField() {
			if !sensitive[typ.Field(i).Name] {
				plain++
			}
		}
		if got := strings.Count(fmt.Sprint(val), ": "); got < typ.NumField() {
			t.Errorf("%s prints %d of %d members: %v", typ.Name(), got, typ.NumField(), val)
		}
		if plain > 0 && !strings.Contains(fmt.Sprint(val), "plain") && !strings.Contains(fmt.Sprint(val), "7") {
			t.Errorf("%s prints no member value: %v", typ.Name(), val)
		}
		// The wire form does carry the secret.
		if b, _ := jsonMarshal(val); strings.Contains(b, canary) || strings.Contains(b, base64.StdEncoding.EncodeToString([]byte(canary))) {
			withSecrets++
			if !strings.Contains(fmt.Sprint(val), redacted) {
				t.Errorf("%s carries a secret but prints no %s", typ.Name(), redacted)
			}
		}
	}
	// CreateSecretRequest, GetRandomPasswordResponse, GetSecretValueResponse,
	// PutSecretValueRequest, SecretValueEntry, BatchGetSecretValueResponse,
	// UpdateSecretRequest.
	if withSecrets != 7 {
		t.Errorf("%d structs carry secrets on the wire, want 7", withSecrets)
	}
}

func TestValidationErrorNeverHoldsSecrets(t *testing.T) {
	sensitive := sensitiveMembers(t)
	for _, zero := range allStructs {
		typ := reflect.TypeOf(zero)
		x := reflect.New(typ)
		fill(x.Elem(), sensitive, 0)
		// The canary breaks patterns and lengths of some sensitive members;
		// make it break every length too.
		err := x.Interface().(interface{ Validate() error }).Validate()
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Errorf("%s: %v", typ.Name(), err)
		}
	}
	long := strings.Repeat(canary, 7000)
	for _, x := range []interface{ Validate() error }{
		&CreateSecretRequest{Name: new("n"), SecretString: new(long)},
		&UpdateSecretRequest{SecretId: new("n"), SecretString: new(long), SecretBinary: []byte(long)},
		&PutSecretValueRequest{SecretId: new("n"), RotationToken: new(long)},
		&GetRandomPasswordResponse{RandomPassword: new(long)},
	} {
		err := x.Validate()
		if err == nil {
			t.Fatalf("%T: no violation", x)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("%T: %v", x, err)
		}
		if !strings.Contains(err.Error(), "Value at '") {
			t.Errorf("%T: %v", x, err)
		}
	}
}
