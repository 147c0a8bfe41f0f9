// Package runenv is the developer side of coffer: it turns secret references
// (from --env NAME=REF flags or a dsops.yaml file) into environment variables
// and runs a command with them, forwarding signals and returning its exit
// code, optionally restarting or signalling it when a secret rotates.
//
// It is a pure Secrets Manager client: it talks to coffer or to AWS through
// aws-sdk-go-v2 and the standard AWS configuration chain, and never imports
// coffer's server-side packages (secrets, storage, awsapi, server). Nothing it
// resolves is written to disk, logged or put in an error message.
//
// Only internal/cli imports it.
package runenv
