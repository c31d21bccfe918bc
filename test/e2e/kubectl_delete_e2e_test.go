//go:build e2e

package e2e

import "testing"

const deleteObjects = `
apiVersion: v1
kind: ConfigMap
metadata: {name: d1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: d2, labels: {tier: x}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: d3, labels: {tier: x}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: d4, labels: {tier: "y"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: sweep}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a1, namespace: sweep}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: a2, namespace: sweep}
spec:
  selector: {matchLabels: {app: a2}}
  template:
    metadata: {labels: {app: a2}}
    spec:
      containers: [{name: c, image: busybox}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: a3, namespace: sweep}
spec:
  selector: {matchLabels: {app: a3}}
  template:
    metadata: {labels: {app: a3}}
    spec:
      containers: [{name: c, image: busybox}]
`

const deleteFile = `apiVersion: v1
kind: ConfigMap
metadata: {name: f1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: f2}
spec:
  selector: {matchLabels: {app: f2}}
  template:
    metadata: {labels: {app: f2}}
    spec:
      containers: [{name: c, image: busybox}]
`

func TestKubectlDelete(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *Kubectl) {
		k.Apply(t, "create", deleteObjects)

		t.Run("delete by name", func(t *testing.T) {
			wantLines(t, k.Run(t, "delete", "configmap", "d1"), deleted("configmap", "d1"))
			wantError(t, k.Run(t, "get", "configmap", "d1"), 1,
				lit(`Error from server (NotFound): configmaps "d1" not found`))
			wantError(t, k.Run(t, "delete", "configmap", "d1"), 1,
				lit(`Error from server (NotFound): configmaps "d1" not found`))
			wantLines(t, k.Run(t, "delete", "configmap", "d1", "--ignore-not-found"))
		})

		t.Run("delete -l", func(t *testing.T) {
			wantLines(t, k.Run(t, "delete", "configmap", "-l", "tier=x"),
				deleted("configmap", "d2"),
				deleted("configmap", "d3"))
			wantLines(t, k.Run(t, "get", "configmap", "-l", "tier", "-o", "name"), "configmap/d4")
		})

		t.Run("delete -f", func(t *testing.T) {
			k.WriteFile(t, "delete.yaml", deleteFile)
			k.OK(t, "create", "-f", "delete.yaml")
			wantLines(t, k.Run(t, "delete", "-f", "delete.yaml"),
				deleted("configmap", "f1"),
				deleted("deployment.apps", "f2"))
			wantError(t, k.Run(t, "get", "-f", "delete.yaml"), 1,
				lit(`Error from server (NotFound): configmaps "f1" not found`),
				lit(`Error from server (NotFound): deployments.apps "f2" not found`))
		})

		t.Run("delete --all", func(t *testing.T) {
			wantLines(t, k.Run(t, "delete", "deployments", "--all", "-n", "sweep"),
				deleted("deployment.apps", "a2"),
				deleted("deployment.apps", "a3"))
			wantError(t, k.Run(t, "get", "deployments", "-n", "sweep"), 0,
				lit(`No resources found in sweep namespace.`))
			wantLines(t, k.Run(t, "get", "configmap", "a1", "-n", "sweep", "-o", "name"), "configmap/a1")
		})

		t.Run("delete pod", func(t *testing.T) {
			wantLines(t, k.Run(t, "run", "p1", "--image=nginx:1.25"), `pod/p1 created`)
			wantLines(t, k.Run(t, "get", "pod", "p1"),
				header("NAME", "READY", "STATUS", "RESTARTS", "AGE"),
				row("p1", "0/1", "Pending", "0", age))
			// A pod bound to no node has nobody to stop it and goes at once.
			wantLines(t, k.Run(t, "delete", "pod", "p1", "--timeout=20s"), deleted("pod", "p1"))
			wantError(t, k.Run(t, "get", "pod", "p1"), 1,
				lit(`Error from server (NotFound): pods "p1" not found`))
		})

		t.Run("delete namespace", func(t *testing.T) {
			// kubectl waits until the namespace and its content are gone.
			wantLines(t, k.Run(t, "delete", "namespace", "sweep", "--timeout=15s"), deleted("namespace", "sweep"))
			wantError(t, k.Run(t, "get", "namespace", "sweep"), 1,
				lit(`Error from server (NotFound): namespaces "sweep" not found`))
		})
	})
}
