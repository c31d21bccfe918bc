package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testOptions returns Options that do not depend on the machine.
func testOptions(now time.Time, sans ...string) Options {
	return Options{
		SANs:     sans,
		HostName: "node-1",
		HostIPs:  []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")},
		Now:      func() time.Time { return now },
	}
}

// readDir returns the content of every file in dir by name.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}

func mustCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCert(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnsureFirstStart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "server", "tls")
	now := time.Now()
	if _, err := Ensure(dir, testOptions(now)); err != nil {
		t.Fatal(err)
	}

	modes := map[string]os.FileMode{}
	for name := range readDir(t, dir) {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		modes[name] = fi.Mode().Perm()
	}
	wantModes := map[string]os.FileMode{
		"server-ca.crt": 0o644, "server-ca.key": 0o600,
		"client-ca.crt": 0o644, "client-ca.key": 0o600,
		"serving.crt": 0o644, "serving.key": 0o600,
		"client-admin.crt": 0o644, "client-admin.key": 0o600,
		"client-controller.crt": 0o644, "client-controller.key": 0o600,
		"client-kubelet-client.crt": 0o644, "client-kubelet-client.key": 0o600,
	}
	if diff := cmp.Diff(wantModes, modes); diff != "" {
		t.Errorf("files and modes (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}

	type summary struct {
		CN       string
		Orgs     []string
		IsCA     bool
		Validity time.Duration
	}
	tests := []struct {
		file string
		want summary
	}{
		{"server-ca.crt", summary{CN: "skiff-server-ca@" + strconv.FormatInt(now.Unix(), 10), IsCA: true, Validity: caValidity}},
		{"client-ca.crt", summary{CN: "skiff-client-ca@" + strconv.FormatInt(now.Unix(), 10), IsCA: true, Validity: caValidity}},
		{"serving.crt", summary{CN: "kube-apiserver", Validity: leafValidity}},
		{"client-admin.crt", summary{CN: "system:admin", Orgs: []string{"system:masters"}, Validity: leafValidity}},
		{"client-controller.crt", summary{CN: "system:skiff-controller", Orgs: []string{"system:masters"}, Validity: leafValidity}},
		{"client-kubelet-client.crt", summary{CN: "kube-apiserver-kubelet-client", Orgs: []string{"system:masters"}, Validity: leafValidity}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c := mustCert(t, filepath.Join(dir, tc.file))
			got := summary{
				CN:       c.Subject.CommonName,
				Orgs:     c.Subject.Organization,
				IsCA:     c.IsCA,
				Validity: c.NotAfter.Sub(now.Truncate(time.Second)).Truncate(time.Minute),
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("certificate (-want +got):\n%s", diff)
			}
			pub, ok := c.PublicKey.(*ecdsa.PublicKey)
			if !ok || pub.Curve != elliptic.P256() {
				t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
			}
		})
	}
}

