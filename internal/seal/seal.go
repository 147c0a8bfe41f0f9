// Package seal provides coffer's root key: the key at the top of the key
// hierarchy, which wraps the key-encryption keys (KEKs) and access key
// secrets that the store keeps. Every provider implements envelope.Wrapper.
//
// Today there is one provider, KeyFile: 32 random bytes in a file readable by
// its owner only. The shape is ready for more, each a type with its own
// constructor and its own versioned ciphertext header, chosen by
// internal/server with a switch:
//
//   - a passphrase provider (root key derived with argon2id from
//     golang.org/x/crypto, salt and parameters stored beside the data);
//   - external KMS and HSM providers (AWS KMS, Vault transit, PKCS#11), whose
//     Wrap and Unwrap are remote calls that honour ctx.
//
// None of them is implemented yet.
//
// Only internal/server (which picks and builds the provider) and tests import
// this package; the domain packages see the root key only as an
// envelope.Wrapper. Unwrap errors wrap envelope.ErrOpen and envelope.ErrFormat
// as the Wrapper contract requires. No value of this package prints key
// material.
package seal
