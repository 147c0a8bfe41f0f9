package server

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// scaleApp loads COFFER_BENCH_SECRETS secrets (default 2,000; the closing
// figures use 100,000) with tags and descriptions through the API.
func scaleApp(b *testing.B) (*app, int) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("COFFER_BENCH_SECRETS")); err == nil && v > 0 {
		n = v
	}
	a := benchApp(b)
	teams := []string{"core", "payments", "search", "data", "edge"}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				team := teams[i%len(teams)]
				call(b, a.handler, "CreateSecret", fmt.Sprintf(`{"Name":"%s/svc-%d/db","SecretString":"{\"password\":\"p%d\"}",`+
					`"Description":"database credentials of service %d","Tags":[{"Key":"team","Value":"%s"},{"Key":"shard","Value":"s%d"}],`+
					`"ClientRequestToken":"00000000-0000-0000-0000-%012d"}`, team, i, i, i, team, i%97, i))
			}
		})
	}
	wg.Wait()
	return a, n
}

// BenchmarkScale measures, on a store of many secrets, a filtered ListSecrets
// page and a BatchGetSecretValue of 20 ids.
func BenchmarkScale(b *testing.B) {
	a, n := scaleApp(b)
	b.Logf("%d secrets loaded", n)
	b.Run("ListSecrets/tag-value", func(b *testing.B) {
		for b.Loop() {
			call(b, a.handler, "ListSecrets", `{"Filters":[{"Key":"tag-value","Values":["s42"]}],"MaxResults":100}`)
		}
	})
	b.Run("ListSecrets/name-prefix", func(b *testing.B) {
		for b.Loop() {
			call(b, a.handler, "ListSecrets", `{"Filters":[{"Key":"name","Values":["payments/svc-1"]}],"MaxResults":100}`)
		}
	})
	b.Run("ListSecrets/description-and-tag", func(b *testing.B) {
		for b.Loop() {
			call(b, a.handler, "ListSecrets", `{"Filters":[{"Key":"description","Values":["service 7"]},{"Key":"tag-key","Values":["team"]}],"MaxResults":100}`)
		}
	})
	ids := make([]string, 20)
	for i := range ids {
		j := (i * 7919) % n
		ids[i] = fmt.Sprintf(`"%s/svc-%d/db"`, []string{"core", "payments", "search", "data", "edge"}[j%5], j)
	}
	body := `{"SecretIdList":[` + strings.Join(ids, ",") + `]}`
	b.Run("BatchGetSecretValue/20-ids", func(b *testing.B) {
		for b.Loop() {
			w := call(b, a.handler, "BatchGetSecretValue", body)
			if strings.Contains(w.Body.String(), `"ErrorCode"`) {
				b.Fatalf("errors: %s", w.Body)
			}
		}
	})
}
