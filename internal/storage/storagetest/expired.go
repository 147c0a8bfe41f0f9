package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// testExpiredSecrets: ExpiredSecrets finds secrets of every account and
// region whose deletion date has passed, earliest first, and nothing else.
func testExpiredSecrets(t *testing.T, s storage.Store) {
	mk := func(account, reg, name string, deletion time.Time) *storage.Secret {
		sec := newSecret(account, reg, name, "abcdef", base)
		sec.DeletionDate = deletion
		return sec
	}
	secs := []*storage.Secret{
		mk(acct, region, "active", time.Time{}),
		mk(acct, region, "late", base.Add(3*time.Hour)),
		mk(acct2, region2, "early", base.Add(time.Hour)),
		mk(acct, region2, "future", base.Add(48*time.Hour)),
		mk(acct2, region, "exact", base.Add(2*time.Hour)),
	}
	update(t, s, func(tx storage.Tx) error {
		for _, sec := range secs {
			if err := tx.InsertSecret(sec); err != nil {
				return err
			}
		}
		return nil
	})
	var got []string
	view := func(before time.Time, limit int) []string {
		t.Helper()
		if err := s.View(t.Context(), func(tx storage.Tx) error {
			var err error
			got, err = tx.ExpiredSecrets(before, limit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := []string{secs[2].ARN, secs[4].ARN, secs[1].ARN}
	if got := view(base.Add(3*time.Hour), 10); !slices.Equal(got, want) {
		t.Fatalf("ExpiredSecrets = %v, want %v", got, want)
	}
	if got := view(base.Add(3*time.Hour), 2); !slices.Equal(got, want[:2]) {
		t.Fatalf("ExpiredSecrets with limit 2 = %v, want %v", got, want[:2])
	}
	if got := view(base, 10); len(got) != 0 {
		t.Fatalf("ExpiredSecrets before any deletion date = %v", got)
	}
	// Restoring (clearing the date) and deleting remove a secret from the set.
	update(t, s, func(tx storage.Tx) error {
		sec, err := tx.SecretByARN(secs[2].ARN)
		if err != nil {
			return err
		}
		sec.DeletionDate = time.Time{}
		if err := tx.UpdateSecret(sec); err != nil {
			return err
		}
		return tx.DeleteSecret(secs[4].ARN)
	})
	if got := view(base.Add(3*time.Hour), 10); !slices.Equal(got, []string{secs[1].ARN}) {
		t.Fatalf("after restore and delete = %v", got)
	}
}
