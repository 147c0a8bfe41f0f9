package storagetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// The IAM side of the contract: listing accounts, access key upkeep and IAM
// entities (users, groups, roles, managed policies).

// iamTests are registered in Run.
var iamTests = []suiteTest{
	{"AccountsList", testAccountsList},
	{"AccessKeyUpdate", testAccessKeyUpdate},
	{"AccessKeyDelete", testAccessKeyDelete},
	{"AccessKeysOfPrincipal", testAccessKeysOfPrincipal},
	{"Entities", testEntities},
	{"EntityNamesFoldCase", testEntityNamesFoldCase},
	{"EntityUpdate", testEntityUpdate},
	{"EntityDelete", testEntityDelete},
	{"EntitiesOrder", testEntitiesOrder},
	{"IAMWritesInView", testIAMWritesInView},
	{"IAMWritesRollBack", testIAMWritesRollBack},
}

func userARN(account, name string) string { return "arn:aws:iam::" + account + ":user/" + name }

// newEntity returns an entity with every field set.
func newEntity(account string, kind storage.EntityKind, name, id string, created time.Time) *storage.Entity {
	return &storage.Entity{
		Account: account,
		Kind:    kind,
		Name:    name,
		ID:      id,
		Path:    "/division/" + name + "/",
		Created: created,
		Doc:     []byte(`{"Tags":[{"Key":"team","Value":"core"}],"Inline":{"p":"{\"Version\":\"2012-10-17\"}"}}`),
	}
}

func checkEntity(t *testing.T, got, want *storage.Entity) {
	t.Helper()
	if got == nil {
		t.Errorf("entity %s %s: got nil", want.Kind, want.Name)
		return
	}
	g, w := *got, *want
	sameTime(t, "Entity.Created", &g.Created, w.Created)
	w.Created = ms(w.Created)
	if len(w.Doc) == 0 {
		w.Doc = []byte("{}")
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("entity:\n got %+v (doc %s)\nwant %+v (doc %s)", g, g.Doc, w, w.Doc)
	}
}

func getEntity(t *testing.T, s storage.Store, account string, kind storage.EntityKind, name string) (*storage.Entity, error) {
	t.Helper()
	var got *storage.Entity
	err := s.View(t.Context(), func(tx storage.Tx) (err error) {
		got, err = tx.Entity(account, kind, name)
		return err
	})
	return got, err
}

func insertEntities(t *testing.T, s storage.Store, es ...*storage.Entity) {
	t.Helper()
	update(t, s, func(tx storage.Tx) error {
		for _, e := range es {
			if err := tx.InsertEntity(e); err != nil {
				return err
			}
		}
		return nil
	})
}

func testAccountsList(t *testing.T, s storage.Store) {
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.Accounts()
		if err != nil {
			t.Fatalf("Accounts of an empty store: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("Accounts of an empty store: %d accounts", len(got))
		}
		return nil
	})
	accounts := []*storage.Account{
		{ID: acct, Created: base.Add(2 * time.Hour)},
		{ID: "000000000001", Created: base.Add(time.Hour + 5*time.Nanosecond)},
		{ID: acct2, Created: base},
	}
	update(t, s, func(tx storage.Tx) error {
		for _, a := range accounts {
			if err := tx.InsertAccount(a); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.Accounts()
		if err != nil {
			t.Fatalf("Accounts: %v", err)
		}
		want := []*storage.Account{accounts[1], accounts[0], accounts[2]} // by id
		if len(got) != len(want) {
			t.Fatalf("Accounts: %d accounts, want %d", len(got), len(want))
		}
		for i := range want {
			checkAccount(t, got[i], want[i])
		}
		return nil
	})
}

