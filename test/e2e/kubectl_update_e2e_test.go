//go:build e2e

package e2e

import "testing"

const updateObjects = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c1
  labels: {group: g}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c2
  labels: {group: g}
data: {k: v}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 8080
      - name: sidecar
        image: busybox:1.36
`

func TestKubectlUpdate(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *Kubectl) {
		k.Apply(t, "create", updateObjects)
		// kubectl 1.27 prints "annotate", later versions "annotated".
		annotated := `configmap/c1 annotated?`
		images := func(t *testing.T, want string) {
			t.Helper()
			wantLines(t, k.Run(t, "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[*].image}"), lit(want))
		}

		t.Run("edit", func(t *testing.T) {
			wantLines(t, k.RunEnv(t, []string{`E2E_SED=s/^  k: v$/  k: edited/`}, "edit", "configmap", "c1"),
				`configmap/c1 edited`)
			wantLines(t, k.Run(t, "get", "configmap", "c1", "-o", "jsonpath={.data.k}"), "edited")
			wantLines(t, k.RunEnv(t, []string{`E2E_SED=s/^  replicas: 2$/  replicas: 4/`}, "edit", "deployment/web"),
				lit(`deployment.apps/web edited`))
			wantLines(t, k.Run(t, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"), "4")
			wantError(t, k.RunEnv(t, []string{`E2E_SED=s/^no such line$//`}, "edit", "configmap", "c2"), 0,
				lit(`Edit cancelled, no changes made.`))
		})

		t.Run("patch --type strategic", func(t *testing.T) {
			wantLines(t, k.Run(t, "patch", "deployment", "web", "-p",
				`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}`),
				lit(`deployment.apps/web patched`))
			images(t, "nginx:1.26 busybox:1.36")
			wantLines(t, k.Run(t, "patch", "deployment", "web", "--type=strategic", "-p",
				`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}`),
				lit(`deployment.apps/web patched (no change)`))
		})

		t.Run("patch --type merge", func(t *testing.T) {
			wantLines(t, k.Run(t, "patch", "configmap", "c1", "--type", "merge", "-p",
				`{"data":{"k2":"v2"},"metadata":{"labels":{"patched":"merge"}}}`),
				`configmap/c1 patched`)
			wantLines(t, k.Run(t, "get", "configmap", "c1", "-o", "jsonpath={.data} {.metadata.labels.patched}"),
				lit(`{"k":"edited","k2":"v2"} merge`))
			wantLines(t, k.Run(t, "patch", "configmap", "c1", "--type", "merge", "-p", `{"data":{"k2":"v2"}}`),
				lit(`configmap/c1 patched (no change)`))
			wantLines(t, k.Run(t, "patch", "configmap", "c1", "--type", "merge", "-p", `{"data":{"k2":null}}`),
				`configmap/c1 patched`)
			wantLines(t, k.Run(t, "get", "configmap", "c1", "-o", "jsonpath={.data}"), lit(`{"k":"edited"}`))
			wantError(t, k.Run(t, "patch", "configmap", "nope", "--type", "merge", "-p", `{"data":{"a":"b"}}`), 1,
				lit(`Error from server (NotFound): configmaps "nope" not found`))
		})

		t.Run("patch --type json", func(t *testing.T) {
			wantLines(t, k.Run(t, "patch", "configmap", "c1", "--type", "json", "-p",
				`[{"op":"replace","path":"/data/k","value":"json"},{"op":"add","path":"/data/k3","value":"v3"}]`),
				`configmap/c1 patched`)
			wantLines(t, k.Run(t, "get", "configmap", "c1", "-o", "jsonpath={.data}"), lit(`{"k":"json","k3":"v3"}`))
			wantLines(t, k.Run(t, "patch", "deployment", "web", "--type=json", "-p",
				`[{"op":"replace","path":"/spec/template/spec/containers/1/image","value":"busybox:1.37"}]`),
				lit(`deployment.apps/web patched`))
			images(t, "nginx:1.26 busybox:1.37")
		})

		t.Run("label", func(t *testing.T) {
			wantLines(t, k.Run(t, "label", "configmap", "c1", "app=nginx"), `configmap/c1 labeled`)
			wantLines(t, k.Run(t, "label", "configmap", "c1", "app=nginx"), `configmap/c1 not labeled`)
			wantError(t, k.Run(t, "label", "configmap", "c1", "app=web"), 1,
				lit(`error: 'app' already has a value (nginx), and --overwrite is false`))
			wantLines(t, k.Run(t, "label", "configmap", "c1", "app=web", "--overwrite"), `configmap/c1 labeled`)
			wantLines(t, k.Run(t, "get", "configmap", "c1", "-o", "jsonpath={.metadata.labels.app}"), "web")
			wantLines(t, k.Run(t, "label", "configmap", "c1", "app-"), `configmap/c1 unlabeled`)
			wantLines(t, k.Run(t, "label", "configmap", "-l", "group=g", "team=blue"),
				`configmap/c1 labeled`,
				`configmap/c2 labeled`)
			wantLines(t, k.Run(t, "get", "configmap", "-l", "team=blue", "-o", "name"),
				`configmap/c1`,
				`configmap/c2`)
		})

		t.Run("annotate", func(t *testing.T) {
			wantLines(t, k.Run(t, "annotate", "configmap", "c1", "note=one"), annotated)
			wantError(t, k.Run(t, "annotate", "configmap", "c1", "note=two"), 1,
				lit(`error: --overwrite is false but found the following declared annotation(s): 'note' already has a value (one)`))
			wantLines(t, k.Run(t, "get", "configmap", "c1", "-o", "jsonpath={.metadata.annotations.note}"), "one")
			wantLines(t, k.Run(t, "annotate", "configmap", "c1", "note=two", "--overwrite"), annotated)
			wantLines(t, k.Run(t, "get", "configmap", "c1", "-o", "jsonpath={.metadata.annotations.note}"), "two")
			wantLines(t, k.Run(t, "annotate", "configmap", "c1", "note-"), annotated)
			wantLines(t, k.Run(t, "get", "configmap", "c1", "-o", "jsonpath={.metadata.annotations}"))
		})

		t.Run("scale", func(t *testing.T) {
			wantLines(t, k.Run(t, "scale", "deployment", "web", "--replicas=5"), lit(`deployment.apps/web scaled`))
			wantLines(t, k.Run(t, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"), "5")
			wantError(t, k.Run(t, "scale", "deployment", "web", "--current-replicas=3", "--replicas=1"), 1,
				lit(`error: Expected replicas to be 3, was 5`))
			wantLines(t, k.Run(t, "scale", "deployment/web", "--current-replicas=5", "--replicas=3"), lit(`deployment.apps/web scaled`))
			wantLines(t, k.Run(t, "get", "deployment", "web"),
				header("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
				row("web", "0/3", num, num, age))
		})

		t.Run("set image", func(t *testing.T) {
			wantLines(t, k.Run(t, "set", "image", "deployment/web", "nginx=nginx:1.27"), lit(`deployment.apps/web image updated`))
			images(t, "nginx:1.27 busybox:1.37")
			wantError(t, k.Run(t, "set", "image", "deployment/web", "nope=nginx:1.27"), 1,
				lit(`error: unable to find container named "nope"`))
		})

		t.Run("set resources", func(t *testing.T) {
			wantLines(t, k.Run(t, "set", "resources", "deployment", "web", "-c", "nginx",
				"--limits=cpu=200m,memory=512Mi", "--requests=cpu=100m,memory=256Mi"),
				lit(`deployment.apps/web resource requirements updated`))
			wantLines(t, k.Run(t, "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[*].resources}"),
				lit(`{"limits":{"cpu":"200m","memory":"512Mi"},"requests":{"cpu":"100m","memory":"256Mi"}} {}`))
		})

		t.Run("expose deployment", func(t *testing.T) {
			wantLines(t, k.Run(t, "expose", "deployment", "web", "--port=80", "--target-port=8080"), `service/web exposed`)
			wantLines(t, k.Run(t, "get", "service", "web", "-o", "wide"),
				header("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"),
				row("web", "ClusterIP", `10\.43\.[0-9]+\.[0-9]+`, "<none>", lit("80/TCP"), age, "app=web"))
			wantLines(t, k.Run(t, "get", "service", "web", "-o", "jsonpath={.spec.ports[0].targetPort}"), "8080")
			wantLines(t, k.Run(t, "expose", "deployment", "web", "--name=web-np", "--type=NodePort", "--port=80"), `service/web-np exposed`)
			wantLines(t, k.Run(t, "get", "service", "web-np"),
				header("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"),
				row("web-np", "NodePort", `10\.43\.[0-9]+\.[0-9]+`, "<none>", `80:3[0-9]{4}/TCP`, age))
		})

		t.Run("patch --type merge replaces lists", func(t *testing.T) {
			wantLines(t, k.Run(t, "patch", "deployment", "web", "--type", "merge", "-p",
				`{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"busybox:1.36"}]}}}}`),
				lit(`deployment.apps/web patched`))
			images(t, "busybox:1.36")
		})
	})
}
