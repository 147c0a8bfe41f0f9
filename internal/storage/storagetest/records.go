package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

func testAccounts(t *testing.T, s storage.Store) {
	a := &storage.Account{ID: acct, Created: base.Add(123456789 * time.Nanosecond)}
	update(t, s, func(tx storage.Tx) error { return tx.InsertAccount(a) })
	update(t, s, func(tx storage.Tx) error {
		err := tx.InsertAccount(&storage.Account{ID: acct, Created: base})
		wantErr(t, "InsertAccount of an existing id", err, storage.ErrConflict)
		return tx.InsertAccount(&storage.Account{ID: acct2}) // zero Created
	})
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.Account(acct)
		if err != nil {
			t.Fatalf("Account: %v", err)
		}
		checkAccount(t, got, a)
		got, err = tx.Account(acct2)
		if err != nil {
			t.Fatalf("Account: %v", err)
		}
		checkAccount(t, got, &storage.Account{ID: acct2})
		_, err = tx.Account("999999999999")
		wantErr(t, "Account of a missing id", err, storage.ErrNotFound)
		return nil
	})
}

func testAccessKeys(t *testing.T, s storage.Store) {
	k1 := &storage.AccessKey{
		ID: "AKIAAAAAAAAAAAAAAAAA", Account: acct, Principal: "arn:aws:iam::" + acct + ":root",
		SecretCiphertext: []byte{0, 1, 2, 0xff, 0}, Active: true, Created: base,
	}
	k2 := &storage.AccessKey{
		ID: "AKIABBBBBBBBBBBBBBBB", Account: acct, Principal: "arn:aws:iam::" + acct + ":user/alice",
		SecretCiphertext: []byte("sealed"), Active: false, Created: base.Add(time.Second),
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.InsertAccessKey(k1); err != nil {
			return err
		}
		return tx.InsertAccessKey(k2)
	})
	update(t, s, func(tx storage.Tx) error {
		dup := *k2
		dup.Principal = "someone else"
		wantErr(t, "InsertAccessKey of an existing id", tx.InsertAccessKey(&dup), storage.ErrConflict)
		return nil
	})
	view(t, s, func(tx storage.Tx) error {
		for _, want := range []*storage.AccessKey{k1, k2} {
			got, err := tx.AccessKey(want.ID)
			if err != nil {
				t.Fatalf("AccessKey: %v", err)
			}
			checkAccessKey(t, got, want)
		}
		_, err := tx.AccessKey("AKIACCCCCCCCCCCCCCCC")
		wantErr(t, "AccessKey of a missing id", err, storage.ErrNotFound)
		return nil
	})
}