func TestEnsureReload(t *testing.T) {
	t.Parallel()
	now := time.Now()
	corrupt := func(name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	remove := func(name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name        string
		before      func(t *testing.T, dir string) // applied between the two starts
		opts        Options
		wantChanged []string
	}{
		{
			name: "same options",
			opts: testOptions(now, "skiff.example.com"),
		},
		{
			name: "later start, nothing near expiry",
			opts: testOptions(now.Add(200*24*time.Hour), "skiff.example.com"),
		},
		{
			name: "SAN removed is still covered",
			opts: testOptions(now),
		},
		{
			name: "SAN case differs",
			opts: testOptions(now, "SKIFF.example.com"),
		},
		{
			name:        "new DNS SAN",
			opts:        testOptions(now, "skiff.example.com", "api.example.com"),
			wantChanged: []string{"serving.crt", "serving.key"},
		},
		{
			name:        "new IP SAN",
			opts:        testOptions(now, "skiff.example.com", "203.0.113.7"),
			wantChanged: []string{"serving.crt", "serving.key"},
		},
		{
			name: "new host address",
			opts: func() Options {
				o := testOptions(now, "skiff.example.com")
				o.HostIPs = append(o.HostIPs, netip.MustParseAddr("198.51.100.4"))
				return o
			}(),
			wantChanged: []string{"serving.crt", "serving.key"},
		},
		{
			name: "new service IP",
			opts: func() Options {
				o := testOptions(now, "skiff.example.com")
				o.ServiceIP = netip.MustParseAddr("10.96.0.1")
				return o
			}(),
			wantChanged: []string{"serving.crt", "serving.key"},
		},
		{
			name:        "serving certificate missing",
			before:      remove("serving.crt"),
			opts:        testOptions(now, "skiff.example.com"),
			wantChanged: []string{"serving.crt", "serving.key"},
		},
		{
			name:        "serving key corrupt",
			before:      corrupt("serving.key"),
			opts:        testOptions(now, "skiff.example.com"),
			wantChanged: []string{"serving.crt", "serving.key"},
		},
		{
			name:        "admin key missing",
			before:      remove("client-admin.key"),
			opts:        testOptions(now, "skiff.example.com"),
			wantChanged: []string{"client-admin.crt", "client-admin.key"},
		},
		{
			name: "leaf certificates expire within 90 days",
			opts: testOptions(now.Add(280*24*time.Hour), "skiff.example.com"),
			wantChanged: []string{
				"client-admin.crt", "client-admin.key",
				"client-controller.crt", "client-controller.key",
				"client-kubelet-client.crt", "client-kubelet-client.key",
				"serving.crt", "serving.key",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			first, err := Ensure(dir, testOptions(now, "skiff.example.com"))
			if err != nil {
				t.Fatal(err)
			}
			before := readDir(t, dir)
			if tc.before != nil {
				tc.before(t, dir)
			}
			second, err := Ensure(dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			after := readDir(t, dir)
			var changed []string
			for name, data := range after {
				if !slices.Equal(before[name], data) {
					changed = append(changed, name)
				}
			}
			slices.Sort(changed)
			if diff := cmp.Diff(tc.wantChanged, changed); diff != "" {
				t.Errorf("changed files (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(len(before), len(after)); diff != "" {
				t.Errorf("file count (-want +got):\n%s", diff)
			}
			if !slices.Equal(first.ServerCAPEM(), second.ServerCAPEM()) || !slices.Equal(first.ClientCAPEM(), second.ClientCAPEM()) {
				t.Error("CA changed across restarts")
			}
			servingChanged := slices.Contains(changed, "serving.crt")
			sameServing := slices.Equal(first.ServingCertificate().Certificate[0], second.ServingCertificate().Certificate[0])
			if sameServing == servingChanged {
				t.Errorf("Bundle serving certificate unchanged = %v, file changed = %v", sameServing, servingChanged)
			}
			if !slices.Equal(second.ServingCertificate().Certificate[0], mustCert(t, second.Files().Serving.CertFile).Raw) {
				t.Error("Bundle serving certificate differs from serving.crt")
			}
		})
	}
}

func TestEnsureCAErrors(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name   string
		mutate func(t *testing.T, dir string)
		opts   Options
	}{
		{
			name: "CA key missing",
			mutate: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "server-ca.key")); err != nil {
					t.Fatal(err)
				}
			},
			opts: testOptions(now),
		},
		{
			name: "CA key of another CA",
			mutate: func(t *testing.T, dir string) {
				other, err := os.ReadFile(filepath.Join(dir, "client-ca.key"))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "server-ca.key"), other, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			opts: testOptions(now),
		},
		{
			name:   "CA expired",
			mutate: func(*testing.T, string) {},
			opts:   testOptions(now.Add(caValidity + time.Hour)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if _, err := Ensure(dir, testOptions(now)); err != nil {
				t.Fatal(err)
			}
			tc.mutate(t, dir)
			before := readDir(t, dir)
			if _, err := Ensure(dir, tc.opts); err == nil {
				t.Fatal("Ensure succeeded, want an error")
			}
			if diff := cmp.Diff(before, readDir(t, dir)); diff != "" {
				t.Errorf("files changed by a failed Ensure (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnsureDefaults(t *testing.T) {
	t.Parallel()
	b, err := Ensure(t.TempDir(), Options{SANs: []string{"skiff.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	leaf := mustCert(t, b.Files().Serving.CertFile)
	for _, name := range []string{strings.ToLower(host), "kubernetes.default.svc.cluster.local", "10.43.0.1"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("serving certificate does not cover %q: %v", name, err)
		}
	}
	ips, err := hostIPs()
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range ips {
		if err := leaf.VerifyHostname(ip.String()); err != nil {
			t.Errorf("serving certificate does not cover host address %s: %v", ip, err)
		}
	}
}

func TestServingCertificateVerifies(t *testing.T) {
	t.Parallel()
	b, err := Ensure(t.TempDir(), testOptions(time.Now(), "skiff.example.com", "203.0.113.7", " Edge.Example.COM "))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(b.ServingCertificate().Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		host    string
		wantErr bool
	}{
		{name: "localhost", host: "localhost"},
		{name: "IPv4 loopback", host: "127.0.0.1"},
		{name: "IPv6 loopback", host: "::1"},
		{name: "custom DNS SAN", host: "skiff.example.com"},
		{name: "custom DNS SAN normalized", host: "edge.example.com"},
		{name: "custom IP SAN", host: "203.0.113.7"},
		{name: "host name", host: "node-1"},
		{name: "host IPv4", host: "192.0.2.10"},
		{name: "host IPv6", host: "2001:db8::10"},
		{name: "kubernetes", host: "kubernetes"},
		{name: "kubernetes.default", host: "kubernetes.default"},
		{name: "kubernetes.default.svc", host: "kubernetes.default.svc"},
		{name: "service FQDN", host: "kubernetes.default.svc.cluster.local"},
		{name: "service IP", host: "10.43.0.1"},
		{name: "unknown name", host: "other.example.com", wantErr: true},
		{name: "unknown IP", host: "10.43.0.2", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := leaf.Verify(x509.VerifyOptions{
				DNSName:   tc.host,
				Roots:     b.ServerCAPool(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if (err != nil) != tc.wantErr {
				t.Errorf("Verify(%q) error = %v, wantErr %v", tc.host, err, tc.wantErr)
			}
		})
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: b.ClientCAPool()}); err == nil {
		t.Error("serving certificate verifies against the client CA")
	}
}

func TestClientCertificates(t *testing.T) {
	t.Parallel()
	b, err := Ensure(t.TempDir(), testOptions(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	issuedCert, issuedKey, err := b.IssueClient("system:node:node-2", []string{"system:nodes"})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := b.ClientCertFor("agent", "system:node:node-3", []string{"system:nodes"})
	if err != nil {
		t.Fatal(err)
	}
	readPEM := func(kp KeyPair) ([]byte, []byte) {
		p, err := readPair(kp.CertFile, kp.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		return p.certPEM, p.keyPEM
	}
	adminCert, adminKey := readPEM(b.Files().Admin)
	ctlCert, ctlKey := readPEM(b.Files().Controller)
	agentCert, agentKey := readPEM(agent)

	type subject struct {
		CN   string
		Orgs []string
	}
	tests := []struct {
		name         string
		certPEM, key []byte
		want         subject
	}{
		{"admin", adminCert, adminKey, subject{"system:admin", []string{"system:masters"}}},
		{"controller", ctlCert, ctlKey, subject{"system:skiff-controller", []string{"system:masters"}}},
		{"IssueClient", issuedCert, issuedKey, subject{"system:node:node-2", []string{"system:nodes"}}},
		{"ClientCertFor", agentCert, agentKey, subject{"system:node:node-3", []string{"system:nodes"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pair, err := tls.X509KeyPair(tc.certPEM, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			c := pair.Leaf
			if diff := cmp.Diff(tc.want, subject{c.Subject.CommonName, c.Subject.Organization}); diff != "" {
				t.Errorf("subject (-want +got):\n%s", diff)
			}
			opts := x509.VerifyOptions{Roots: b.ClientCAPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
			if _, err := c.Verify(opts); err != nil {
				t.Errorf("verify against client CA: %v", err)
			}
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			if _, err := c.Verify(opts); err == nil {
				t.Error("client certificate verifies for server auth")
			}
			opts = x509.VerifyOptions{Roots: b.ServerCAPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
			if _, err := c.Verify(opts); err == nil {
				t.Error("client certificate verifies against the server CA")
			}
		})
	}
}

// TestHandshake runs a mutual TLS handshake over an in-memory pipe: the
// server offers the serving certificate and requires a client certificate
// from the client CA, the client presents the admin certificate.
func TestHandshake(t *testing.T) {
	t.Parallel()
	b, err := Ensure(t.TempDir(), testOptions(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := tls.LoadX509KeyPair(b.Files().Admin.CertFile, b.Files().Admin.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, s := net.Pipe()
	server := tls.Server(s, &tls.Config{
		Certificates: []tls.Certificate{b.ServingCertificate()},
		ClientCAs:    b.ClientCAPool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		// net.Pipe is synchronous: a ticket the client never reads would
		// block the server after the handshake.
		SessionTicketsDisabled: true,
	})
	client := tls.Client(c, &tls.Config{
		ServerName:   "kubernetes.default.svc",
		RootCAs:      b.ServerCAPool(),
		Certificates: []tls.Certificate{admin},
	})
	// Closing the raw ends, not the TLS ones, skips close_notify, which
	// nobody would read.
	defer func() { _ = c.Close() }()
	defer func() { _ = s.Close() }()
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if got := server.ConnectionState().PeerCertificates[0].Subject.CommonName; got != "system:admin" {
		t.Errorf("peer CN = %q, want system:admin", got)
	}
}

func TestClientCertFor(t *testing.T) {
	t.Parallel()
	b, err := Ensure(t.TempDir(), testOptions(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	kp, err := b.ClientCertFor("node-1", "system:node:node-1", []string{"system:nodes"})
	if err != nil {
		t.Fatal(err)
	}
	wantKP := KeyPair{
		CertFile: filepath.Join(b.dir, "client-node-1.crt"),
		KeyFile:  filepath.Join(b.dir, "client-node-1.key"),
	}
	if diff := cmp.Diff(wantKP, kp); diff != "" {
		t.Errorf("KeyPair (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(kp.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	tests := []struct {
		name     string
		cn       string
		orgs     []string
		wantSame bool
	}{
		{name: "same subject kept", cn: "system:node:node-1", orgs: []string{"system:nodes", "b", "a"}, wantSame: true},
		{name: "same groups in other order kept", cn: "system:node:node-1", orgs: []string{"a", "system:nodes", "b"}, wantSame: true},
		{name: "fewer groups reissued", cn: "system:node:node-1", orgs: []string{"system:nodes"}},
		{name: "other user reissued", cn: "system:node:node-9", orgs: []string{"system:nodes", "b", "a"}},
	}
	for _, tc := range tests { // sequential: each case rewrites the same files
		t.Run(tc.name, func(t *testing.T) {
			if _, err := b.ClientCertFor("node-1", "system:node:node-1", []string{"system:nodes", "b", "a"}); err != nil {
				t.Fatal(err)
			}
			before := mustCert(t, kp.CertFile)
			if _, err := b.ClientCertFor("node-1", tc.cn, tc.orgs); err != nil {
				t.Fatal(err)
			}
			after := mustCert(t, kp.CertFile)
			if got := before.Equal(after); got != tc.wantSame {
				t.Errorf("certificate kept = %v, want %v", got, tc.wantSame)
			}
			if after.Subject.CommonName != tc.cn || !sameSet(after.Subject.Organization, tc.orgs) {
				t.Errorf("subject = %v, want CN=%s O=%v", after.Subject, tc.cn, tc.orgs)
			}
		})
	}

	for _, name := range []string{"", "../x", "a/b", "Admin", ".hidden", "-x", "a b"} {
		if _, err := b.ClientCertFor(name, "cn", nil); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ClientCertFor(%q) error = %v, want ErrInvalidName", name, err)
		}
	}
	if _, err := b.ClientCertFor("ok", "", nil); err == nil {
		t.Error("ClientCertFor with empty CN succeeded")
	}
	if _, _, err := b.IssueClient("", nil); err == nil {
		t.Error("IssueClient with empty CN succeeded")
	}
}
