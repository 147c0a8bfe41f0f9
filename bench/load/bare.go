package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

const bareListening = "bare: listening on "

// serveBare is the bare-handler process: it reads a response body from in,
// then answers every request with that body, the same Content-Type and the
// same headers coffer sends, doing no other work. Its http.Server settings
// are coffer's. It serves on a free 127.0.0.1 port, prints the address to
// out, and stops on SIGTERM or SIGINT.
func serveBare(in io.Reader, out io.Writer) error {
	body, err := io.ReadAll(io.LimitReader(in, 1<<20))
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errors.New("empty response body on stdin")
	}
	length := strconv.Itoa(len(body))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000") // as long as coffer's
		h.Set("Content-Type", contentType)
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	fmt.Fprintf(out, "%shttp://%s\n", bareListening, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