func testKeys(t *testing.T, s storage.Store) {
	const id = "alias/aws/secretsmanager"
	keys := []*storage.Key{
		{Account: acct, Region: region, KeyID: id, Material: []byte("k1"), Created: base},
		{Account: acct, Region: region2, KeyID: id, Material: []byte("k2"), Created: base},
		{Account: acct2, Region: region, KeyID: id, Material: []byte("k3"), Created: base},
		{Account: acct, Region: region, KeyID: "alias/other", Material: []byte("k4"), Created: base.Add(time.Hour)},
	}
	update(t, s, func(tx storage.Tx) error {
		for _, k := range keys {
			if err := tx.InsertKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx storage.Tx) error {
		dup := *keys[0]
		dup.Material = []byte("other")
		wantErr(t, "InsertKey of an existing key", tx.InsertKey(&dup), storage.ErrConflict)
		// The transaction goes on after the conflict (the domain reads the
		// key that won the race).
		got, err := tx.Key(dup.Account, dup.Region, dup.KeyID)
		if err != nil {
			t.Fatalf("Key after a conflicting InsertKey: %v", err)
		}
		checkKey(t, got, keys[0])
		return nil
	})
	view(t, s, func(tx storage.Tx) error {
		for _, want := range keys {
			got, err := tx.Key(want.Account, want.Region, want.KeyID)
			if err != nil {
				t.Fatalf("Key: %v", err)
			}
			checkKey(t, got, want)
		}
		_, err := tx.Key(acct2, region2, id)
		wantErr(t, "Key of a missing key", err, storage.ErrNotFound)
		return nil
	})
}

func testSecrets(t *testing.T, s storage.Store) {
	sec := newSecret(acct, region, "db/password", "AbCdEf", base)
	insertSecrets(t, s, sec)
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.SecretByARN(sec.ARN)
		if err != nil {
			t.Fatalf("SecretByARN: %v", err)
		}
		checkSecret(t, got, sec)
		got, err = tx.SecretByName(acct, region, sec.Name)
		if err != nil {
			t.Fatalf("SecretByName: %v", err)
		}
		checkSecret(t, got, sec)
		_, err = tx.SecretByARN(sec.ARN + "x")
		wantErr(t, "SecretByARN of a missing ARN", err, storage.ErrNotFound)
		_, err = tx.SecretByName(acct, region, "db/other")
		wantErr(t, "SecretByName of a missing name", err, storage.ErrNotFound)
		_, err = tx.SecretByName(acct, region2, sec.Name)
		wantErr(t, "SecretByName in another region", err, storage.ErrNotFound)
		_, err = tx.SecretByName(acct2, region, sec.Name)
		wantErr(t, "SecretByName in another account", err, storage.ErrNotFound)
		return nil
	})

	// UpdateSecret rewrites every field but the ARN, the name included.
	upd := *sec
	upd.Name = "db/renamed"
	upd.Description = ""
	upd.KmsKeyID = ""
	upd.Type = "binary"
	upd.Tags = []storage.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}, {Key: "c", Value: ""}}
	upd.Stages = map[string][]string{"v1": {"AWSPREVIOUS", "custom"}, "v2": {"AWSCURRENT"}}
	upd.LastChanged = base.Add(time.Hour + 7*time.Millisecond)
	upd.LastAccessed = time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	upd.DeletionDate = base.Add(7 * 24 * time.Hour)
	upd.Attrs = []byte(`{}`)
	update(t, s, func(tx storage.Tx) error { return tx.UpdateSecret(&upd) })
	checkSecret(t, getSecret(t, s, sec.ARN), &upd)
	view(t, s, func(tx storage.Tx) error {
		_, err := tx.SecretByName(acct, region, sec.Name)
		wantErr(t, "SecretByName of the old name", err, storage.ErrNotFound)
		got, err := tx.SecretByName(acct, region, upd.Name)
		if err != nil {
			t.Fatalf("SecretByName of the new name: %v", err)
		}
		checkSecret(t, got, &upd)
		return nil
	})

	// Renaming onto a name in use conflicts; updating a missing secret is
	// not found.
	other := newSecret(acct, region, "db/other", "GhIjKl", base)
	insertSecrets(t, s, other)
	update(t, s, func(tx storage.Tx) error {
		clash := *other
		clash.Name = upd.Name
		wantErr(t, "UpdateSecret onto a name in use", tx.UpdateSecret(&clash), storage.ErrConflict)
		missing := *other
		missing.ARN = arnOf(acct, region, "db/missing", "MnOpQr")
		missing.Name = "db/missing"
		wantErr(t, "UpdateSecret of a missing secret", tx.UpdateSecret(&missing), storage.ErrNotFound)
		return nil
	})
	checkSecret(t, getSecret(t, s, other.ARN), other)

	// Insert of an existing ARN conflicts, even under another name.
	update(t, s, func(tx storage.Tx) error {
		dup := *other
		dup.Name = "db/third"
		wantErr(t, "InsertSecret of an existing ARN", tx.InsertSecret(&dup), storage.ErrConflict)
		return nil
	})

	// Delete.
	update(t, s, func(tx storage.Tx) error { return tx.DeleteSecret(sec.ARN) })
	update(t, s, func(tx storage.Tx) error {
		wantErr(t, "DeleteSecret of a deleted secret", tx.DeleteSecret(sec.ARN), storage.ErrNotFound)
		_, err := tx.SecretByARN(sec.ARN)
		wantErr(t, "SecretByARN of a deleted secret", err, storage.ErrNotFound)
		_, err = tx.SecretByName(acct, region, upd.Name)
		wantErr(t, "SecretByName of a deleted secret", err, storage.ErrNotFound)
		return nil
	})
	checkSecret(t, getSecret(t, s, other.ARN), other)
}

