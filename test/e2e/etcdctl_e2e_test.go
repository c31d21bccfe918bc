//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEtcdLayout checks, with Debian's etcdctl against the embedded etcd's
// unix socket, that objects are stored where upstream stores them:
// /registry/<resource>/<namespace>/<name>.
func TestEtcdLayout(t *testing.T) {
	etcdctl, err := exec.LookPath("etcdctl")
	if err != nil {
		t.Fatalf("etcdctl is not installed (make deps installs etcd-client): %v", err)
	}
	srv := StartServer(t)
	k := srv.Kubectl(t, "/usr/bin/kubectl")
	k.OK(t, "create", "configmap", "layout", "--from-literal=a=b")
	k.OK(t, "create", "deployment", "web", "--image=nginx")
	sock := "unix://" + filepath.Join(srv.DataDir, "server", "db", "etcd.sock")
	out, err := exec.Command(etcdctl, "--endpoints", sock, "get", "--prefix", "/registry/", "--keys-only").CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl get: %v\n%s", err, out)
	}
	for _, want := range []string{
		"/registry/configmaps/default/layout",
		"/registry/deployments/default/web",
		"/registry/namespaces/kube-system",
		"/registry/services/default/kubernetes",
	} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("etcdctl get --prefix /registry/ lacks %s:\n%s", want, out)
		}
	}
	val, err := exec.Command(etcdctl, "--endpoints", sock, "get", "/registry/configmaps/default/layout", "--print-value-only").CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl get value: %v\n%s", err, val)
	}
	if !strings.Contains(string(val), `"kind":"ConfigMap"`) || !strings.Contains(string(val), `"a":"b"`) {
		t.Errorf("stored ConfigMap is not readable JSON: %s", val)
	}
}
