// Command coffer is AWS Secrets Manager that you run yourself. All logic lives
// in internal/cli; main only sets process-wide switches and exits with its
// code.
package main

import (
	"os"

	"github.com/google/uuid"

	"github.com/coffer-dev/coffer/internal/cli"
)

func main() {
	// Request ids, event ids and version ids are random (v4) UUIDs, from
	// crypto/rand either way; the pool reads 256 bytes at a time instead of
	// making one getrandom call per id (2.6 µs against 0.3 µs per id on
	// this project's VMs). It must be switched on before any goroutine
	// makes an id.
	uuid.EnableRandPool()
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