func testAccessKeyUpdate(t *testing.T, s storage.Store) {
	k := &storage.AccessKey{
		ID: "AKIAAAAAAAAAAAAAAAAA", Account: acct, Principal: userARN(acct, "alice"),
		SecretCiphertext: []byte("sealed-1"), Active: true, Created: base,
	}
	other := &storage.AccessKey{
		ID: "AKIABBBBBBBBBBBBBBBB", Account: acct, Principal: userARN(acct, "alice"),
		SecretCiphertext: []byte("sealed-2"), Active: true, Created: base,
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.InsertAccessKey(k); err != nil {
			return err
		}
		return tx.InsertAccessKey(other)
	})
	changed := &storage.AccessKey{
		ID: k.ID, Account: acct2, Principal: userARN(acct2, "bob"),
		SecretCiphertext: []byte{0, 0xff, 0}, Active: false, Created: base.Add(time.Minute + time.Microsecond),
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.UpdateAccessKey(changed); err != nil {
			return err
		}
		// Read your own write inside the transaction.
		got, err := tx.AccessKey(k.ID)
		if err != nil {
			return err
		}
		checkAccessKey(t, got, changed)
		missing := *changed
		missing.ID = "AKIACCCCCCCCCCCCCCCC"
		wantErr(t, "UpdateAccessKey of a missing id", tx.UpdateAccessKey(&missing), storage.ErrNotFound)
		return nil
	})
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.AccessKey(k.ID)
		if err != nil {
			t.Fatalf("AccessKey: %v", err)
		}
		checkAccessKey(t, got, changed)
		got, err = tx.AccessKey(other.ID)
		if err != nil {
			t.Fatalf("AccessKey: %v", err)
		}
		checkAccessKey(t, got, other) // untouched
		_, err = tx.AccessKey("AKIACCCCCCCCCCCCCCCC")
		wantErr(t, "AccessKey after a failed update", err, storage.ErrNotFound)
		return nil
	})
	// And back to active.
	changed.Active = true
	update(t, s, func(tx storage.Tx) error { return tx.UpdateAccessKey(changed) })
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.AccessKey(k.ID)
		if err != nil {
			t.Fatalf("AccessKey: %v", err)
		}
		checkAccessKey(t, got, changed)
		return nil
	})
}

func testAccessKeyDelete(t *testing.T, s storage.Store) {
	k1 := &storage.AccessKey{ID: "AKIAAAAAAAAAAAAAAAAA", Account: acct, Principal: userARN(acct, "alice"),
		SecretCiphertext: []byte("s1"), Active: true, Created: base}
	k2 := &storage.AccessKey{ID: "AKIABBBBBBBBBBBBBBBB", Account: acct, Principal: userARN(acct, "alice"),
		SecretCiphertext: []byte("s2"), Active: true, Created: base}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.InsertAccessKey(k1); err != nil {
			return err
		}
		return tx.InsertAccessKey(k2)
	})
	update(t, s, func(tx storage.Tx) error {
		if err := tx.DeleteAccessKey(k1.ID); err != nil {
			return err
		}
		_, err := tx.AccessKey(k1.ID)
		wantErr(t, "AccessKey after DeleteAccessKey in the same transaction", err, storage.ErrNotFound)
		wantErr(t, "DeleteAccessKey twice", tx.DeleteAccessKey(k1.ID), storage.ErrNotFound)
		return nil
	})
	view(t, s, func(tx storage.Tx) error {
		_, err := tx.AccessKey(k1.ID)
		wantErr(t, "AccessKey of a deleted key", err, storage.ErrNotFound)
		got, err := tx.AccessKey(k2.ID)
		if err != nil {
			t.Fatalf("AccessKey of the other key: %v", err)
		}
		checkAccessKey(t, got, k2)
		return nil
	})
	// The id is free again.
	update(t, s, func(tx storage.Tx) error { return tx.InsertAccessKey(k1) })
}

