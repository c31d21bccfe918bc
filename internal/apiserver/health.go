package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// serveHealth answers /healthz, /livez and /readyz, with per-check output
// under ?verbose and single checks under /readyz/<name>, as upstream.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(r.URL.Path)
	endpoint := parts[0]
	checks := []Check{
		{Name: "ping", Check: func(context.Context) error { return nil }},
		{Name: "log", Check: func(context.Context) error { return nil }},
	}
	checks = append(checks, s.cfg.ReadyChecks...)
	if endpoint == "readyz" || endpoint == "healthz" {
		checks = append(checks, Check{Name: "poststarthook/skiff-bootstrap", Check: func(context.Context) error {
			select {
			case <-s.ready:
				return nil
			default:
				return fmt.Errorf("not finished")
			}
		}})
	}
	if len(parts) > 1 {
		name := strings.Join(parts[1:], "/")
		for _, c := range checks {
			if c.Name == name {
				if err := s.runCheck(r.Context(), c); err != nil {
					http.Error(w, "internal server error: "+err.Error(), http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				fmt.Fprint(w, "ok")
				return
			}
		}
		http.NotFound(w, r)
		return
	}
	exclude := map[string]bool{}
	for _, e := range r.URL.Query()["exclude"] {
		exclude[e] = true
	}
	var b strings.Builder
	failed := false
	for _, c := range checks {
		if exclude[c.Name] {
			fmt.Fprintf(&b, "[+]%s excluded: ok\n", c.Name)
			continue
		}
		if err := s.runCheck(r.Context(), c); err != nil {
			failed = true
			fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.Name)
			s.log.Info("Health check failed", "check", c.Name, "err", err)
			continue
		}
		fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s%s check failed\n", b.String(), endpoint)
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		fmt.Fprintf(w, "%s%s check passed\n", b.String(), endpoint)
		return
	}
	fmt.Fprint(w, "ok")
}

func (s *Server) runCheck(ctx context.Context, c Check) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.Check(ctx)
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	v := s.cfg.Version
	if v.GoVersion == "" {
		v.GoVersion = runtime.Version()
		v.Compiler = runtime.Compiler
		v.Platform = runtime.GOOS + "/" + runtime.GOARCH
	}
	w.Header().Set("Content-Type", "application/json")
	writeIndentedJSON(w, v)
}
