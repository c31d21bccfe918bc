package kubeletserver

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri/fakecri"
	"github.com/skiff/skiff/internal/streaming"
)

// testCA issues client certificates for the tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

func (ca *testCA) client(t *testing.T, cn string, groups ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn, Organization: groups},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// echoStreamServer stands in for the runtime's streaming server: it
// switches any upgrade request to an echo of the client's bytes.
func echoStreamServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "SPDY/3.1" || r.Header.Get("Authorization") != "" {
			http.Error(w, "bad upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Path: "+r.URL.Path+"\r\n\r\n")
		_, _ = io.Copy(conn, brw)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fixture runs a Server over fakecri with one pod "ns/web" whose
// container "app" is running and has logged two lines.
type fixture struct {
	url string
	ca  *testCA
	rt  *fakecri.Runtime
	cid string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	stream := echoStreamServer(t)
	rt := fakecri.New(fakecri.Config{Images: []string{"busybox"}, StreamBaseURL: stream.URL})
	ctx := context.Background()
	logDir := t.TempDir()
	sbCfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "ns", Uid: "uid-1"},
		Labels:       map[string]string{labelPodName: "web", labelPodNamespace: "ns", labelPodUID: "uid-1"},
		LogDirectory: logDir,
	}
	sb, err := rt.RunPodSandbox(ctx, sbCfg, "")
	if err != nil {
		t.Fatal(err)
	}
	cid, err := rt.CreateContainer(ctx, sb, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: "busybox"},
		Labels:   map[string]string{labelContainerName: "app"},
		LogPath:  "app/0.log",
	}, sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, cid); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(logDir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "app", "0.log"), []byte("2026-01-02T03:04:05Z stdout F hello\n2026-01-02T03:04:06Z stderr F world\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	s, err := New(Config{Runtime: rt, ClientCAs: ca.pool, Address: "127.0.0.1:0", Hosts: []string{"127.0.0.1"}, FollowPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	port, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &fixture{url: "https://127.0.0.1:" + strconv.Itoa(port), ca: ca, rt: rt, cid: cid}
}

func (f *fixture) tlsConfig(cert *tls.Certificate) *tls.Config {
	c := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the server's certificate is self-signed
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}

func (f *fixture) get(t *testing.T, cert *tls.Certificate, path string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: f.tlsConfig(cert)}}
	resp, err := client.Get(f.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServerAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	master := f.ca.client(t, "kube-apiserver-kubelet-client", "system:masters")
	user := f.ca.client(t, "jane", "devs")
	stranger := newTestCA(t).client(t, "mallory", "system:masters")
	tests := []struct {
		name     string
		cert     *tls.Certificate
		wantCode int
		wantBody string
	}{
		{name: "no certificate", wantCode: http.StatusUnauthorized, wantBody: "Unauthorized\n"},
		{name: "not a master", cert: &user, wantCode: http.StatusForbidden, wantBody: "Forbidden (user=jane, verb=get, resource=nodes, subresource(s)=[healthz])\n"},
		{name: "master", cert: &master, wantCode: http.StatusOK, wantBody: "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.get(t, tc.cert, "/healthz")
			if code != tc.wantCode || body != tc.wantBody {
				t.Errorf("GET /healthz = %d %q, want %d %q", code, body, tc.wantCode, tc.wantBody)
			}
		})
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: f.tlsConfig(&stranger)}}
	if resp, err := client.Get(f.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a certificate of another CA was accepted: %s", resp.Status)
	}
}

