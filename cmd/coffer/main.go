// Command coffer is AWS Secrets Manager that you run yourself. All logic lives
// in internal/cli; main only exits with its code.
package main

import (
	"os"

	"github.com/coffer-dev/coffer/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
