package policy

import (
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
)

// slowEvaluate is Evaluate without the fast paths: every statement is
// tried, and the action is matched case-folding, as typed.
func slowEvaluate(p *Policy, r *Request) (Decision, []int) {
	var ev evalState
	ev.init(r)
	ev.lowOK, ev.actionID = false, -1
	var deny, allow bool
	var allowIdx, denyIdx []int
	for i := range p.stmts {
		if ok, _ := p.stmts[i].applies(&ev); ok {
			if p.stmts[i].effect == Deny {
				deny = true
				denyIdx = append(denyIdx, i)
			} else {
				allow = true
				allowIdx = append(allowIdx, i)
			}
		}
	}
	switch {
	case deny:
		return Deny, denyIdx
	case allow:
		return Allow, allowIdx
	}
	return NotApplicable, nil
}

func matchIndexes(m []Match) []int {
	var out []int
	for _, e := range m {
		out = append(out, e.Index)
	}
	return out
}

var (
	indexActionPats = append([]string{"*:*", "*:get*", "*:*Value", "SecretsManager:*", "secretsmanager:GÉT*",
		"KMS:decrypt", "sts:*", "secretsmanager:*x*", "*:?etSecretValue", "secretsmanager:"}, vActionPats...)
	indexActions = append([]string{"SECRETSMANAGER:getsecretvalue", "kms:Decrypt", "KMS:DECRYPT", "secretsmanager", "",
		"secretsmanager:Get:x", "secretsmanager:gétSecret", "SecretsManager:GÉTSECRET", "sts:AssumeRole", "*", "secretsmanager:",
		"secretsmanager:" + strings.Repeat("GetSecretValue", 6)}, vActions...)
)

func indexPolicy(t testing.TB, rng *rand.Rand, name string) *Policy {
	var stmts []string
	for j, n := 0, 1+rng.Intn(6); j < n; j++ {
		var acts []string
		for k, m := 0, 1+rng.Intn(3); k < m; k++ {
			acts = append(acts, fmt.Sprintf("%q", pick(rng, indexActionPats)))
		}
		elem, effect := "Action", "Allow"
		if rng.Intn(5) == 0 {
			elem = "NotAction"
		}
		if rng.Intn(4) == 0 {
			effect = "Deny"
		}
		stmts = append(stmts, fmt.Sprintf(`{"Effect":%q,%q:[%s],"Resource":"*"}`, effect, elem, strings.Join(acts, ",")))
	}
	p, err := Parse(name, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`, Identity)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

// The action index, the lowered action and the service filter decide
// exactly as matching every statement case-folding does, cold and warm.
func TestActionIndexAgrees(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 300; i++ {
		p := indexPolicy(t, rng, fmt.Sprintf("p%d", i))
		for round := 0; round < 2; round++ {
			for _, a := range indexActions {
				r := &Request{Principal: alice, Action: a, Resource: secretA}
				wantD, wantIdx := slowEvaluate(p, r)
				d, m := p.Evaluate(r)
				if d != wantD || fmt.Sprint(matchIndexes(m)) != fmt.Sprint(wantIdx) {
					t.Fatalf("policy %d round %d action %q: Evaluate = %v %v, every statement case-folding = %v %v",
						i, round, a, d, matchIndexes(m), wantD, wantIdx)
				}
			}
		}
	}
}

// A policy asked about more actions than its index holds keeps answering
// right (the rest are matched statement by statement).
func TestActionIndexFull(t *testing.T) {
	p := parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"secretsmanager:Op1*","Resource":"*"},
		{"Effect":"Allow","NotAction":"secretsmanager:Op*5","Resource":"*"}]}`)
	for round := 0; round < 2; round++ {
		for i := 0; i < 2*maxIndexedActions; i++ {
			r := &Request{Principal: alice, Action: fmt.Sprintf("secretsmanager:Op%d", i), Resource: secretA}
			wantD, wantIdx := slowEvaluate(p, r)
			d, m := p.Evaluate(r)
			if d != wantD || fmt.Sprint(matchIndexes(m)) != fmt.Sprint(wantIdx) {
				t.Fatalf("action %q: Evaluate = %v %v, want %v %v", r.Action, d, matchIndexes(m), wantD, wantIdx)
			}
		}
	}
	if n := len(p.actions.Load().ids); n != maxIndexedActions {
		t.Fatalf("index holds %d actions, want the cap %d", n, maxIndexedActions)
	}
}