// testSecretFields covers the fields with normalisations: Tags, TagsSet,
// Stages, Attrs.
func testSecretFields(t *testing.T, s storage.Store) {
	tests := []struct {
		name   string
		change func(*storage.Secret)
	}{
		{"no tags ever", func(s *storage.Secret) { s.Tags, s.TagsSet = nil, false }},
		{"tags emptied", func(s *storage.Secret) { s.Tags, s.TagsSet = []storage.Tag{}, true }},
		{"tags nil but set", func(s *storage.Secret) { s.Tags, s.TagsSet = nil, true }},
		{"tag order", func(s *storage.Secret) {
			s.Tags = nil
			for _, k := range []string{"z", "a", "m", "b", "a2", "Z", "é", "日本", ""} {
				s.Tags = append(s.Tags, storage.Tag{Key: k, Value: "v-" + k})
			}
		}},
		{"tag characters", func(s *storage.Secret) {
			s.Tags = []storage.Tag{{Key: `quote"back\slash`, Value: "line\nbreak\ttab <>&'"}}
		}},
		{"stages nil", func(s *storage.Secret) { s.Stages = nil }},
		{"stages empty", func(s *storage.Secret) { s.Stages = map[string][]string{} }},
		{"stages many", func(s *storage.Secret) {
			s.Stages = map[string][]string{
				"11111111-1111-1111-1111-111111111111": {"AWSCURRENT", "zeta", "alpha"},
				"22222222-2222-2222-2222-222222222222": {"AWSPREVIOUS"},
				"33333333-3333-3333-3333-333333333333": {"AWSPENDING", "b", "a"},
			}
		}},
		{"attrs nil", func(s *storage.Secret) { s.Attrs = nil }},
		{"attrs empty", func(s *storage.Secret) { s.Attrs = []byte{} }},
		{"attrs bytes", func(s *storage.Secret) {
			s.Attrs = []byte("{ \"k\" : \"\xe2\x82\xac \\\"q\\\"\",\n \"a\": [1, 2.50] }")
		}},
		{"empty strings", func(s *storage.Secret) { s.Description, s.KmsKeyID, s.Type = "", "", "" }},
		{"unicode", func(s *storage.Secret) { s.Description = "Grüße, 世界 🙂" }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sec := newSecret(acct, region, "fields/"+tc.name, "Suffix", base.Add(time.Duration(i)*time.Second))
			tc.change(sec)
			written := wantSecret(sec) // what must read back, before anything can alias sec
			insertSecrets(t, s, sec)
			checkSecret(t, getSecret(t, s, sec.ARN), &written)

			// The same through UpdateSecret, from a fully set secret.
			full := newSecret(acct, region, "fields2/"+tc.name, "Suffix", base)
			insertSecrets(t, s, full)
			changed := *full
			tc.change(&changed)
			written = wantSecret(&changed)
			update(t, s, func(tx storage.Tx) error { return tx.UpdateSecret(&changed) })
			checkSecret(t, getSecret(t, s, full.ARN), &written)
		})
	}

	// A read-back Stages map is the caller's to change.
	sec := newSecret(acct, region, "fields/mutable", "Suffix", base)
	sec.Stages = nil
	insertSecrets(t, s, sec)
	got := getSecret(t, s, sec.ARN)
	if got.Stages == nil {
		t.Fatal("Stages read back nil")
	}
	got.Stages["v9"] = []string{"AWSCURRENT"}
	update(t, s, func(tx storage.Tx) error { return tx.UpdateSecret(got) })
	if g := getSecret(t, s, sec.ARN); !slices.Equal(g.Stages["v9"], []string{"AWSCURRENT"}) || len(g.Stages) != 1 {
		t.Errorf("Stages after update: %v", g.Stages)
	}
}

