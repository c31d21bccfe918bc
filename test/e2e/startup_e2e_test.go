//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
)

const persistObjects = `apiVersion: v1
kind: Namespace
metadata: {name: keep}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c1, namespace: keep, labels: {app: keep}}
data: {k: v}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: keep}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.25"}]
`

// TestServerRestart checks that objects survive the server process ending,
// gracefully or not, and that it comes back on the same data dir and port.
func TestServerRestart(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *Kubectl) {
		srv := k.Server
		if srv.KubeconfigLate {
			t.Errorf("/readyz answered ok before %s was written", srv.Kubeconfig)
		}
		k.Apply(t, "create", persistObjects)
		before := k.JSONPath(t, "{.metadata.uid} {.metadata.resourceVersion}", "configmap", "c1", "-n", "keep")

		check := func(t *testing.T) {
			t.Helper()
			wantLines(t, k.Run(t, "get", "namespace", "keep"),
				header("NAME", "STATUS", "AGE"),
				row("keep", "Active", age))
			wantLines(t, k.Run(t, "get", "configmap", "c1", "-n", "keep", "-o", "jsonpath={.metadata.uid} {.metadata.resourceVersion}"),
				lit(before))
			wantLines(t, k.Run(t, "get", "deployment", "web", "-n", "keep"),
				header("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
				row("web", "0/2", num, num, age))
			if srv.KubeconfigLate {
				t.Errorf("/readyz answered ok before %s was written", srv.Kubeconfig)
			}
		}

		t.Run("after SIGTERM", func(t *testing.T) {
			srv.Stop(t)
			r := k.Run(t, "get", "namespace", "keep", "--request-timeout=5s")
			if r.Code == 0 {
				t.Errorf("kubectl still reaches the stopped server:\n%s", r)
			}
			srv.Restart(t)
			check(t)
			wantLines(t, k.Run(t, "create", "configmap", "after-term", "-n", "keep"), `configmap/after-term created`)
		})

		t.Run("after SIGKILL", func(t *testing.T) {
			srv.Kill(t)
			srv.Restart(t)
			check(t)
			wantLines(t, k.Run(t, "get", "configmap", "-n", "keep", "-o", "name"),
				"configmap/after-term",
				"configmap/c1",
				"configmap/kube-root-ca.crt") // published in every namespace, as upstream
			wantLines(t, k.Run(t, "scale", "deployment", "web", "-n", "keep", "--replicas=4"), lit(`deployment.apps/web scaled`))
			wantLines(t, k.Run(t, "get", "deployment", "web", "-n", "keep", "-o", "jsonpath={.spec.replicas}"), "4")
		})
	})
}

// TestServersSideBySide runs two servers with their own data dirs and ports
// at once and checks that they do not share state.
func TestServersSideBySide(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, a *Kubectl) {
		b := StartServer(t).Kubectl(t, a.Path)
		if a.Server.Port == b.Server.Port || a.Server.DataDir == b.Server.DataDir {
			t.Fatalf("servers share a port or data dir: %+v %+v", a.Server, b.Server)
		}
		ka, _ := os.ReadFile(a.Server.Kubeconfig)
		kb, _ := os.ReadFile(b.Server.Kubeconfig)
		for _, c := range []struct {
			kubeconfig []byte
			port       int
		}{{ka, a.Server.Port}, {kb, b.Server.Port}} {
			if want := "server: https://127.0.0.1:" + itoa(c.port); !strings.Contains(string(c.kubeconfig), want) {
				t.Errorf("kubeconfig: want %q, got:\n%s", want, c.kubeconfig)
			}
		}

		wantLines(t, a.Run(t, "create", "configmap", "only-a", "--from-literal=server=a"), `configmap/only-a created`)
		wantLines(t, b.Run(t, "create", "configmap", "only-b", "--from-literal=server=b"), `configmap/only-b created`)
		wantLines(t, a.Run(t, "get", "configmap", "only-a", "-o", "jsonpath={.data.server}"), "a")
		wantLines(t, b.Run(t, "get", "configmap", "only-b", "-o", "jsonpath={.data.server}"), "b")
		wantError(t, b.Run(t, "get", "configmap", "only-a"), 1,
			lit(`Error from server (NotFound): configmaps "only-a" not found`))
		wantError(t, a.Run(t, "get", "configmap", "only-b"), 1,
			lit(`Error from server (NotFound): configmaps "only-b" not found`))
		for _, k := range []*Kubectl{a, b} {
			wantLines(t, k.Run(t, "get", "namespaces", "-o", "name"),
				"namespace/default",
				"namespace/kube-node-lease",
				"namespace/kube-public",
				"namespace/kube-system")
		}
	})
}
