// Package storagetest is the conformance suite of the storage contract: every
// storage backend (storage/sqlite, later storage/postgres) runs Run from its
// own tests, so that all backends behave alike down to the edge cases the
// domain relies on.
//
// Only the tests of storage backends import this package.
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "coffer.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return db
//		})
//	}
package storagetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Run runs the conformance suite against the backend that open makes. open
// must return a new, empty Store each time it is called; Run closes it when
// the subtest that asked for it ends, and fails the subtest if Close fails.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	tests := []suiteTest{
		{"Accounts", testAccounts},
		{"AccessKeys", testAccessKeys},
		{"Keys", testKeys},
		{"Secrets", testSecrets},
		{"SecretFields", testSecretFields},
		{"Times", testTimes},
		{"SecretNames", testSecretNames},
		{"DeleteSecretCascades", testDeleteSecretCascades},
		{"ExpiredSecrets", testExpiredSecrets},
		{"Versions", testVersions},
		{"VersionsOrder", testVersionsOrder},
		{"VersionPlaceholder", testVersionPlaceholder},
	}
	tests = append(tests, listTests...)
	tests = append(tests, iamTests...)
	tests = append(tests, auditTests...)
	tests = append(tests, []suiteTest{
		{"UpdateError", testUpdateError},
		{"UpdatePanic", testUpdatePanic},
		{"ViewReadOnly", testViewReadOnly},
		{"ViewError", testViewError},
		{"ReadYourWrites", testReadYourWrites},
		{"Snapshot", testSnapshot},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"DoneContext", testDoneContext},
	}...)
	runTests(t, open, tests)
	t.Run("Close", func(t *testing.T) { testClose(t, open(t)) })
}

// suiteTest is one test of the suite, run on a fresh store.
type suiteTest struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}

func runTests(t *testing.T, open func(t *testing.T) storage.Store, tests []suiteTest) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// Fixtures.
const (
	acct    = "123456789012"
	acct2   = "210987654321"
	region  = "us-east-1"
	region2 = "eu-west-1"
)

// base is a millisecond-aligned instant the fixtures count from.
var base = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func arnOf(account, region, name, suffix string) string {
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", region, account, name, suffix)
}

// newSecret returns a secret with every field set.
func newSecret(account, region, name, suffix string, created time.Time) *storage.Secret {
	return &storage.Secret{
		ARN:          arnOf(account, region, name, suffix),
		Account:      account,
		Region:       region,
		Name:         name,
		Description:  "description of " + name,
		KmsKeyID:     "alias/" + name,
		Type:         "text",
		Tags:         []storage.Tag{{Key: "team", Value: "core"}, {Key: "env", Value: "prod"}},
		TagsSet:      true,
		Stages:       map[string][]string{"v1": {"AWSCURRENT"}},
		Created:      created,
		LastChanged:  created.Add(time.Minute),
		LastAccessed: time.Time{},
		Attrs:        []byte(`{"rotation":{"days":30}}`),
	}
}

func newVersion(arn, id string, created time.Time, value string) *storage.Version {
	return &storage.Version{
		SecretARN:  arn,
		VersionID:  id,
		Created:    created,
		KmsKeyID:   "alias/aws/secretsmanager",
		Ciphertext: []byte("sealed:" + value),
	}
}

// Transactions that must succeed.