func testAccessKeysOfPrincipal(t *testing.T, s storage.Store) {
	alice, bob := userARN(acct, "alice"), userARN(acct, "bob")
	keys := []*storage.AccessKey{
		{ID: "AKIAZZZZZZZZZZZZZZZZ", Account: acct, Principal: alice, SecretCiphertext: []byte("1"), Active: true, Created: base},
		{ID: "AKIAAAAAAAAAAAAAAAAA", Account: acct, Principal: alice, SecretCiphertext: []byte("2"), Active: false, Created: base.Add(time.Second)},
		{ID: "AKIAMMMMMMMMMMMMMMMM", Account: acct, Principal: alice, SecretCiphertext: []byte("3"), Active: true, Created: base},
		{ID: "AKIABBBBBBBBBBBBBBBB", Account: acct, Principal: bob, SecretCiphertext: []byte("4"), Active: true, Created: base},
		// The same principal ARN text under another account is not alice's.
		{ID: "AKIACCCCCCCCCCCCCCCC", Account: acct2, Principal: alice, SecretCiphertext: []byte("5"), Active: true, Created: base},
	}
	update(t, s, func(tx storage.Tx) error {
		for _, k := range keys {
			if err := tx.InsertAccessKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.AccessKeys(acct, alice)
		if err != nil {
			t.Fatalf("AccessKeys: %v", err)
		}
		// (Created, ID): the two keys of base by id, then the later one.
		want := []*storage.AccessKey{keys[2], keys[0], keys[1]}
		if len(got) != len(want) {
			t.Fatalf("AccessKeys: %d keys, want %d", len(got), len(want))
		}
		for i := range want {
			checkAccessKey(t, got[i], want[i])
		}
		got, err = tx.AccessKeys(acct, bob)
		if err != nil || len(got) != 1 {
			t.Fatalf("AccessKeys of bob: %d keys, %v; want 1", len(got), err)
		}
		checkAccessKey(t, got[0], keys[3])
		got, err = tx.AccessKeys(acct, userARN(acct, "carol"))
		if err != nil || len(got) != 0 {
			t.Errorf("AccessKeys of a principal without keys: %d keys, %v; want none", len(got), err)
		}
		return nil
	})
}

func testEntities(t *testing.T, s storage.Store) {
	u := newEntity(acct, storage.EntityUser, "Alice", "AIDAAAAAAAAAAAAAAAAAA", base.Add(123456789*time.Nanosecond))
	g := newEntity(acct, storage.EntityGroup, "Alice", "AGPAAAAAAAAAAAAAAAAAA", base) // same name, other kind
	r := newEntity(acct, storage.EntityRole, "deploy", "AROAAAAAAAAAAAAAAAAAA", base)
	p := newEntity(acct, storage.EntityPolicy, "ReadAll", "ANPAAAAAAAAAAAAAAAAAA", base)
	u2 := newEntity(acct2, storage.EntityUser, "Alice", "AIDABBBBBBBBBBBBBBBBB", base) // same name, other account
	empty := &storage.Entity{Account: acct, Kind: storage.EntityUser, Name: "empty", ID: "AIDACCCCCCCCCCCCCCCCC", Path: "/"}
	insertEntities(t, s, u, g, r, p, u2, empty)
	view(t, s, func(tx storage.Tx) error {
		for _, want := range []*storage.Entity{u, g, r, p, u2} {
			got, err := tx.Entity(want.Account, want.Kind, want.Name)
			if err != nil {
				t.Fatalf("Entity %s %s: %v", want.Kind, want.Name, err)
			}
			checkEntity(t, got, want)
		}
		got, err := tx.Entity(acct, storage.EntityUser, "empty")
		if err != nil {
			t.Fatalf("Entity of an empty doc: %v", err)
		}
		if string(got.Doc) != "{}" {
			t.Errorf("Doc written empty reads back %q, want {}", got.Doc)
		}
		checkEntity(t, got, empty)
		_, err = tx.Entity(acct, storage.EntityRole, "Alice")
		wantErr(t, "Entity of a name of another kind", err, storage.ErrNotFound)
		_, err = tx.Entity(acct2, storage.EntityGroup, "Alice")
		wantErr(t, "Entity of a name of another account", err, storage.ErrNotFound)
		_, err = tx.Entity(acct, storage.EntityUser, "nobody")
		wantErr(t, "Entity of a missing name", err, storage.ErrNotFound)
		return nil
	})
}

func testEntityNamesFoldCase(t *testing.T, s storage.Store) {
	u := newEntity(acct, storage.EntityUser, "Alice", "AIDAAAAAAAAAAAAAAAAAA", base)
	insertEntities(t, s, u)
	update(t, s, func(tx storage.Tx) error {
		for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
			dup := newEntity(acct, storage.EntityUser, name, "AIDABBBBBBBBBBBBBBBBB", base.Add(time.Hour))
			wantErr(t, "InsertEntity of "+name+" over Alice", tx.InsertEntity(dup), storage.ErrConflict)
		}
		// The transaction is still usable after a conflict.
		return tx.InsertEntity(newEntity(acct, storage.EntityUser, "bob", "AIDACCCCCCCCCCCCCCCCC", base))
	})
	view(t, s, func(tx storage.Tx) error {
		for _, name := range []string{"Alice", "alice", "ALICE"} {
			got, err := tx.Entity(acct, storage.EntityUser, name)
			if err != nil {
				t.Fatalf("Entity %s: %v", name, err)
			}
			checkEntity(t, got, u) // the stored name keeps its case
		}
		if _, err := tx.Entity(acct, storage.EntityUser, "BOB"); err != nil {
			t.Errorf("Entity BOB (inserted as bob after a conflict): %v", err)
		}
		return nil
	})
}

