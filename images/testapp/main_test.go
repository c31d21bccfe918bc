package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	exited := make(chan int, 1)
	a := newApp(&out, func(code int) { exited <- code })
	srv := httptest.NewServer(a.handler())
	defer srv.Close()

	do := func(method, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	steps := []struct {
		name, method, path string
		wantCode           int
		wantBody           string
	}{
		{"healthy", "GET", "/healthz", 200, "ok"},
		{"flip health", "POST", "/healthz", 500, "fail"},
		{"unhealthy", "GET", "/healthz", 500, "fail"},
		{"set health", "POST", "/healthz?state=ok", 200, "ok"},
		{"ready", "GET", "/readyz", 200, "ok"},
		{"unready", "POST", "/readyz?state=fail", 500, "fail"},
		{"health unaffected", "GET", "/healthz", 200, "ok"},
		{"bad state", "POST", "/readyz?state=maybe", 400, "state must be"},
		{"log", "GET", "/log?msg=hello", 200, "ok"},
		{"hog", "POST", "/hog?mb=2", 200, "holding 2 MiB"},
		{"hog more", "POST", "/hog?mb=1", 200, "holding 3 MiB"},
		{"bad hog", "POST", "/hog?mb=x", 400, "mb must be"},
		{"bad exit", "POST", "/exit?code=300", 400, "code must be"},
		{"exit", "POST", "/exit?code=3", 200, "exiting with 3"},
	}
	for _, s := range steps {
		code, body := do(s.method, s.path)
		if code != s.wantCode || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s: %s %s = %d %q, want %d %q", s.name, s.method, s.path, code, body, s.wantCode, s.wantBody)
		}
	}
	if code := <-exited; code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if got := out.String(); got != "hello\n" {
		t.Errorf("stdout %q, want %q", got, "hello\n")
	}
	var got bytes.Buffer
	if code := get(&got, srv.URL+"/readyz"); code != 1 || got.String() != "fail\n" {
		t.Errorf("get /readyz = %d %q, want 1 %q", code, got.String(), "fail\n")
	}
	got.Reset()
	if code := get(&got, srv.URL+"/healthz"); code != 0 || got.String() != "ok\n" {
		t.Errorf("get /healthz = %d %q, want 0 %q", code, got.String(), "ok\n")
	}
	if _, body := do("GET", "/env"); !strings.Contains(body, "PATH=") {
		t.Errorf("/env lacks PATH: %q", body)
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serveEcho(ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != "ping\n" {
		t.Errorf("echo %q", buf)
	}
}

// TestHealthFeedsGRPC checks that /healthz changes reach the gRPC health
// server's status (through onHealth), and readiness changes do not.
func TestHealthFeedsGRPC(t *testing.T) {
	t.Parallel()
	a := newApp(io.Discard, func(int) {})
	var got []bool
	a.onHealth = func(ok bool) { got = append(got, ok) }
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	for _, path := range []string{"/healthz?state=fail", "/readyz?state=fail", "/healthz?state=ok"} {
		resp, err := http.Post(srv.URL+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	a.mu.Lock() // onHealth runs under a.mu
	defer a.mu.Unlock()
	if len(got) != 2 || got[0] || !got[1] {
		t.Errorf("onHealth saw %v, want [false true]", got)
	}
}
