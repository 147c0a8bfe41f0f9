package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Serve listens on the configured loopback address and serves s until ctx
// ends. ready receives the address actually bound (useful with port 0).
func Serve(ctx context.Context, s *Server, ready func(addr string)) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.HTTPAddress, strconv.Itoa(s.cfg.HTTPPort)))
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      65 * time.Second, // the AWS agent's request limit is 61s
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
