package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/envelope"
	"github.com/coffer-dev/coffer/internal/storage"
)

// The audit signing key.
//
// The deployment has one ed25519 key that signs the digests of the audit
// trail. It lives in the store, so every node of a cluster signs with the
// same key: the private key's seed as a storage.Key record with KeyID
// "audit-signing" (Account and Region empty), sealed by the root key
// (additional data "coffer-audit-signing-key-v1"); the public key in clear
// as the record "audit-signing-public", which is what `coffer audit verify`
// reads when it is not given --public-key. The first node to start creates
// the key; the server logs the key id and public key at start, so an
// operator can keep it outside the database and pin it with --public-key
// (someone able to rewrite the database could otherwise replace the public
// key record along with the digests).
const (
	auditKeyID       = "audit-signing"
	auditPublicKeyID = "audit-signing-public"
	auditKeyAAD      = "coffer-audit-signing-key-v1"
)

// newTrail builds the audit trail from cfg (its sinks) and the digest job.
// The caller closes the trail after the server stopped and runs digests
// (for example in a goroutine) until ctx ends; digests runs under the
// "audit-digest" lease, so a cluster signs on one node at a time.
func newTrail(ctx context.Context, cfg Config, store storage.Store, root envelope.Wrapper, log *slog.Logger) (*audit.Trail, func(ctx context.Context), error) {
	sinks, err := auditSinks(cfg, os.Stdout)
	if err != nil {
		return nil, nil, err
	}
	key, err := auditSigningKey(ctx, store, root)
	if err != nil {
		for _, s := range sinks {
			_ = s.Close()
		}
		return nil, nil, err
	}
	pub := key.Public().(ed25519.PublicKey)
	log.Info("audit: digests are signed", "key_id", audit.KeyID(pub), "public_key", base64.StdEncoding.EncodeToString(pub))
	trail, err := audit.New(store, audit.Config{Sinks: sinks, Log: log, Journal: auditJournalPath(cfg), JournalSync: cfg.AuditSync})
	if err != nil {
		return nil, nil, err
	}
	signer := audit.NewSigner(store, key, nil)
	interval := cfg.AuditDigestInterval
	if interval <= 0 {
		interval = time.Minute
	}
	digests := func(ctx context.Context) {
		runJob(ctx, store, cfg.leaseTTL(), "audit-digest", log, func(ctx context.Context) {
			signer.Run(ctx, interval, func(err error) { log.Error("audit: digest failed", "err", err) })
		})
	}
	return trail, digests, nil
}

// auditSinks opens the sinks cfg names.
func auditSinks(cfg Config, stdout io.Writer) ([]audit.Sink, error) {
	var sinks []audit.Sink
	fail := func(err error) ([]audit.Sink, error) {
		for _, s := range sinks {
			_ = s.Close()
		}
		return nil, err
	}
	if cfg.AuditFile != "" {
		s, err := audit.NewFileSink(cfg.AuditFile)
		if err != nil {
			return fail(err)
		}
		sinks = append(sinks, s)
	}
	if cfg.AuditStdout {
		sinks = append(sinks, audit.NewWriterSink(stdout))
	}
	if cfg.AuditSyslog != "" {
		s, err := audit.NewSyslogSink(cfg.AuditSyslog)
		if err != nil {
			return fail(err)
		}
		sinks = append(sinks, s)
	}
	return sinks, nil
}

// auditSigningKey loads the deployment's audit key, creating it on first
// use.
func auditSigningKey(ctx context.Context, store storage.Store, root envelope.Wrapper) (ed25519.PrivateKey, error) {
	var sealed []byte
	err := store.View(ctx, func(tx storage.Tx) error {
		k, err := tx.Key("", "", auditKeyID)
		if err != nil {
			return err
		}
		sealed = k.Material
		return nil
	})
	switch {
	case err == nil:
		return openAuditKey(ctx, root, sealed)
	case !errors.Is(err, storage.ErrNotFound):
		return nil, fmt.Errorf("audit: reading the signing key: %w", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("audit: generating the signing key: %w", err)
	}
	sealed, err = root.Wrap(ctx, priv.Seed(), []byte(auditKeyAAD))
	if err != nil {
		return nil, fmt.Errorf("audit: sealing the signing key: %w", err)
	}
	now := time.Now().UTC()
	err = store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.InsertKey(&storage.Key{KeyID: auditKeyID, Material: sealed, Created: now}); err != nil {
			return err
		}
		return tx.InsertKey(&storage.Key{KeyID: auditPublicKeyID, Material: pub, Created: now})
	})
	if errors.Is(err, storage.ErrConflict) {
		// Another node created it first.
		return auditSigningKey(ctx, store, root)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: storing the signing key: %w", err)
	}
	return priv, nil
}

func openAuditKey(ctx context.Context, root envelope.Wrapper, sealed []byte) (ed25519.PrivateKey, error) {
	seed, err := root.Unwrap(ctx, sealed, []byte(auditKeyAAD))
	if err != nil {
		return nil, fmt.Errorf("audit: opening the signing key (was the root key changed?): %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, errors.New("audit: the stored signing key is malformed")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// auditPublicKey returns the public key given on the command line (base64
// or hex), else the one stored with the signing key.
func auditPublicKey(ctx context.Context, store storage.Store, given string) (ed25519.PublicKey, error) {
	if given = strings.TrimSpace(given); given != "" {
		for _, dec := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, hex.DecodeString} {
			if b, err := dec(given); err == nil && len(b) == ed25519.PublicKeySize {
				return ed25519.PublicKey(b), nil
			}
		}
		return nil, errors.New("audit: --public-key must be a 32-byte ed25519 key in base64 or hex")
	}
	var pub []byte
	err := store.View(ctx, func(tx storage.Tx) error {
		k, err := tx.Key("", "", auditPublicKeyID)
		if err != nil {
			return err
		}
		pub = k.Material
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errors.New("audit: no audit key in the store yet (the server creates it on first start)")
	}
	if err != nil {
		return nil, fmt.Errorf("audit: reading the public key: %w", err)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("audit: the stored public key is malformed")
	}
	return ed25519.PublicKey(pub), nil
}

// VerifyAudit checks the audit trail of cfg's store (coffer audit verify)
// with the public key given (base64 or hex; "" reads the stored one). It
// prints the report to out. With the embedded store the server must be
// stopped: the database is locked by the process that serves it.
func VerifyAudit(ctx context.Context, cfg Config, publicKey string, out io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	pub, err := auditPublicKey(ctx, store, publicKey)
	if err != nil {
		return err
	}
	rep, err := audit.Verify(ctx, store, pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "coffer: audit trail intact: %d records, %d digests checked (key %s)\n", rep.Records, rep.Digests, audit.KeyID(pub))
	if rep.Records > 0 {
		fmt.Fprintf(out, "    head: record %d, hash %s\n", rep.HeadSeq, hex.EncodeToString(rep.HeadHash))
		if rep.LastDigestSeq < rep.HeadSeq {
			fmt.Fprintf(out, "    records %d to %d are not yet covered by a signed digest\n", rep.LastDigestSeq+1, rep.HeadSeq)
		}
	}
	return nil
}

// LookupAudit prints the records of cfg's store matching f, oldest first,
// one JSON document (the stored record) per line (coffer audit lookup).
func LookupAudit(ctx context.Context, cfg Config, f audit.Filter, out io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	recs, err := audit.Lookup(ctx, store, f)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, err := fmt.Fprintf(out, "%s\n", r.Doc); err != nil {
			return err
		}
	}
	return nil
}
