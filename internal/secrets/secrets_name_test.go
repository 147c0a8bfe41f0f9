package secrets

import "testing"

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "prod/app/db", "/lead", "x_y+z=w.v@u-t", "ABC123"} {
		if !validName(ok) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "Inv Name", " Inv*Name? ", "bang!", "é", "a\x00b", "tab\tx"} {
		if validName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
