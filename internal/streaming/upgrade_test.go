package streaming

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// echoBackend switches "Upgrade: test" requests to an echo of the
// client's bytes, after a greeting that follows its 101 in the same
// write (so Dial must keep bytes read past the response), and answers
// anything else 418 with the request's Authorization header.
func echoBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "test" {
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "auth="+r.Header.Get("Authorization"))
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\nhello\n")
		_, _ = io.Copy(conn, brw)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func upgradeHeader() http.Header {
	return http.Header{"Connection": {"Upgrade"}, "Upgrade": {"test"}, "Authorization": {"Bearer secret"}, "Impersonate-User": {"x"}}
}

func TestProxy(t *testing.T) {
	t.Parallel()
	backend := echoBackend(t)
	target, _ := url.Parse(backend.URL + "/stream")
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := Proxy(w, r, nil, target, ForwardHeader(r.Header, true)); err != nil {
			t.Errorf("Proxy: %v", err)
		}
	}))
	defer proxy.Close()
	u, _ := url.Parse(proxy.URL + "/in")

	t.Run("upgrade", func(t *testing.T) {
		conn, resp, err := Dial(context.Background(), nil, http.MethodPost, u, upgradeHeader())
		if err != nil {
			t.Fatal(err)
		}
		if conn == nil {
			t.Fatalf("not upgraded: %s", resp.Status)
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		if line, err := br.ReadString('\n'); line != "hello\n" {
			t.Fatalf("greeting %q, %v", line, err)
		}
		if _, err := io.WriteString(conn, "ping\n"); err != nil {
			t.Fatal(err)
		}
		if line, err := br.ReadString('\n'); line != "ping\n" {
			t.Errorf("echo %q, %v", line, err)
		}
	})
	t.Run("refused upgrade passes through without credentials", func(t *testing.T) {
		h := upgradeHeader()
		h.Set("Upgrade", "other")
		conn, resp, err := Dial(context.Background(), nil, http.MethodPost, u, h)
		if err != nil {
			t.Fatal(err)
		}
		if conn != nil {
			conn.Close()
			t.Fatal("upgraded, want a refusal")
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusTeapot || string(b) != "auth=" {
			t.Errorf("refusal %s %q, want 418 without the caller's Authorization", resp.Status, b)
		}
	})
}

func TestForwardHeader(t *testing.T) {
	t.Parallel()
	in := upgradeHeader()
	in.Set("Keep-Alive", "timeout=5")
	in.Set("X-Stream-Protocol-Version", "v4.channel.k8s.io")
	out := ForwardHeader(in, true)
	for _, h := range []string{"Authorization", "Impersonate-User", "Keep-Alive"} {
		if out.Get(h) != "" {
			t.Errorf("%s forwarded", h)
		}
	}
	for _, h := range []string{"Connection", "Upgrade", "X-Stream-Protocol-Version"} {
		if out.Get(h) == "" {
			t.Errorf("%s dropped", h)
		}
	}
	if ForwardHeader(in, false).Get("Authorization") == "" {
		t.Error("Authorization dropped without dropCredentials")
	}
}

func TestIsUpgrade(t *testing.T) {
	t.Parallel()
	tests := []struct {
		connection, upgrade string
		want                bool
	}{
		{"Upgrade", "SPDY/3.1", true},
		{"keep-alive, upgrade", "websocket", true},
		{"keep-alive", "websocket", false},
		{"Upgrade", "", false},
	}
	for _, tc := range tests {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Connection", tc.connection)
		r.Header.Set("Upgrade", tc.upgrade)
		if got := IsUpgrade(r); got != tc.want {
			t.Errorf("IsUpgrade(Connection: %q, Upgrade: %q) = %v, want %v", tc.connection, tc.upgrade, got, tc.want)
		}
	}
}