// testTimes checks that every time field round-trips at millisecond
// precision in UTC and that the zero time stays zero.
func testTimes(t *testing.T, s storage.Store) {
	times := []struct {
		name string
		t    time.Time
	}{
		{"zero", time.Time{}},
		{"ms", time.Date(2024, 3, 5, 10, 11, 12, 123000000, time.UTC)},
		{"ns truncated", time.Date(2024, 3, 5, 10, 11, 12, 123456789, time.UTC)},
		{"almost next ms", time.Date(2024, 3, 5, 10, 11, 12, 999999999, time.UTC)},
		{"other zone", time.Date(2024, 3, 5, 10, 11, 12, 5000001, time.FixedZone("X", 5*3600+1800))},
		{"local", time.Date(2024, 3, 5, 10, 11, 12, 0, time.Local)},
		{"midnight", time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"before 1970", time.Date(1969, 12, 31, 23, 59, 58, 500600000, time.UTC)},
		{"far future", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"now", time.Now()}, // with a monotonic reading
	}
	for i, tc := range times {
		t.Run(tc.name, func(t *testing.T) {
			name := "times/" + tc.name
			sec := newSecret(acct, region, name, "Suffix", tc.t)
			sec.LastChanged, sec.LastAccessed, sec.DeletionDate = tc.t, tc.t, tc.t
			ver := newVersion(sec.ARN, "v1", tc.t, "x")
			ver.LastAccessed = tc.t
			a := &storage.Account{ID: fmt.Sprintf("1000000000%02d", i), Created: tc.t}
			ak := &storage.AccessKey{ID: "AKIA" + tc.name, Account: a.ID, Created: tc.t}
			k := &storage.Key{Account: a.ID, Region: region, KeyID: "k", Created: tc.t}
			update(t, s, func(tx storage.Tx) error {
				for _, err := range []error{tx.InsertSecret(sec), tx.InsertVersion(ver), tx.InsertAccount(a),
					tx.InsertAccessKey(ak), tx.InsertKey(k)} {
					if err != nil {
						return err
					}
				}
				return nil
			})
			view(t, s, func(tx storage.Tx) error {
				gs, err := tx.SecretByARN(sec.ARN)
				if err != nil {
					return err
				}
				checkSecret(t, gs, sec)
				gv, err := tx.Version(sec.ARN, "v1")
				if err != nil {
					return err
				}
				checkVersion(t, gv, ver)
				gvs, err := tx.Versions(sec.ARN, false)
				if err != nil {
					return err
				}
				if len(gvs) != 1 {
					t.Fatalf("Versions: %d, want 1", len(gvs))
				}
				sameTime(t, "Versions[0].Created", &gvs[0].Created, tc.t)
				ga, err := tx.Account(a.ID)
				if err != nil {
					return err
				}
				checkAccount(t, ga, a)
				gak, err := tx.AccessKey(ak.ID)
				if err != nil {
					return err
				}
				checkAccessKey(t, gak, ak)
				gk, err := tx.Key(k.Account, k.Region, k.KeyID)
				if err != nil {
					return err
				}
				checkKey(t, gk, k)
				return nil
			})
		})
	}
}

