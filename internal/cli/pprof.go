package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofEnv names the opt-in profiling hook: SKIFF_PPROF=127.0.0.1:6060
// serves net/http/pprof on that loopback address for as long as the
// command runs. It is a developer tool for docs/benchmarks.md (profiling
// `skiff server` under the benchmarks of test/bench), off by default, and
// refuses any address that is not loopback: the endpoints have no
// authentication.
const pprofEnv = "SKIFF_PPROF"

// servePprof starts the pprof server on addr (see pprofEnv) and stops it
// when ctx is done; the returned func waits for it to have stopped.
func servePprof(ctx context.Context, addr string, log *slog.Logger) (wait func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", pprofEnv, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s=%q: not a loopback address", pprofEnv, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pprofEnv, err)
	}
	// An explicit mux: the package's init also registers on
	// http.DefaultServeMux, which Skiff never serves.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close() // ends Serve; nothing to do about a close error
	}()
	log.Info("Serving pprof", "address", ln.Addr().String())
	return func() { <-done }, nil
}
