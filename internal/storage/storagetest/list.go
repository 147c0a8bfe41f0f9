package storagetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// page lists one page.
func page(t *testing.T, s storage.Store, q storage.SecretQuery) []*storage.Secret {
	t.Helper()
	var got []*storage.Secret
	view(t, s, func(tx storage.Tx) (err error) {
		got, err = tx.ListSecrets(q)
		return err
	})
	return got
}

// listAll pages through q with pages of limit, calling between (if set) after
// each page with the page number and the cursor. It checks the page sizes.
func listAll(t *testing.T, s storage.Store, q storage.SecretQuery, limit int, between func(n int, c *storage.Cursor)) []*storage.Secret {
	t.Helper()
	q.Limit = limit
	q.After = nil
	var all []*storage.Secret
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatal("ListSecrets: paging does not end")
		}
		got := page(t, s, q)
		if len(got) > limit {
			t.Fatalf("ListSecrets page %d: %d items, limit %d", n, len(got), limit)
		}
		all = append(all, got...)
		if len(got) < limit {
			return all
		}
		last := got[len(got)-1]
		q.After = &storage.Cursor{Created: last.Created, ARN: last.ARN}
		if between != nil {
			between(n, q.After)
		}
	}
}

// sortSecrets orders secrets as ListSecrets must: by (Created at ms, ARN).
func sortSecrets(secs []*storage.Secret) []*storage.Secret {
	out := slices.Clone(secs)
	slices.SortFunc(out, func(a, b *storage.Secret) int {
		return cmp.Or(ms(a.Created).Compare(ms(b.Created)), cmp.Compare(a.ARN, b.ARN))
	})
	return out
}

func arns(secs []*storage.Secret) []string {
	var out []string
	for _, s := range secs {
		out = append(out, s.ARN)
	}
	return out
}

func active(secs []*storage.Secret) []*storage.Secret {
	return slices.DeleteFunc(slices.Clone(secs), func(s *storage.Secret) bool { return !s.DeletionDate.IsZero() })
}

func testListSecrets(t *testing.T, s storage.Store) {
	// 25 secrets in clusters of three within one millisecond (the ARN breaks
	// the tie), inserted in an order unrelated to either; every fifth one
	// scheduled for deletion.
	var secs []*storage.Secret
	for _, i := range []int{7, 3, 22, 0, 15, 9, 24, 1, 18, 11, 5, 20, 13, 2, 8, 16, 23, 4, 19, 10, 6, 14, 21, 12, 17} {
		created := base.Add(time.Duration(i/3)*time.Second + time.Duration(i%3)*100*time.Microsecond)
		name := fmt.Sprintf("list/%02d", (i*7)%25)
		sec := newSecret(acct, region, name, fmt.Sprintf("S%05d", (i*13)%25), created)
		if i%5 == 0 {
			sec.DeletionDate = base.Add(30 * 24 * time.Hour)
		}
		secs = append(secs, sec)
	}
	insertSecrets(t, s, secs...)
	all := sortSecrets(secs)

	for _, tc := range []struct {
		includeDeleted bool
		want           []*storage.Secret
	}{
		{true, all},
		{false, active(all)},
	} {
		q := storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: tc.includeDeleted}
		for _, limit := range []int{1, 2, 7, 10, 20, 25, 26, 100} {
			got := listAll(t, s, q, limit, nil)
			if !slices.Equal(arns(got), arns(tc.want)) {
				t.Errorf("IncludeDeleted %v, pages of %d:\n got %v\nwant %v", tc.includeDeleted, limit, arns(got), arns(tc.want))
			}
		}
		got := page(t, s, q) // Limit 0: everything
		if !slices.Equal(arns(got), arns(tc.want)) {
			t.Errorf("IncludeDeleted %v, no limit:\n got %v\nwant %v", tc.includeDeleted, arns(got), arns(tc.want))
		}
		if len(got) == len(tc.want) {
			for i, g := range got {
				checkSecret(t, g, tc.want[i])
			}
		}
	}

	// A cursor that is not an item's position still splits the order.
	mid := all[10]
	q := storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: true,
		After: &storage.Cursor{Created: ms(mid.Created), ARN: mid.ARN + "~"}}
	if got := page(t, s, q); !slices.Equal(arns(got), arns(all[11:])) {
		t.Errorf("after a cursor between items:\n got %v\nwant %v", arns(got), arns(all[11:]))
	}
	q.After = &storage.Cursor{Created: ms(mid.Created).Add(time.Millisecond)}
	var want []*storage.Secret
	for _, sec := range all {
		if ms(sec.Created).After(ms(mid.Created)) {
			want = append(want, sec)
		}
	}
	if got := page(t, s, q); !slices.Equal(arns(got), arns(want)) {
		t.Errorf("after a cursor with an empty ARN:\n got %v\nwant %v", arns(got), arns(want))
	}
	q.After = &storage.Cursor{Created: ms(all[len(all)-1].Created), ARN: all[len(all)-1].ARN}
	if got := page(t, s, q); len(got) != 0 {
		t.Errorf("after the last item: %v, want nothing", arns(got))
	}
}