func testSecretNames(t *testing.T, s storage.Store) {
	const name = "shared/name"
	first := newSecret(acct, region, name, "AAAAAA", base)
	insertSecrets(t, s, first)

	// Same account, region and name under another ARN: conflict, also when
	// the first is scheduled for deletion.
	update(t, s, func(tx storage.Tx) error {
		err := tx.InsertSecret(newSecret(acct, region, name, "BBBBBB", base))
		wantErr(t, "InsertSecret of a name in use", err, storage.ErrConflict)
		return nil
	})
	scheduled := *first
	scheduled.DeletionDate = base.Add(7 * 24 * time.Hour)
	update(t, s, func(tx storage.Tx) error { return tx.UpdateSecret(&scheduled) })
	update(t, s, func(tx storage.Tx) error {
		err := tx.InsertSecret(newSecret(acct, region, name, "BBBBBB", base))
		wantErr(t, "InsertSecret of a name scheduled for deletion", err, storage.ErrConflict)
		return nil
	})

	// The same name in another region or account is another secret.
	elsewhere := []*storage.Secret{
		newSecret(acct, region2, name, "CCCCCC", base),
		newSecret(acct2, region, name, "DDDDDD", base),
		newSecret(acct2, region2, name, "EEEEEE", base),
	}
	insertSecrets(t, s, elsewhere...)

	// After DeleteSecret the name is free again, and the old versions are
	// not attached to the new secret.
	update(t, s, func(tx storage.Tx) error { return tx.InsertVersion(newVersion(first.ARN, "v1", base, "old")) })
	update(t, s, func(tx storage.Tx) error { return tx.DeleteSecret(first.ARN) })
	again := newSecret(acct, region, name, "FFFFFF", base.Add(time.Hour))
	insertSecrets(t, s, again)
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.SecretByName(acct, region, name)
		if err != nil {
			t.Fatalf("SecretByName: %v", err)
		}
		checkSecret(t, got, again)
		for _, want := range elsewhere {
			got, err := tx.SecretByName(want.Account, want.Region, name)
			if err != nil {
				t.Fatalf("SecretByName: %v", err)
			}
			checkSecret(t, got, want)
		}
		vs, err := tx.Versions(again.ARN, true)
		if err != nil || len(vs) != 0 {
			t.Errorf("Versions of the new secret: %d, %v; want none", len(vs), err)
		}
		return nil
	})

	// Re-creating under the very same ARN works too after a delete.
	update(t, s, func(tx storage.Tx) error { return tx.DeleteSecret(again.ARN) })
	insertSecrets(t, s, again)
	checkSecret(t, getSecret(t, s, again.ARN), again)
}

func testDeleteSecretCascades(t *testing.T, s storage.Store) {
	sec := newSecret(acct, region, "cascade", "AAAAAA", base)
	keep := newSecret(acct, region, "keep", "BBBBBB", base)
	insertSecrets(t, s, sec, keep)
	update(t, s, func(tx storage.Tx) error {
		for i := range 5 {
			for _, arn := range []string{sec.ARN, keep.ARN} {
				if err := tx.InsertVersion(newVersion(arn, fmt.Sprintf("v%d", i), base, "x")); err != nil {
					return err
				}
			}
		}
		return nil
	})
	update(t, s, func(tx storage.Tx) error { return tx.DeleteSecret(sec.ARN) })
	view(t, s, func(tx storage.Tx) error {
		_, err := tx.Version(sec.ARN, "v0")
		wantErr(t, "Version of a deleted secret", err, storage.ErrNotFound)
		vs, err := tx.Versions(sec.ARN, true)
		if err != nil || len(vs) != 0 {
			t.Errorf("Versions of a deleted secret: %d, %v; want none", len(vs), err)
		}
		vs, err = tx.Versions(keep.ARN, false)
		if err != nil || len(vs) != 5 {
			t.Errorf("Versions of the other secret: %d, %v; want 5", len(vs), err)
		}
		return nil
	})
	// The same ARN inserted again starts without versions.
	insertSecrets(t, s, sec)
	view(t, s, func(tx storage.Tx) error {
		vs, err := tx.Versions(sec.ARN, true)
		if err != nil || len(vs) != 0 {
			t.Errorf("Versions of a re-created secret: %d, %v; want none", len(vs), err)
		}
		return nil
	})
}

