package e2e

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-secretsmanager-caching-go/v2/secretcache"
)

// AWS's caching client works unchanged against coffer: it reads through
// DescribeSecret (VersionIdsToStages) and GetSecretValue, and picks up a new
// version after RefreshNow.
func TestCachingClient(t *testing.T) {
	s := startServer(t, "")
	c := s.client(testRegion)
	ctx := ctx(t)
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("cached"), SecretString: aws.String("first")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("cached-bin"), SecretBinary: []byte{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	cache, err := secretcache.New(func(cc *secretcache.Cache) {
		cc.Client = c
		cc.CacheConfig.CacheItemTTL = int64(time.Hour)
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := cache.GetSecretStringWithContext(ctx, "cached"); err != nil || v != "first" {
		t.Fatalf("GetSecretString = %q, %v", v, err)
	}
	if b, err := cache.GetSecretBinaryWithContext(ctx, "cached-bin"); err != nil || string(b) != "\x01\x02\x03" {
		t.Fatalf("GetSecretBinary = %v, %v", b, err)
	}
	if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("cached"), SecretString: aws.String("second")}); err != nil {
		t.Fatal(err)
	}
	if v, _ := cache.GetSecretStringWithContext(ctx, "cached"); v != "first" {
		t.Fatalf("cache did not cache: %q", v)
	}
	cache.RefreshNowWithContext(ctx, "cached")
	if v, err := cache.GetSecretStringWithContext(ctx, "cached"); err != nil || v != "second" {
		t.Fatalf("after RefreshNow: %q, %v", v, err)
	}
	if v, err := cache.GetSecretStringWithStageWithContext(ctx, "cached", "AWSPREVIOUS"); err != nil || v != "first" {
		t.Fatalf("AWSPREVIOUS through the cache: %q, %v", v, err)
	}
	if _, err := cache.GetSecretStringWithContext(ctx, "missing"); err == nil {
		t.Fatal("a missing secret read through the cache without error")
	}
}