func testListSecretsScope(t *testing.T, s storage.Store) {
	scopes := []struct{ account, region string }{{acct, region}, {acct, region2}, {acct2, region}}
	want := map[string][]*storage.Secret{}
	for i, sc := range scopes {
		for j := range 3 {
			sec := newSecret(sc.account, sc.region, fmt.Sprintf("scope/%d", j), fmt.Sprintf("X%d%d", i, j), base.Add(time.Duration(j)*time.Second))
			insertSecrets(t, s, sec)
			want[sc.account+"/"+sc.region] = append(want[sc.account+"/"+sc.region], sec)
		}
	}
	for _, sc := range scopes {
		got := listAll(t, s, storage.SecretQuery{Account: sc.account, Region: sc.region, IncludeDeleted: true}, 2, nil)
		w := sortSecrets(want[sc.account+"/"+sc.region])
		if !slices.Equal(arns(got), arns(w)) {
			t.Errorf("ListSecrets %s/%s:\n got %v\nwant %v", sc.account, sc.region, arns(got), arns(w))
		}
	}
	if got := page(t, s, storage.SecretQuery{Account: acct2, Region: region2, IncludeDeleted: true}); len(got) != 0 {
		t.Errorf("ListSecrets of an empty scope: %v", arns(got))
	}
}

// testListSecretsStable changes the store between pages: whatever existed
// throughout is listed exactly once.
func testListSecretsStable(t *testing.T, s storage.Store) {
	var secs []*storage.Secret
	for i := range 20 {
		secs = append(secs, newSecret(acct, region, fmt.Sprintf("stable/%02d", i), "AAAAAA", base.Add(time.Duration(i)*time.Second)))
	}
	insertSecrets(t, s, secs...)
	deleted := map[string]bool{}
	var later []*storage.Secret
	n := 0
	got := listAll(t, s, storage.SecretQuery{Account: acct, Region: region}, 4, func(page int, c *storage.Cursor) {
		update(t, s, func(tx storage.Tx) error {
			n++
			// Before the cursor: never listed.
			if err := tx.InsertSecret(newSecret(acct, region, fmt.Sprintf("early/%d", n), "BBBBBB", c.Created.Add(-time.Millisecond))); err != nil {
				return err
			}
			// At the cursor's time but sorting before it.
			early := newSecret(acct, region, fmt.Sprintf("tie/%d", n), "CCCCCC", c.Created)
			early.ARN = c.ARN[:len(c.ARN)-1] // a prefix sorts first
			if err := tx.InsertSecret(early); err != nil {
				return err
			}
			// After the cursor: listed.
			sec := newSecret(acct, region, fmt.Sprintf("late/%d", n), "DDDDDD", base.Add(time.Hour+time.Duration(n)*time.Second))
			later = append(later, sec)
			if err := tx.InsertSecret(sec); err != nil {
				return err
			}
			// Delete one not listed yet, and schedule another for deletion.
			if 19-2*page < (page+1)*4+2 {
				return nil // all listed already
			}
			victim := secs[19-2*page]
			deleted[victim.ARN] = true
			if err := tx.DeleteSecret(victim.ARN); err != nil {
				return err
			}
			hidden := *secs[18-2*page]
			hidden.DeletionDate = base.Add(48 * time.Hour)
			deleted[hidden.ARN] = true
			return tx.UpdateSecret(&hidden)
		})
	})
	var want []*storage.Secret
	for _, sec := range secs {
		if !deleted[sec.ARN] {
			want = append(want, sec)
		}
	}
	want = append(want, later...)
	if !slices.Equal(arns(got), arns(want)) {
		t.Errorf("ListSecrets with writes between pages:\n got %v\nwant %v", arns(got), arns(want))
	}
}
