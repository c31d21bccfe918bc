// Command testapp is the program of the skiff.local/testapp image, used by
// probe, networking and resource tests. It serves HTTP on -port (default
// 8080, or $PORT) and echoes TCP on -echo-port (default 9000, or $ECHO_PORT):
//
//	GET  /            "testapp <hostname>"
//	GET  /healthz     200 "ok" while healthy, else 500 (POST flips it;
//	                  POST ?state=ok|fail sets it)
//	GET  /readyz      the same for readiness
//	GET  /env         the environment, one KEY=VALUE a line, sorted
//	GET  /hostname    the hostname
//	GET  /log?msg=M   writes M to stdout (for log tests)
//	POST /exit?code=N answers, then exits with code N
//	POST /hog?mb=N    allocates and touches N MiB more (to hit a memory limit)
//
// With -grpc-port (or $GRPC_PORT) it also serves the gRPC health protocol
// (grpc.health.v1.Health), SERVING while /healthz is ok, for grpc probes.
//
// `testapp get URL` is a tiny HTTP client for exec probes and connectivity
// checks from inside the image (which has no shell): it prints the body and
// exits 0 on a 2xx answer, 1 otherwise.
//
// On SIGTERM or SIGINT it waits -term-delay (or $TERM_DELAY, a duration)
// and exits 0, so graceful termination can be observed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "get" {
		os.Exit(get(os.Stdout, os.Args[2]))
	}
	port := flag.String("port", envOr("PORT", "8080"), "HTTP `port`")
	echoPort := flag.String("echo-port", envOr("ECHO_PORT", "9000"), "TCP echo `port`")
	termDelay := flag.Duration("term-delay", durationEnv("TERM_DELAY"), "wait this long after SIGTERM before exiting")
	grpcPort := flag.String("grpc-port", os.Getenv("GRPC_PORT"), "gRPC health `port` (none when empty)")
	flag.Parse()
	log.SetFlags(0)

	a := newApp(os.Stdout, os.Exit)
	if *grpcPort != "" {
		hs := health.NewServer()
		a.onHealth = func(ok bool) {
			st := healthpb.HealthCheckResponse_NOT_SERVING
			if ok {
				st = healthpb.HealthCheckResponse_SERVING
			}
			hs.SetServingStatus("", st)
		}
		gl, err := net.Listen("tcp", ":"+*grpcPort)
		if err != nil {
			log.Fatalf("testapp: %v", err)
		}
		gs := grpc.NewServer()
		healthpb.RegisterHealthServer(gs, hs)
		go func() { _ = gs.Serve(gl) }() // ends with the process
	}
	ln, err := net.Listen("tcp", ":"+*echoPort)
	if err != nil {
		log.Fatalf("testapp: %v", err)
	}
	go serveEcho(ln)
	srv := &http.Server{Addr: ":" + *port, Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		sig := <-sigs
		fmt.Fprintf(os.Stdout, "testapp: %v, exiting in %v\n", sig, *termDelay)
		time.Sleep(*termDelay)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // exiting anyway
		os.Exit(0)
	}()
	fmt.Fprintf(os.Stdout, "testapp: listening on :%s (http) and :%s (tcp echo)\n", *port, *echoPort)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatalf("testapp: %v", err)
	}
	select {} // the signal goroutine exits the process
}

// get fetches url, copies the body to w and returns the exit code.
func get(w io.Writer, url string) int {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp get:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(w, resp.Body) // a short body still tells the status
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintln(os.Stderr, "testapp get:", resp.Status)
		return 1
	}
	return 0
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func durationEnv(key string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(key)) // zero when unset or invalid
	return d
}

// app holds the mutable state of the HTTP endpoints.
type app struct {
	stdout io.Writer
	exit   func(int)

	// onHealth, when set, learns every change of healthy.
	onHealth func(bool)

	mu      sync.Mutex
	healthy bool
	ready   bool
	hog     [][]byte
}

func newApp(stdout io.Writer, exit func(int)) *app {
	return &app{stdout: stdout, exit: exit, healthy: true, ready: true}
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h, _ := os.Hostname() // empty on error is fine for a greeting
		fmt.Fprintf(w, "testapp %s\n", h)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { a.toggle(w, r, &a.healthy) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) { a.toggle(w, r, &a.ready) })
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		env := os.Environ()
		sort.Strings(env)
		fmt.Fprintln(w, strings.Join(env, "\n"))
	})
	mux.HandleFunc("/hostname", func(w http.ResponseWriter, r *http.Request) {
		h, err := os.Hostname()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, h)
	})
	mux.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		fmt.Fprintln(a.stdout, r.URL.Query().Get("msg"))
		a.mu.Unlock()
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil || code < 0 || code > 255 {
			http.Error(w, "code must be 0..255", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "exiting with %d\n", code)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go a.exit(code)
	})
	mux.HandleFunc("/hog", func(w http.ResponseWriter, r *http.Request) {
		mb, err := strconv.Atoi(r.URL.Query().Get("mb"))
		if err != nil || mb <= 0 || mb > 1<<16 {
			http.Error(w, "mb must be 1..65536", http.StatusBadRequest)
			return
		}
		b := make([]byte, mb<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		a.mu.Lock()
		a.hog = append(a.hog, b)
		total := 0
		for _, h := range a.hog {
			total += len(h) >> 20
		}
		a.mu.Unlock()
		fmt.Fprintf(w, "holding %d MiB\n", total)
	})
	return mux
}

// toggle serves a health endpoint backed by *state: GET reports it, POST
// flips it, or sets it with ?state=ok|fail.
func (a *app) toggle(w http.ResponseWriter, r *http.Request, state *bool) {
	a.mu.Lock()
	if r.Method == http.MethodPost {
		switch r.URL.Query().Get("state") {
		case "":
			*state = !*state
		case "ok":
			*state = true
		case "fail":
			*state = false
		default:
			a.mu.Unlock()
			http.Error(w, "state must be ok or fail", http.StatusBadRequest)
			return
		}
	}
	ok := *state
	if state == &a.healthy && a.onHealth != nil {
		a.onHealth(ok)
	}
	a.mu.Unlock()
	if !ok {
		http.Error(w, "fail", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

// serveEcho copies every TCP connection's input back to it.
func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c) // the peer closing ends the copy
		}()
	}
}