func update(t *testing.T, s storage.Store, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s storage.Store, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func insertSecrets(t *testing.T, s storage.Store, secs ...*storage.Secret) {
	t.Helper()
	update(t, s, func(tx storage.Tx) error {
		for _, sec := range secs {
			if err := tx.InsertSecret(sec); err != nil {
				return err
			}
		}
		return nil
	})
}

func getSecret(t *testing.T, s storage.Store, arn string) *storage.Secret {
	t.Helper()
	var got *storage.Secret
	view(t, s, func(tx storage.Tx) (err error) {
		got, err = tx.SecretByARN(arn)
		return err
	})
	return got
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// Comparing records as the contract says they read back.

// ms is t as a backend returns it: UTC, rounded down to the millisecond.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// sameTime checks that got is want as stored: the same instant at
// millisecond precision, in UTC, zero for zero. It then overwrites got with
// the expected value so that the caller can compare the rest of the record
// with reflect.DeepEqual.
func sameTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	w := ms(want)
	switch {
	case got.IsZero() != w.IsZero():
		t.Errorf("%s: got %v, want %v", what, *got, w)
	case !got.Equal(w):
		t.Errorf("%s: got %v, want %v (written %v)", what, *got, w, want)
	case got.Location() != time.UTC:
		t.Errorf("%s: got location %v, want UTC", what, got.Location())
	}
	*got = w
}

func checkAccount(t *testing.T, got, want *storage.Account) {
	t.Helper()
	g, w := *got, *want
	sameTime(t, "Account.Created", &g.Created, w.Created)
	w.Created = ms(w.Created)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("account:\n got %+v\nwant %+v", g, w)
	}
}

func checkAccessKey(t *testing.T, got, want *storage.AccessKey) {
	t.Helper()
	g, w := *got, *want
	sameTime(t, "AccessKey.Created", &g.Created, w.Created)
	w.Created = ms(w.Created)
	if len(w.SecretCiphertext) == 0 && len(g.SecretCiphertext) == 0 {
		w.SecretCiphertext, g.SecretCiphertext = nil, nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("access key:\n got %+v\nwant %+v", g, w)
	}
}

func checkKey(t *testing.T, got, want *storage.Key) {
	t.Helper()
	g, w := *got, *want
	sameTime(t, "Key.Created", &g.Created, w.Created)
	w.Created = ms(w.Created)
	if len(w.Material) == 0 && len(g.Material) == 0 {
		w.Material, g.Material = nil, nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("key:\n got %+v\nwant %+v", g, w)
	}
}

// wantSecret is s as the contract says it reads back.
func wantSecret(s *storage.Secret) storage.Secret {
	w := *s
	if len(w.Tags) == 0 {
		w.Tags = nil
	}
	if w.Stages == nil {
		w.Stages = map[string][]string{}
	}
	if len(w.Attrs) == 0 {
		w.Attrs = nil
	}
	w.Created, w.LastChanged = ms(w.Created), ms(w.LastChanged)
	w.LastAccessed, w.DeletionDate = ms(w.LastAccessed), ms(w.DeletionDate)
	return w
}

func checkSecret(t *testing.T, got, want *storage.Secret) {
	t.Helper()
	if got == nil {
		t.Errorf("secret %s: got nil", want.ARN)
		return
	}
	g := *got
	sameTime(t, "Secret.Created", &g.Created, want.Created)
	sameTime(t, "Secret.LastChanged", &g.LastChanged, want.LastChanged)
	sameTime(t, "Secret.LastAccessed", &g.LastAccessed, want.LastAccessed)
	sameTime(t, "Secret.DeletionDate", &g.DeletionDate, want.DeletionDate)
	if g.Stages == nil {
		t.Errorf("secret %s: Stages is nil, want a map", want.ARN)
	}
	if w := wantSecret(want); !reflect.DeepEqual(g, w) {
		t.Errorf("secret:\n got %+v\nwant %+v", g, w)
	}
}

// checkVersion compares got with want; Seq is compared only when want has one.
func checkVersion(t *testing.T, got, want *storage.Version) {
	t.Helper()
	if got == nil {
		t.Errorf("version %s: got nil", want.VersionID)
		return
	}
	g, w := *got, *want
	sameTime(t, "Version.Created", &g.Created, w.Created)
	sameTime(t, "Version.LastAccessed", &g.LastAccessed, w.LastAccessed)
	w.Created, w.LastAccessed = ms(w.Created), ms(w.LastAccessed)
	if w.Seq == 0 {
		g.Seq = 0
	}
	if (g.Ciphertext == nil) != (w.Ciphertext == nil) {
		t.Errorf("version %s: Ciphertext nil is %v, want %v", w.VersionID, g.Ciphertext == nil, w.Ciphertext == nil)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("version:\n got %+v\nwant %+v", g, w)
	}
}
