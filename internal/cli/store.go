package cli

import (
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/coffer-dev/coffer/internal/server"
)

// adminConfig is the configuration of the commands that work on the store
// directly (account, functions, rotation, rotate, audit), from COFFER_*
// environment variables.
func adminConfig() server.Config {
	return server.Config{
		Listen:    server.DefaultListen,
		DataDir:   envOr("COFFER_DATA_DIR", server.DefaultDataDir()),
		Partition: envOr("COFFER_PARTITION", "aws"),
		Storage:   os.Getenv("COFFER_STORAGE"),
	}
}

// adminStoreFlags adds the flags that choose the store of such a command.
func adminStoreFlags(f *pflag.FlagSet, cfg *server.Config) {
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	f.StringVar(&cfg.Storage, "storage", cfg.Storage, "the server's store URL (default: SQLite in the data directory)")
}

// lockHint adds a hint to the error of a store locked by a running server.
func lockHint(err error) error {
	if err != nil && strings.Contains(err.Error(), "lock") {
		return hinted{err, "stop the server that uses this data directory first"}
	}
	return err
}