func testEntityUpdate(t *testing.T, s storage.Store) {
	r := newEntity(acct, storage.EntityRole, "deploy", "AROAAAAAAAAAAAAAAAAAA", base)
	other := newEntity(acct, storage.EntityRole, "other", "AROABBBBBBBBBBBBBBBBB", base)
	insertEntities(t, s, r, other)
	changed := &storage.Entity{
		Account: acct, Kind: storage.EntityRole,
		Name:    "Deploy", // the same key in another case
		ID:      "AROACCCCCCCCCCCCCCCCC",
		Path:    "/new/",
		Created: base.Add(time.Hour + time.Microsecond),
		Doc:     []byte(`{"MaxSessionDuration":7200}`),
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.UpdateEntity(changed); err != nil {
			return err
		}
		got, err := tx.Entity(acct, storage.EntityRole, "deploy")
		if err != nil {
			return err
		}
		checkEntity(t, got, changed) // read your own write
		missing := *changed
		missing.Name = "nobody"
		wantErr(t, "UpdateEntity of a missing name", tx.UpdateEntity(&missing), storage.ErrNotFound)
		otherKind := *changed
		otherKind.Kind = storage.EntityUser
		wantErr(t, "UpdateEntity of a name of another kind", tx.UpdateEntity(&otherKind), storage.ErrNotFound)
		return nil
	})
	got, err := getEntity(t, s, acct, storage.EntityRole, "DEPLOY")
	if err != nil {
		t.Fatalf("Entity: %v", err)
	}
	checkEntity(t, got, changed)
	got, err = getEntity(t, s, acct, storage.EntityRole, "other")
	if err != nil {
		t.Fatalf("Entity: %v", err)
	}
	checkEntity(t, got, other)
	_, err = getEntity(t, s, acct, storage.EntityRole, "nobody")
	wantErr(t, "Entity after a failed update", err, storage.ErrNotFound)
}

func testEntityDelete(t *testing.T, s storage.Store) {
	u := newEntity(acct, storage.EntityUser, "Alice", "AIDAAAAAAAAAAAAAAAAAA", base)
	g := newEntity(acct, storage.EntityGroup, "Alice", "AGPAAAAAAAAAAAAAAAAAA", base)
	insertEntities(t, s, u, g)
	update(t, s, func(tx storage.Tx) error {
		if err := tx.DeleteEntity(acct, storage.EntityUser, "ALICE"); err != nil {
			return err
		}
		_, err := tx.Entity(acct, storage.EntityUser, "Alice")
		wantErr(t, "Entity after DeleteEntity in the same transaction", err, storage.ErrNotFound)
		wantErr(t, "DeleteEntity twice", tx.DeleteEntity(acct, storage.EntityUser, "Alice"), storage.ErrNotFound)
		wantErr(t, "DeleteEntity of a missing name", tx.DeleteEntity(acct, storage.EntityRole, "Alice"), storage.ErrNotFound)
		return nil
	})
	_, err := getEntity(t, s, acct, storage.EntityUser, "Alice")
	wantErr(t, "Entity of a deleted user", err, storage.ErrNotFound)
	got, err := getEntity(t, s, acct, storage.EntityGroup, "Alice")
	if err != nil {
		t.Fatalf("group of the deleted user's name: %v", err)
	}
	checkEntity(t, got, g)
	// The name is free again, in any case.
	insertEntities(t, s, newEntity(acct, storage.EntityUser, "alice", "AIDABBBBBBBBBBBBBBBBB", base))
}

func testEntitiesOrder(t *testing.T, s storage.Store) {
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.Entities(acct, storage.EntityUser)
		if err != nil || len(got) != 0 {
			t.Errorf("Entities of an empty store: %d, %v; want none", len(got), err)
		}
		return nil
	})
	names := []string{"bob", "Alice", "carol", "alex", "Bea", "a.b", "A-Z", "zed"}
	var es []*storage.Entity
	for i, n := range names {
		es = append(es, newEntity(acct, storage.EntityUser, n, "AIDA"+string(rune('A'+i))+"AAAAAAAAAAAAAAAA", base.Add(time.Duration(i)*time.Second)))
	}
	insertEntities(t, s, es...)
	insertEntities(t, s,
		newEntity(acct, storage.EntityGroup, "admins", "AGPAAAAAAAAAAAAAAAAAA", base),
		newEntity(acct2, storage.EntityUser, "aaron", "AIDAZZZZZZZZZZZZZZZZZ", base))
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.Entities(acct, storage.EntityUser)
		if err != nil {
			t.Fatalf("Entities: %v", err)
		}
		// Lower-cased names, byte-wise: "a-z" < "a.b" < "alex" < "alice" < "bea" < "bob" < ...
		want := []string{"A-Z", "a.b", "alex", "Alice", "Bea", "bob", "carol", "zed"}
		var gotNames []string
		for _, e := range got {
			gotNames = append(gotNames, e.Name)
		}
		if !reflect.DeepEqual(gotNames, want) {
			t.Fatalf("Entities order: %q, want %q", gotNames, want)
		}
		byName := map[string]*storage.Entity{}
		for _, e := range es {
			byName[e.Name] = e
		}
		for _, e := range got {
			checkEntity(t, e, byName[e.Name])
		}
		groups, err := tx.Entities(acct, storage.EntityGroup)
		if err != nil || len(groups) != 1 || groups[0].Name != "admins" {
			t.Errorf("Entities of groups: %d, %v; want admins alone", len(groups), err)
		}
		return nil
	})
}

