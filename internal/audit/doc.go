// Package audit is coffer's tamper-evident, fail-closed audit trail.
//
// Every API call and service event becomes one CloudTrail-shaped Record
// (BEHAVIOUR.md §15). Records are kept in the store (storage.Tx.AppendAudit)
// as a hash chain: record n holds Hash = SHA-256(PrevHash || Doc), where Doc
// is the exact JSON the record was written as and PrevHash is the Hash of
// record n-1 (nil for record 1). Verification always hashes the stored Doc
// and never re-serializes it.
//
// Fail closed: Trail.Record and Pending.Finish return only once the record
// is durable: fdatasynced in the journal (Config.Journal, the embedded
// store; journal.go), from which a mover links it into the chain in the
// store within moveInterval (a batch in one AppendAudit call, which the
// store may keep compactly: SQLite keeps it as blocks), or, without a
// journal (PostgreSQL), committed by the store's Update. With
// Config.JournalSync set, the journal is written but fdatasynced in the
// background within that time: durable against a crash of the process at
// once, of the machine after the sync; a failed sync makes Record refuse
// until one succeeds. A write appends its record inside its own
// transaction (Trail.Append, Pending.Commit), so the change and its record
// commit together or not at all. Any error means the caller answers with a
// 5xx and, for a read, does not return the value; while the mover cannot
// write the store, Record refuses.
//
// Secret-free: callers pass request parameters and response elements
// without sensitive members. As a safety net Append refuses a record whose
// requestParameters, responseElements or additionalEventData hold, at any
// depth, a key named secretString, secretBinary, randomPassword,
// rotationToken, password, secretAccessKey or sessionToken (compared
// case-insensitively).
//
// Sinks (a JSON-lines file, stdout, syslog) receive each record after its
// transaction committed, through a bounded queue drained by one goroutine:
// a slow or failing sink never blocks or fails a request, and records are
// dropped (and counted) when the queue is full. Sinks are best effort and
// may lose records on a crash; the store never does and is the source of
// truth (coffer audit lookup reads it).
//
// Digests: a Signer periodically signs the chain's head (Seq, Hash, Time)
// with the deployment's ed25519 audit key ("coffer-audit-digest-v1" || seq
// || hash || time, see DigestMessage) and stores it with InsertAuditDigest.
// A digest pins every record up to its Seq: even a rewrite of the whole
// chain after it, or a truncation of its tail, is detected by Verify with
// the public key alone.
//
// Administrative commands: the CLI commands that change a deployment
// without a front door (coffer account create, functions create|delete,
// rotate, backup, restore) each leave one record in the store they open,
// with eventSource "coffer", eventType "CofferAdminEvent" (not AwsApiCall
// or AwsServiceEvent: no AWS API was called, and an operator, not the
// service, acted), userIdentity {type "CofferOperator", invokedBy
// "coffer-cli"} and eventName the command (AccountCreate, FunctionCreate,
// FunctionDelete, Rotate, Backup, Restore). AccountCreate, FunctionCreate
// and FunctionDelete commit in the transaction of their change; Restore
// appends to the restored trail. A server's first start records what it
// creates (the account and its root key) the same way, as "Bootstrap"
// invoked by "coffer-server", in that transaction. They never name a key:
// no access key, no HMAC key.
//
// Who may import it: the front door (internal/awsapi), the domains
// (internal/secrets, internal/iam), internal/rotation, internal/server and
// internal/cli. It imports internal/storage and the standard library only.
package audit
