package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/storage"
)

// readyTimeout bounds the store read of /readyz.
const readyTimeout = 2 * time.Second

// adminHandler serves the admin listener, which is separate from the API
// listener and takes no credentials (bind it to a private address):
//
//	/metrics  the Prometheus collectors of package metrics
//	/healthz  200 while the process serves HTTP
//	/readyz   200 when the store answers a read, else 503
func adminHandler(store storage.Store, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready(r.Context(), store); err != nil {
			log.WarnContext(r.Context(), "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("store unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// ready reports whether the store answers a cheap read: the lookup of an
// account that does not exist (ErrNotFound is an answer).
func ready(ctx context.Context, store storage.Store) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	err := store.View(ctx, func(tx storage.Tx) error {
		_, err := tx.Account("000000000000")
		return err
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// startAdmin serves adminHandler on addr in the background. It returns a
// function that shuts it down, or nil and no error when addr is empty (the
// admin listener is off).
func startAdmin(addr string, store storage.Store, out func(string), log *slog.Logger) (stop func(context.Context) error, err error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen: %w", err)
	}
	srv := &http.Server{
		Handler:           adminHandler(store, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	out("http://" + ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener", "err", err)
		}
	}()
	return srv.Shutdown, nil
}
