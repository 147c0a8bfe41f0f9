package secrets

import (
	"maps"
	"slices"
	"testing"
)

func sorted(s stages) map[string][]string {
	out := map[string][]string{}
	for v, ls := range s {
		ls = slices.Clone(ls)
		slices.Sort(ls)
		out[v] = ls
	}
	return out
}

func wantStages(t *testing.T, step string, got stages, want map[string][]string) {
	t.Helper()
	if !maps.EqualFunc(sorted(got), sorted(want), slices.Equal[[]string]) {
		t.Fatalf("%s: stages %v, want %v", step, sorted(got), sorted(want))
	}
}

// The label choreography of PutSecretValue (BEHAVIOUR.md §4.2).
func TestAddVersion(t *testing.T) {
	st := stages{}
	if got := st.addVersion("v1", nil); !slices.Equal(got, []string{StageCurrent}) {
		t.Fatalf("first version labels %v", got)
	}
	st.addVersion("v2", nil)
	wantStages(t, "second put", st, map[string][]string{"v1": {StagePrevious}, "v2": {StageCurrent}})
	st.addVersion("v3", nil)
	wantStages(t, "third put", st, map[string][]string{"v2": {StagePrevious}, "v3": {StageCurrent}})

	// Custom labels without AWSCURRENT leave AWSCURRENT and AWSPREVIOUS alone.
	st.addVersion("v4", []string{"one", "two", "three"})
	st.addVersion("v5", []string{"one", "two", "four"})
	wantStages(t, "custom labels", st, map[string][]string{
		"v2": {StagePrevious}, "v3": {StageCurrent}, "v4": {"three"}, "v5": {"four", "one", "two"},
	})

	// A new current version drops AWSPENDING and keeps the old version's custom labels.
	st = stages{"v1": {StageCurrent, StagePending, "mine"}}
	st.addVersion("v2", nil)
	wantStages(t, "pending dropped", st, map[string][]string{"v1": {StagePrevious, "mine"}, "v2": {StageCurrent}})

	// AWSCURRENT with AWSPENDING on the new version keeps both there.
	st = stages{"v1": {StageCurrent}}
	st.addVersion("v2", []string{StageCurrent, StagePending})
	wantStages(t, "current and pending", st, map[string][]string{"v1": {StagePrevious}, "v2": {StageCurrent, StagePending}})

	// The first version of a secret always gets AWSCURRENT.
	st = stages{}
	if got := st.addVersion("v1", []string{"MINE"}); !slices.Equal(got, []string{"MINE", StageCurrent}) {
		t.Fatalf("first version with custom labels: %v", got)
	}
	if st.count() != 2 {
		t.Fatalf("count %d", st.count())
	}
}

func TestDedupe(t *testing.T) {
	if got := dedupe([]string{"a", "b", "a"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatal(got)
	}
	if dedupe(nil) != nil {
		t.Fatal("nil must stay nil (labels not given)")
	}
}