func testIAMWritesInView(t *testing.T, s storage.Store) {
	e := newEntity(acct, storage.EntityUser, "alice", "AIDAAAAAAAAAAAAAAAAAA", base)
	k := &storage.AccessKey{ID: "AKIAAAAAAAAAAAAAAAAA", Account: acct, Principal: userARN(acct, "alice"),
		SecretCiphertext: []byte("s"), Active: true, Created: base}
	insertEntities(t, s, e)
	update(t, s, func(tx storage.Tx) error { return tx.InsertAccessKey(k) })
	view(t, s, func(tx storage.Tx) error {
		changedEntity := *e
		changedEntity.Path = "/changed/"
		changedKey := *k
		changedKey.Active = false
		writes := map[string]error{
			"InsertEntity":    tx.InsertEntity(newEntity(acct, storage.EntityUser, "bob", "AIDABBBBBBBBBBBBBBBBB", base)),
			"UpdateEntity":    tx.UpdateEntity(&changedEntity),
			"DeleteEntity":    tx.DeleteEntity(acct, storage.EntityUser, "alice"),
			"UpdateAccessKey": tx.UpdateAccessKey(&changedKey),
			"DeleteAccessKey": tx.DeleteAccessKey(k.ID),
		}
		for op, err := range writes {
			if err == nil {
				t.Errorf("%s in View: no error", op)
			}
		}
		return nil
	})
	got, err := getEntity(t, s, acct, storage.EntityUser, "alice")
	if err != nil {
		t.Fatalf("Entity: %v", err)
	}
	checkEntity(t, got, e)
	_, err = getEntity(t, s, acct, storage.EntityUser, "bob")
	wantErr(t, "Entity inserted in a View", err, storage.ErrNotFound)
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.AccessKey(k.ID)
		if err != nil {
			t.Fatalf("AccessKey: %v", err)
		}
		checkAccessKey(t, got, k)
		return nil
	})
}

func testIAMWritesRollBack(t *testing.T, s storage.Store) {
	e := newEntity(acct, storage.EntityRole, "deploy", "AROAAAAAAAAAAAAAAAAAA", base)
	k := &storage.AccessKey{ID: "AKIAAAAAAAAAAAAAAAAA", Account: acct, Principal: userARN(acct, "alice"),
		SecretCiphertext: []byte("s"), Active: true, Created: base}
	insertEntities(t, s, e)
	update(t, s, func(tx storage.Tx) error { return tx.InsertAccessKey(k) })
	err := s.Update(t.Context(), func(tx storage.Tx) error {
		changed := *e
		changed.Doc = []byte(`{"changed":true}`)
		if err := tx.UpdateEntity(&changed); err != nil {
			return err
		}
		if err := tx.InsertEntity(newEntity(acct, storage.EntityRole, "new", "AROABBBBBBBBBBBBBBBBB", base)); err != nil {
			return err
		}
		if err := tx.DeleteAccessKey(k.ID); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update: %v, want %v", err, errBoom)
	}
	got, err := getEntity(t, s, acct, storage.EntityRole, "deploy")
	if err != nil {
		t.Fatalf("Entity: %v", err)
	}
	checkEntity(t, got, e)
	_, err = getEntity(t, s, acct, storage.EntityRole, "new")
	wantErr(t, "Entity inserted by a failed Update", err, storage.ErrNotFound)
	view(t, s, func(tx storage.Tx) error {
		_, err := tx.AccessKey(k.ID)
		if err != nil {
			t.Errorf("AccessKey deleted by a failed Update: %v", err)
		}
		return nil
	})
}
