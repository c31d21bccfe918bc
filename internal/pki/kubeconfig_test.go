package pki

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
)

func TestWriteKubeconfig(t *testing.T) {
	t.Parallel()
	b, err := Ensure(t.TempDir(), testOptions(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	kc, err := b.KubeconfigFor("https://127.0.0.1:6443", b.Files().Admin)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		existing os.FileMode // 0: no file before
	}{
		{name: "new file"},
		{name: "overwrite world-readable file", existing: 0o644},
		{name: "overwrite executable file", existing: 0o755},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "sub", "kubeconfig.yaml")
			if tc.existing != 0 {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("old"), tc.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteKubeconfig(path, kc); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("mode = %v, want 0600", got)
			}
			entries, err := os.ReadDir(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the kubeconfig (temp file left?)", len(entries))
			}

			cfg, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatal(err)
			}
			type view struct {
				Context, Cluster, User string
				Server                 string
				CA, Cert, Key          []byte
			}
			ctx := cfg.Contexts[cfg.CurrentContext]
			if ctx == nil {
				t.Fatalf("current context %q missing", cfg.CurrentContext)
			}
			cl, u := cfg.Clusters[ctx.Cluster], cfg.AuthInfos[ctx.AuthInfo]
			if cl == nil || u == nil {
				t.Fatalf("context %q refers to missing cluster or user", cfg.CurrentContext)
			}
			got := view{
				Context: cfg.CurrentContext, Cluster: ctx.Cluster, User: ctx.AuthInfo,
				Server: cl.Server, CA: cl.CertificateAuthorityData,
				Cert: u.ClientCertificateData, Key: u.ClientKeyData,
			}
			want := view{
				Context: "default", Cluster: "default", User: "default",
				Server: "https://127.0.0.1:6443", CA: kc.CAPEM, Cert: kc.CertPEM, Key: kc.KeyPEM,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("kubeconfig (-want +got):\n%s", diff)
			}

			rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
			if err != nil {
				t.Fatalf("client config: %v", err)
			}
			if rc.Host != "https://127.0.0.1:6443" || len(rc.TLSClientConfig.CAData) == 0 || len(rc.TLSClientConfig.CertData) == 0 {
				t.Errorf("rest config missing TLS data: host %q", rc.Host)
			}
		})
	}
}

func TestWriteKubeconfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kc   Kubeconfig
	}{
		{name: "no server", kc: Kubeconfig{CAPEM: []byte("x")}},
		{name: "certificate without key", kc: Kubeconfig{Server: "https://localhost:6443", CertPEM: []byte("x")}},
		{name: "key without certificate", kc: Kubeconfig{Server: "https://localhost:6443", KeyPEM: []byte("x")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "kubeconfig.yaml")
			if err := WriteKubeconfig(path, tc.kc); err == nil {
				t.Fatal("WriteKubeconfig succeeded, want an error")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("file written despite the error: %v", err)
			}
		})
	}
}
