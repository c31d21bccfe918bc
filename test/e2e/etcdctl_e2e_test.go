//go:build e2e

package e2e

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

// TestEtcdLayout checks, with Debian's etcdctl against the embedded etcd's
// unix socket, that objects are stored where upstream stores them:
// /registry/<resource>/<namespace>/<name>, in upstream's protobuf format.
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
	// Built-in kinds are stored as upstream stores them: the "k8s\x00"
	// magic, then a protobuf envelope naming apiVersion and kind.
	val = bytes.TrimSuffix(val, []byte("\n")) // etcdctl ends each value with one
	if !bytes.HasPrefix(val, []byte("k8s\x00")) {
		t.Fatalf("stored ConfigMap is not Kubernetes protobuf: %q", val)
	}
	obj, gvk, err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Decode(val, nil, nil)
	if err != nil {
		t.Fatalf("decode stored ConfigMap %q: %v", val, err)
	}
	if cm, ok := obj.(*corev1.ConfigMap); !ok || gvk.Kind != "ConfigMap" || gvk.Version != "v1" || cm.Data["a"] != "b" {
		t.Errorf("stored value decodes to %v %+v, want ConfigMap layout with a=b", gvk, obj)
	}
}
