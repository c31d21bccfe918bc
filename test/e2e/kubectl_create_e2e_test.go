//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// createManifest holds several kinds in one file, in the order kubectl
// reports them.
const createManifest = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
type: Opaque
stringData: {user: admin}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: shop, labels: {app: shop}}
spec:
  replicas: 1
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - {name: app, image: "nginx:1.25"}
---
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: shop}
spec:
  selector: {app: shop}
  ports:
  - {port: 80, targetPort: 8080}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: shop}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get, list]}
`

func TestKubectlCreate(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *Kubectl) {
		t.Run("create -f", func(t *testing.T) {
			k.WriteFile(t, "multi.yaml", createManifest)
			wantLines(t, k.Run(t, "create", "-f", "multi.yaml"),
				`namespace/shop created`,
				`configmap/settings created`,
				`secret/creds created`,
				`serviceaccount/robot created`,
				lit(`deployment.apps/shop created`),
				`service/shop created`,
				lit(`role.rbac.authorization.k8s.io/reader created`))
			wantError(t, k.Run(t, "create", "-f", "multi.yaml"), 1,
				lit(`Error from server (AlreadyExists): error when creating "multi.yaml": namespaces "shop" already exists`),
				lit(`Error from server (AlreadyExists): error when creating "multi.yaml": configmaps "settings" already exists`))
			wantLines(t, k.Run(t, "get", "-f", "multi.yaml", "-o", "name"),
				`namespace/shop`,
				`configmap/settings`,
				`secret/creds`,
				`serviceaccount/robot`,
				lit(`deployment.apps/shop`),
				`service/shop`,
				lit(`role.rbac.authorization.k8s.io/reader`))
		})

		t.Run("create namespace", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "namespace", "ns1"), `namespace/ns1 created`)
			wantLines(t, k.Run(t, "get", "namespace", "ns1"),
				header("NAME", "STATUS", "AGE"),
				row("ns1", "Active", age))
		})

		t.Run("create configmap --from-literal", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "configmap", "lit", "--from-literal=a=1", "--from-literal=b=two"),
				`configmap/lit created`)
			wantLines(t, k.Run(t, "get", "configmap", "lit", "-o", "jsonpath={.data}"), lit(`{"a":"1","b":"two"}`))
		})

		t.Run("create configmap --from-file", func(t *testing.T) {
			k.WriteFile(t, "app.properties", "color=blue\nsize=3\n")
			wantLines(t, k.Run(t, "create", "configmap", "files", "--from-file=app.properties", "--from-file=renamed=app.properties"),
				`configmap/files created`)
			obj := decode(t, k.Run(t, "get", "configmap", "files", "-o", "json"))
			data, _ := obj["data"].(map[string]any)
			wantEqual(t, "data[app.properties]", str(data["app.properties"]), "color=blue\nsize=3\n")
			wantEqual(t, "data[renamed]", str(data["renamed"]), "color=blue\nsize=3\n")
			wantLines(t, k.Run(t, "get", "configmap", "files"),
				header("NAME", "DATA", "AGE"),
				row("files", "2", age))
		})

		t.Run("create secret generic", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "secret", "generic", "gen", "--from-literal=user=admin", "--from-literal=pass=s3cret"),
				`secret/gen created`)
			wantLines(t, k.Run(t, "get", "secret", "gen"),
				header("NAME", "TYPE", "DATA", "AGE"),
				row("gen", "Opaque", "2", age))
			wantLines(t, k.Run(t, "get", "secret", "gen", "-o", "jsonpath={.data.user}"), lit("YWRtaW4="))
		})

		t.Run("create secret tls", func(t *testing.T) {
			cert, key := selfSignedCert(t)
			k.WriteFile(t, "tls.crt", cert)
			k.WriteFile(t, "tls.key", key)
			wantLines(t, k.Run(t, "create", "secret", "tls", "tls1", "--cert=tls.crt", "--key=tls.key"),
				`secret/tls1 created`)
			wantLines(t, k.Run(t, "get", "secret", "tls1"),
				header("NAME", "TYPE", "DATA", "AGE"),
				row("tls1", lit("kubernetes.io/tls"), "2", age))
		})

		t.Run("create deployment", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "deployment", "d1", "--image=nginx:1.25", "--replicas=3", "--port=80"),
				lit(`deployment.apps/d1 created`))
			wantLines(t, k.Run(t, "get", "deployment", "d1", "-o", "wide"),
				header("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"),
				row("d1", "0/3", num, num, age, "nginx", lit("nginx:1.25"), "app=d1"))
		})

		t.Run("create service clusterip", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "service", "clusterip", "svc1", "--tcp=80:8080"),
				`service/svc1 created`)
			wantLines(t, k.Run(t, "get", "service", "svc1", "-o", "wide"),
				header("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"),
				row("svc1", "ClusterIP", `10\.43\.[0-9]+\.[0-9]+`, "<none>", lit("80/TCP"), age, "app=svc1"))
		})

		t.Run("create job", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "job", "j1", "--image=busybox", "--", "echo", "hi"),
				lit(`job.batch/j1 created`))
			wantLines(t, k.Run(t, "get", "job", "j1"),
				header("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"),
				row("j1", "Running", "0/1", "(?:"+age+")?", age))
		})

		t.Run("create cronjob", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "cronjob", "cj1", "--image=busybox", "--schedule=*/5 * * * *", "--", "echo", "hi"),
				lit(`cronjob.batch/cj1 created`))
			wantLines(t, k.Run(t, "get", "cronjob", "cj1"),
				header("NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"),
				row("cj1", lit("*/5 * * * *"), "<none>", "False", "0", "<none>", age))
		})

		t.Run("create serviceaccount", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "serviceaccount", "sa1"), `serviceaccount/sa1 created`)
			wantLines(t, k.Run(t, "get", "serviceaccount", "sa1"),
				header("NAME", "SECRETS", "AGE"),
				row("sa1", "0", age))
		})

		t.Run("create role", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "role", "pod-reader", "--verb=get,list", "--resource=pods,configmaps"),
				lit(`role.rbac.authorization.k8s.io/pod-reader created`))
			wantLines(t, k.Run(t, "get", "role", "pod-reader"),
				header("NAME", "CREATED AT"),
				row("pod-reader", timestamp))
			wantLines(t, k.Run(t, "get", "role", "pod-reader", "-o", `jsonpath={.rules[0].resources}`),
				lit(`["pods","configmaps"]`))
		})

		t.Run("create rolebinding", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "rolebinding", "pod-reader", "--role=pod-reader", "--user=alice", "--serviceaccount=default:sa1"),
				lit(`rolebinding.rbac.authorization.k8s.io/pod-reader created`))
			wantLines(t, k.Run(t, "get", "rolebinding", "pod-reader", "-o", "wide"),
				header("NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"),
				row("pod-reader", "Role/pod-reader", age, "alice", "", "default/sa1"))
		})

		t.Run("create priorityclass", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "priorityclass", "high", "--value=1000", "--description=high priority"),
				lit(`priorityclass.scheduling.k8s.io/high created`))
			wantLines(t, k.Run(t, "get", "priorityclass", "high"),
				header("NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"),
				row("high", "1000", "false", age, "PreemptLowerPriority"))
		})

		t.Run("create duplicate", func(t *testing.T) {
			wantError(t, k.Run(t, "create", "configmap", "lit", "--from-literal=a=1"), 1,
				lit(`error: failed to create configmap: configmaps "lit" already exists`))
		})
	})
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// selfSignedCert returns a PEM certificate and key for `kubectl create
// secret tls`.
func selfSignedCert(t *testing.T) (cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "shop.example.com"},
		DNSNames:     []string{"shop.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}