func TestLowerActionBeyondInternCap(t *testing.T) {
	for i := 0; i <= maxInternedActions; i++ {
		lowerAction(fmt.Sprintf("cap:Fill%d", i))
	}
	low, id, ok := lowerAction("cap:NotInterned")
	if !ok || low != "cap:notinterned" || id != -1 {
		t.Fatalf("lowerAction beyond the cap = %q %d %v, want the lowered text, id -1", low, id, ok)
	}
	if _, _, ok := lowerAction("cap:Ünicode"); ok {
		t.Fatal("lowerAction of a non-ASCII action reports ok")
	}
	// Interned actions keep their answers.
	low1, id1, _ := lowerAction("cap:Fill3")
	low2, id2, _ := lowerAction("cap:Fill3")
	if low1 != "cap:fill3" || id1 < 0 || id1 != id2 || low2 != low1 {
		t.Fatalf("interned action: %q %d, %q %d", low1, id1, low2, id2)
	}
	// A policy still decides right for actions beyond the cap.
	p := parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"CAP:not*","Resource":"*"}}`)
	if d, _ := p.Evaluate(&Request{Principal: alice, Action: "cap:NotInterned", Resource: secretA}); d != Allow {
		t.Fatalf("Evaluate for an action beyond the cap = %v", d)
	}
}

// Concurrent evaluations sharing policies (and filling their indexes)
// answer as sequential ones do. Run with -race.
func TestConcurrentAuthorize(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	pl := newPool(t, rng, 40)
	cases := make([]diffCase, 400)
	for i := range cases {
		cases[i] = genCase(t, rng, pl)
		cases[i].in.Request.Action = pick(rng, indexActions)
	}
	// Reference answers from fresh copies of the policies (empty indexes).
	want := make([]Result, len(cases))
	for i := range cases {
		in := cases[i].in
		in.Identity = nil
		for _, g := range cases[i].ref.identity {
			in.Identity = append(in.Identity, mustParse(t, g, Identity))
		}
		if g := cases[i].ref.session; g != nil {
			in.Session = mustParse(t, g, Session)
		}
		if g := cases[i].ref.resource; g != nil {
			in.Resource = mustParse(t, g, Resource)
		}
		want[i] = Authorize(&in)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := range cases {
				i := (k*7 + w*53) % len(cases)
				got := Authorize(&cases[i].in)
				if got.Allowed != want[i].Allowed || got.Reason != want[i].Reason || fmt.Sprint(got.Matched) != fmt.Sprint(want[i].Matched) {
					errs <- fmt.Sprintf("case %d: concurrent %+v, sequential %+v", i, got, want[i])
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// A result's Matched may share memory with the policy: appending to it
// must not change what later results say.
func TestMatchedShared(t *testing.T) {
	p := parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":[
		{"Sid":"A","Effect":"Allow","Action":"secretsmanager:Get*","Resource":"*"},
		{"Sid":"B","Effect":"Allow","Action":"secretsmanager:Describe*","Resource":"*"}]}`)
	in := &Input{Request: &Request{Principal: alice, Action: "secretsmanager:GetSecretValue", Resource: secretA}, Identity: []*Policy{p}}
	r := Authorize(in)
	if len(r.Matched) != 1 || r.Matched[0] != (Match{Policy: "p", Sid: "A", Index: 0, Effect: Allow}) {
		t.Fatalf("Matched = %+v", r.Matched)
	}
	_ = append(r.Matched, Match{Sid: "X"})
	if allocs := testing.AllocsPerRun(20, func() { r = Authorize(in) }); allocs != 0 {
		t.Fatalf("Authorize with one matching statement allocated %v times", allocs)
	}
	if len(r.Matched) != 1 || r.Matched[0].Sid != "A" {
		t.Fatalf("Matched after appending to an earlier one = %+v", r.Matched)
	}
	// Two statements of two policies: a list of its own.
	in.Identity = append(in.Identity, p)
	if r := Authorize(in); len(r.Matched) != 2 || r.Matched[0].Sid != "A" || r.Matched[1].Sid != "A" {
		t.Fatalf("Matched of two policies = %+v", r.Matched)
	}
	if d, m := p.Evaluate(in.Request); d != Allow || len(m) != 1 || m[0].Sid != "A" {
		t.Fatalf("Evaluate = %v %+v", d, m)
	}
}
