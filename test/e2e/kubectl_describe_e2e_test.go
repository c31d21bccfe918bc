//go:build e2e

package e2e

import "testing"

const describeObjects = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: blue}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c1
  namespace: shop
  labels: {app: nginx}
  annotations: {note: hello}
data: {greeting: hi}
---
apiVersion: v1
kind: Secret
metadata: {name: s1, namespace: shop}
stringData: {password: s3cret}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
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
        - containerPort: 80
        env:
        - {name: MODE, value: fast}
`

// rfc1123z matches the CreationTimestamp line of kubectl describe.
const rfc1123z = `[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000`

func TestKubectlDescribe(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *Kubectl) {
		k.Apply(t, "create", describeObjects)

		t.Run("describe deployment", func(t *testing.T) {
			wantHasLines(t, k.Run(t, "describe", "deployment", "web", "-n", "shop"),
				`Name: +web`,
				`Namespace: +shop`,
				`CreationTimestamp: +`+rfc1123z,
				`Labels: +app=web`,
				`Annotations: +.*`,
				`Selector: +app=web`,
				`Replicas: +2 desired \| `+num+` updated \| `+num+` total \| `+num+` available \| `+num+` unavailable`,
				`StrategyType: +RollingUpdate`,
				`MinReadySeconds: +0`,
				`RollingUpdateStrategy: +25% max unavailable, 25% max surge`,
				`Pod Template:`,
				`  Labels: +app=web`,
				`  Containers:`,
				`   nginx:`,
				`    Image: +nginx:1\.25`,
				`    Port: +80/TCP`,
				`    Host Port: +0/TCP`,
				`    Environment:`,
				`      MODE: +fast`,
				`Events:.*`)
		})

		t.Run("describe configmap", func(t *testing.T) {
			wantHasLines(t, k.Run(t, "describe", "configmap", "c1", "-n", "shop"),
				`Name: +c1`,
				`Namespace: +shop`,
				`Labels: +app=nginx`,
				`Annotations: +note: hello`,
				`Data`,
				`====`,
				`greeting:`,
				`----`,
				`hi`,
				`BinaryData`,
				`====`,
				`Events: +<none>`)
		})

		t.Run("describe secret", func(t *testing.T) {
			wantHasLines(t, k.Run(t, "describe", "secret", "s1", "-n", "shop"),
				`Name: +s1`,
				`Namespace: +shop`,
				`Labels: +<none>`,
				`Annotations: +<none>`,
				`Type: +Opaque`,
				`Data`,
				`====`,
				`password: +6 bytes`)
		})

		t.Run("describe namespace", func(t *testing.T) {
			wantLines(t, k.Run(t, "describe", "namespace", "shop"),
				`Name: +shop`,
				`Labels: +kubernetes\.io/metadata\.name=shop`,
				` +team=blue`,
				`Annotations: +<none>`,
				`Status: +Active`,
				``,
				`No resource quota\.`,
				``,
				`No LimitRange resource\.`)
		})
	})
}
