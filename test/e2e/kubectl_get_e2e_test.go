//go:build e2e

package e2e

import (
	"testing"
	"time"
)

// getObjects are the objects the get scenarios read.
const getObjects = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c1
  labels: {app: nginx, env: production}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c2
  labels: {app: nginx, env: qa}
data: {k: v2, k2: x}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c3
  labels: {app: db, env: dev}
data: {k: v3}
---
apiVersion: v1
kind: Secret
metadata:
  name: s1
  labels: {app: nginx, env: production}
stringData: {password: one}
---
apiVersion: v1
kind: Secret
metadata:
  name: s2
  labels: {app: nginx, env: qa}
stringData: {password: two}
---
apiVersion: v1
kind: Secret
metadata:
  name: s3
  labels: {app: db, env: dev}
stringData: {password: three}
---
apiVersion: v1
kind: Secret
metadata:
  name: s4
  labels: {app: web}
stringData: {password: four}
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
`

func TestKubectlGet(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *Kubectl) {
		k.Apply(t, "create", getObjects)

		t.Run("get", func(t *testing.T) {
			wantLines(t, k.Run(t, "get", "configmap", "c1"),
				header("NAME", "DATA", "AGE"),
				row("c1", "1", age))
			wantLines(t, k.Run(t, "get", "cm", "-l", "app=nginx"),
				header("NAME", "DATA", "AGE"),
				row("c1", "1", age),
				row("c2", "2", age))
			wantLines(t, k.Run(t, "get", "deployments.apps", "web"),
				header("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
				row("web", "0/2", num, num, age))
			wantLines(t, k.Run(t, "get", "cm,secrets", "-l", "app=nginx"),
				header("NAME", "DATA", "AGE"),
				row("configmap/c1", "1", age),
				row("configmap/c2", "2", age),
				"",
				header("NAME", "TYPE", "DATA", "AGE"),
				row("secret/s1", "Opaque", "1", age),
				row("secret/s2", "Opaque", "1", age))
		})

		t.Run("get --chunk-size -A --field-selector", func(t *testing.T) {
			wantLines(t, k.Run(t, "get", "secrets", "--chunk-size=1", "-o", "name"),
				"secret/s1", "secret/s2", "secret/s3", "secret/s4")
			wantLines(t, k.Run(t, "get", "deployments", "-A", "-l", "app=web"),
				header("NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
				row("default", "web", "0/2", num, num, age))
			wantLines(t, k.Run(t, "get", "configmaps", "--field-selector", "metadata.name=c2"),
				header("NAME", "DATA", "AGE"),
				row("c2", "2", age))
			wantLines(t, k.Run(t, "get", "namespaces", "--field-selector", "metadata.name!=default", "-o", "name"),
				"namespace/kube-node-lease", "namespace/kube-public", "namespace/kube-system")
		})

		t.Run("get not found", func(t *testing.T) {
			wantError(t, k.Run(t, "get", "cm", "nope"), 1,
				lit(`Error from server (NotFound): configmaps "nope" not found`))
			wantError(t, k.Run(t, "get", "cm", "-l", "app=nothing", "-n", "kube-public"), 0,
				lit(`No resources found in kube-public namespace.`))
		})

		t.Run("get -o yaml", func(t *testing.T) {
			wantLines(t, k.Run(t, "get", "cm", "c1", "-o", "yaml"),
				`apiVersion: v1`,
				`data:`,
				`  k: v`,
				`kind: ConfigMap`,
				`metadata:`,
				`  creationTimestamp: "`+timestamp+`"`,
				`  labels:`,
				`    app: nginx`,
				`    env: production`,
				`  name: c1`,
				`  namespace: default`,
				`  resourceVersion: "`+num+`"`,
				`  uid: `+uid)
		})

		t.Run("get -o json", func(t *testing.T) {
			obj := decode(t, k.Run(t, "get", "deployment", "web", "-o", "json"))
			for path, want := range map[string]string{
				"apiVersion":                             "apps/v1",
				"kind":                                   "Deployment",
				"metadata.name":                          "web",
				"metadata.namespace":                     "default",
				"metadata.generation":                    "1",
				"spec.replicas":                          "2",
				"spec.template.spec.containers[0].image": "nginx:1.25",
				// Defaults the API server fills in.
				"spec.strategy.type":                                      "RollingUpdate",
				"spec.strategy.rollingUpdate.maxSurge":                    "25%",
				"spec.revisionHistoryLimit":                               "10",
				"spec.progressDeadlineSeconds":                            "600",
				"spec.template.spec.restartPolicy":                        "Always",
				"spec.template.spec.dnsPolicy":                            "ClusterFirst",
				"spec.template.spec.schedulerName":                        "default-scheduler",
				"spec.template.spec.terminationGracePeriodSeconds":        "30",
				"spec.template.spec.containers[0].imagePullPolicy":        "IfNotPresent",
				"spec.template.spec.containers[0].terminationMessagePath": "/dev/termination-log",
			} {
				wantEqual(t, "deployment web "+path, field(obj, path), want)
			}
			list := decode(t, k.Run(t, "get", "cm", "-l", "app=nginx", "-o", "json"))
			wantEqual(t, "list kind", field(list, "kind"), "List")
			wantEqual(t, "list apiVersion", field(list, "apiVersion"), "v1")
			wantEqual(t, "items[0].kind", field(list, "items[0].kind"), "ConfigMap")
			wantEqual(t, "items[0].metadata.name", field(list, "items[0].metadata.name"), "c1")
			wantEqual(t, "items[1].metadata.name", field(list, "items[1].metadata.name"), "c2")
			wantEqual(t, "items[2]", field(list, "items[2]"), "")
		})

		t.Run("get -o wide", func(t *testing.T) {
			wantLines(t, k.Run(t, "get", "deploy", "web", "-o", "wide"),
				header("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"),
				row("web", "0/2", num, num, age, "nginx", lit("nginx:1.25"), "app=web"))
		})

		t.Run("get -o name", func(t *testing.T) {
			wantLines(t, k.Run(t, "get", "cm", "-l", "app=nginx", "-o", "name"),
				"configmap/c1",
				"configmap/c2")
			wantLines(t, k.Run(t, "get", "deploy", "-o", "name"),
				lit("deployment.apps/web"))
		})

		t.Run("get -o jsonpath", func(t *testing.T) {
			wantLines(t, k.Run(t, "get", "cm", "c1", "-o", "jsonpath={.data.k}"), "v")
			wantLines(t, k.Run(t, "get", "cm", "-l", "app=nginx", "-o", "jsonpath={.items[*].metadata.name}"), "c1 c2")
			wantLines(t, k.Run(t, "get", "cm", "-l", "app", "-o",
				`jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.env}{"\n"}{end}`),
				"c1=production", "c2=qa", "c3=dev")
		})

		t.Run("get -o custom-columns", func(t *testing.T) {
			wantLines(t, k.Run(t, "get", "cm", "-l", "app", "-o",
				"custom-columns=NAME:.metadata.name,APP:.metadata.labels.app,ENV:.metadata.labels.env,MISSING:.data.none"),
				header("NAME", "APP", "ENV", "MISSING"),
				row("c1", "nginx", "production", "<none>"),
				row("c2", "nginx", "qa", "<none>"),
				row("c3", "db", "dev", "<none>"))
		})

		t.Run("get -w", func(t *testing.T) {
			k.OK(t, "create", "configmap", "w1", "--from-literal=a=1")
			k.OK(t, "label", "configmap", "w1", "watch=yes")
			w := k.Start(t, "get", "configmap", "-l", "watch=yes", "-w", "--request-timeout=60s")
			if !w.WaitLine(t, header("NAME", "DATA", "AGE"), 20*time.Second) ||
				!w.WaitLine(t, row("w1", "1", age), 20*time.Second) {
				return
			}
			k.Apply(t, "create", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: w2, labels: {watch: \"yes\"}}\ndata: {a: \"1\", b: \"2\"}\n")
			if !w.WaitLine(t, row("w2", "2", age), 20*time.Second) {
				return
			}
			k.OK(t, "patch", "configmap", "w1", "--type=merge", "-p", `{"data":{"b":"2","c":"3"}}`)
			w.WaitLine(t, row("w1", "3", age), 20*time.Second)
		})

		t.Run("get all", func(t *testing.T) {
			wantHasLines(t, k.Run(t, "get", "all"),
				header("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"),
				row("service/kubernetes", "ClusterIP", lit("10.43.0.1"), "<none>", lit("443/TCP"), age),
				header("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
				row(lit("deployment.apps/web"), "0/2", num, num, age))
		})

		t.Run("get --show-labels -l", func(t *testing.T) {
			head := header("NAME", "TYPE", "DATA", "AGE", "LABELS")
			s1 := row("s1", "Opaque", "1", age, "app=nginx,env=production")
			s2 := row("s2", "Opaque", "1", age, "app=nginx,env=qa")
			s3 := row("s3", "Opaque", "1", age, "app=db,env=dev")
			s4 := row("s4", "Opaque", "1", age, "app=web")
			wantLines(t, k.Run(t, "get", "secrets", "--show-labels"), head, s1, s2, s3, s4)
			wantLines(t, k.Run(t, "get", "secrets", "--show-labels", "-l", "app=nginx"), head, s1, s2)
			wantLines(t, k.Run(t, "get", "secrets", "--show-labels", "-l", "env!=production"), head, s2, s3, s4)
			wantLines(t, k.Run(t, "get", "secrets", "--show-labels", "-l", "env in (production, qa)"), head, s1, s2)
			wantLines(t, k.Run(t, "get", "secrets", "--show-labels", "-l", "env notin (production),app"), head, s2, s3, s4)
			wantLines(t, k.Run(t, "get", "secrets", "--show-labels", "-l", "!env"), head, s4)
			wantLines(t, k.Run(t, "get", "secrets", "--show-labels", "-l", "app=nginx,env=qa"), head, s2)
			wantLines(t, k.Run(t, "get", "cm", "--show-labels", "-l", "app in (db)"),
				header("NAME", "DATA", "AGE", "LABELS"),
				row("c3", "1", age, "app=db,env=dev"))
		})
	})
}