func testVersions(t *testing.T, s storage.Store) {
	sec := newSecret(acct, region, "versions", "AAAAAA", base)
	other := newSecret(acct, region, "versions-other", "BBBBBB", base)
	insertSecrets(t, s, sec, other)

	v1 := newVersion(sec.ARN, "v1", base, "one")
	v1.Seq = 999999 // ignored: the store assigns Seq
	v2 := newVersion(sec.ARN, "v2", base.Add(time.Second), "two")
	v2.Binary = true
	v2.KmsKeyID = ""
	v2.LastAccessed = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx storage.Tx) error {
		if err := tx.InsertVersion(v1); err != nil {
			return err
		}
		return tx.InsertVersion(v2)
	})
	if v1.Seq == 999999 || v1.Seq == 0 || v2.Seq <= v1.Seq {
		t.Errorf("Seq after InsertVersion: v1 %d, v2 %d; want assigned and increasing", v1.Seq, v2.Seq)
	}
	view(t, s, func(tx storage.Tx) error {
		for _, want := range []*storage.Version{v1, v2} {
			got, err := tx.Version(sec.ARN, want.VersionID)
			if err != nil {
				t.Fatalf("Version: %v", err)
			}
			checkVersion(t, got, want)
		}
		_, err := tx.Version(sec.ARN, "v3")
		wantErr(t, "Version of a missing id", err, storage.ErrNotFound)
		_, err = tx.Version(other.ARN, "v1")
		wantErr(t, "Version of another secret", err, storage.ErrNotFound)
		return nil
	})

	update(t, s, func(tx storage.Tx) error {
		dup := newVersion(sec.ARN, "v1", base, "dup")
		wantErr(t, "InsertVersion of an existing id", tx.InsertVersion(dup), storage.ErrConflict)
		orphan := newVersion(arnOf(acct, region, "missing", "CCCCCC"), "v1", base, "x")
		wantErr(t, "InsertVersion for a missing secret", tx.InsertVersion(orphan), storage.ErrNotFound)
		// The same version id in another secret is another version.
		return tx.InsertVersion(newVersion(other.ARN, "v1", base, "other"))
	})

	// Seq keeps increasing across transactions.
	v3 := newVersion(sec.ARN, "v3", base, "three")
	update(t, s, func(tx storage.Tx) error { return tx.InsertVersion(v3) })
	if v3.Seq <= v2.Seq {
		t.Errorf("Seq of a later insert: %d, want > %d", v3.Seq, v2.Seq)
	}

	// UpdateVersion changes everything but the key and Seq.
	upd := *v1
	upd.LastAccessed = time.Date(2025, 6, 3, 0, 0, 0, 0, time.UTC)
	upd.KmsKeyID = "alias/new"
	upd.Binary = true
	upd.Ciphertext = []byte("resealed")
	upd.Seq = 0
	update(t, s, func(tx storage.Tx) error { return tx.UpdateVersion(&upd) })
	upd.Seq = v1.Seq
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.Version(sec.ARN, "v1")
		if err != nil {
			t.Fatalf("Version: %v", err)
		}
		checkVersion(t, got, &upd)
		return nil
	})
	update(t, s, func(tx storage.Tx) error {
		missing := newVersion(sec.ARN, "v9", base, "x")
		wantErr(t, "UpdateVersion of a missing version", tx.UpdateVersion(missing), storage.ErrNotFound)
		wantErr(t, "DeleteVersion of a missing version", tx.DeleteVersion(sec.ARN, "v9"), storage.ErrNotFound)
		return tx.DeleteVersion(sec.ARN, "v2")
	})
	view(t, s, func(tx storage.Tx) error {
		_, err := tx.Version(sec.ARN, "v2")
		wantErr(t, "Version after DeleteVersion", err, storage.ErrNotFound)
		got, err := tx.Version(other.ARN, "v1")
		if err != nil {
			t.Fatalf("Version of the other secret: %v", err)
		}
		checkVersion(t, got, newVersion(other.ARN, "v1", base, "other"))
		return nil
	})
}