func TestServerLogs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	master := f.ca.client(t, "kube-apiserver-kubelet-client", "system:masters")
	tests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{path: "/containerLogs/ns/web/app", wantCode: http.StatusOK, wantBody: "hello\nworld\n"},
		{path: "/containerLogs/ns/web/app?tailLines=1&timestamps=true", wantCode: http.StatusOK, wantBody: "2026-01-02T03:04:06Z world\n"},
		// The container is running, so follow would wait: the fake
		// runtime's exit below ends it.
		{path: "/containerLogs/ns/web/app?previous=true", wantCode: http.StatusBadRequest, wantBody: "previous terminated container \"app\" in pod \"web\" not found\n"},
		{path: "/containerLogs/ns/web/nope", wantCode: http.StatusBadRequest, wantBody: "container \"nope\" in pod \"web\" is waiting to start - no logs yet\n"},
		{path: "/containerLogs/ns/other/app", wantCode: http.StatusNotFound, wantBody: "pod does not exist\n"},
		{path: "/containerLogs/ns/web/app?tailLines=x", wantCode: http.StatusBadRequest, wantBody: "invalid tailLines \"x\": must be an integer of at least 0\n"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			code, body := f.get(t, &master, tc.path)
			if code != tc.wantCode || body != tc.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tc.path, code, body, tc.wantCode, tc.wantBody)
			}
		})
	}
	t.Run("follow ends when the container exits", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: f.tlsConfig(&master)}}
		resp, err := client.Get(f.url + "/containerLogs/ns/web/app?follow=true")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		for _, want := range []string{"hello\n", "world\n"} {
			if line, err := br.ReadString('\n'); line != want {
				t.Fatalf("followed line %q, %v; want %q", line, err, want)
			}
		}
		if err := f.rt.ExitContainer(f.cid, 0, "Completed"); err != nil {
			t.Fatal(err)
		}
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Errorf("after exit: %q, %v; want the end of the log", rest, err)
		}
	})
}

func TestServerStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	master := f.ca.client(t, "kube-apiserver-kubelet-client", "system:masters")
	upgrade := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"SPDY/3.1"}, "Authorization": {"Bearer user-token"}}
	tests := []struct {
		path     string
		wantPath string // the runtime URL's path the upgrade reached
	}{
		{path: "/exec/ns/web/app?command=ls&output=1", wantPath: "/exec/"},
		{path: "/exec/ns/web/uid-1/app?command=ls&output=1&tty=1", wantPath: "/exec/"},
		{path: "/attach/ns/web/app?output=1", wantPath: "/attach/"},
		{path: "/portForward/ns/web", wantPath: "/portforward/"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			u, _ := url.Parse(f.url + tc.path)
			conn, resp, err := streaming.Dial(context.Background(), f.tlsConfig(&master), http.MethodPost, u, upgrade)
			if err != nil {
				t.Fatal(err)
			}
			if conn == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Fatalf("no upgrade: %s %q", resp.Status, b)
			}
			defer conn.Close()
			if p := resp.Header.Get("X-Path"); !strings.HasPrefix(p, tc.wantPath) {
				t.Errorf("upgrade reached %q, want %s…", p, tc.wantPath)
			}
			if _, err := io.WriteString(conn, "ping\n"); err != nil {
				t.Fatal(err)
			}
			if line, err := bufio.NewReader(conn).ReadString('\n'); line != "ping\n" {
				t.Errorf("echo %q, %v", line, err)
			}
		})
	}
	errorsTests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{path: "/exec/ns/web/app?output=1", wantCode: http.StatusBadRequest, wantBody: "you must specify at least one command for the container\n"},
		{path: "/exec/ns/web/app?command=ls", wantCode: http.StatusBadRequest, wantBody: "you must specify at least 1 of stdin, stdout, stderr\n"},
		{path: "/exec/ns/web/db?command=ls&output=1", wantCode: http.StatusNotFound, wantBody: "container not found (\"db\")\n"},
		{path: "/exec/ns/web/uid-2/app?command=ls&output=1", wantCode: http.StatusNotFound, wantBody: "pod does not exist\n"},
	}
	for _, tc := range errorsTests {
		t.Run(tc.path, func(t *testing.T) {
			u, _ := url.Parse(f.url + tc.path)
			conn, resp, err := streaming.Dial(context.Background(), f.tlsConfig(&master), http.MethodPost, u, upgrade)
			if err != nil {
				t.Fatal(err)
			}
			if conn != nil {
				conn.Close()
				t.Fatal("upgraded, want an error")
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || string(b) != tc.wantBody {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, b, tc.wantCode, tc.wantBody)
			}
		})
	}
	t.Run("not an upgrade", func(t *testing.T) {
		code, body := f.get(t, &master, "/exec/ns/web/app?command=ls&output=1")
		if code != http.StatusBadRequest || body != "Upgrade request required\n" {
			t.Errorf("GET without upgrade = %d %q", code, body)
		}
	})
}