func testVersionsOrder(t *testing.T, s storage.Store) {
	sec := newSecret(acct, region, "order", "AAAAAA", base)
	insertSecrets(t, s, sec)
	// Inserted out of Created order, some with equal Created (then the
	// insertion order, Seq, decides), one within the same millisecond.
	inserts := []struct {
		id      string
		created time.Time
	}{
		{"c", base.Add(2 * time.Second)},
		{"a", base},
		{"e", base.Add(3 * time.Second)},
		{"b1", base.Add(time.Second)},
		{"b2", base.Add(time.Second)},
		{"b3", base.Add(time.Second + 300*time.Microsecond)}, // same ms as b1, b2
		{"0", base.Add(-time.Hour)},
	}
	byID := map[string]*storage.Version{}
	for _, in := range inserts { // one transaction each
		v := newVersion(sec.ARN, in.id, in.created, in.id)
		if in.id == "b2" {
			v.Ciphertext = nil
		}
		byID[in.id] = v
		update(t, s, func(tx storage.Tx) error { return tx.InsertVersion(v) })
	}
	wantOrder := []string{"0", "a", "b1", "b2", "b3", "c", "e"}
	for _, withValues := range []bool{false, true} {
		var got []*storage.Version
		view(t, s, func(tx storage.Tx) (err error) {
			got, err = tx.Versions(sec.ARN, withValues)
			return err
		})
		var ids []string
		for _, v := range got {
			ids = append(ids, v.VersionID)
		}
		if !slices.Equal(ids, wantOrder) {
			t.Fatalf("Versions(withValues=%v) order: %v, want %v", withValues, ids, wantOrder)
		}
		for _, g := range got {
			want := *byID[g.VersionID]
			if !withValues {
				if g.Ciphertext != nil {
					t.Errorf("Versions(withValues=false): version %s has Ciphertext %q", g.VersionID, g.Ciphertext)
				}
				want.Ciphertext = nil
			}
			checkVersion(t, g, &want)
		}
	}
}

func testVersionPlaceholder(t *testing.T, s storage.Store) {
	sec := newSecret(acct, region, "placeholder", "AAAAAA", base)
	insertSecrets(t, s, sec)
	pending := newVersion(sec.ARN, "pending", base, "")
	pending.Ciphertext = nil
	update(t, s, func(tx storage.Tx) error { return tx.InsertVersion(pending) })
	check := func(want *storage.Version) {
		t.Helper()
		view(t, s, func(tx storage.Tx) error {
			got, err := tx.Version(sec.ARN, "pending")
			if err != nil {
				t.Fatalf("Version: %v", err)
			}
			checkVersion(t, got, want)
			all, err := tx.Versions(sec.ARN, true)
			if err != nil || len(all) != 1 {
				t.Fatalf("Versions: %d, %v", len(all), err)
			}
			checkVersion(t, all[0], want)
			return nil
		})
	}
	check(pending)

	// A value set later, then taken away again.
	filled := *pending
	filled.Ciphertext = []byte("sealed")
	update(t, s, func(tx storage.Tx) error { return tx.UpdateVersion(&filled) })
	check(&filled)
	emptied := filled
	emptied.Ciphertext = nil
	update(t, s, func(tx storage.Tx) error { return tx.UpdateVersion(&emptied) })
	check(&emptied)

	// An empty value is a value, not a placeholder.
	empty := filled
	empty.Ciphertext = []byte{}
	update(t, s, func(tx storage.Tx) error { return tx.UpdateVersion(&empty) })
	check(&empty)
}
