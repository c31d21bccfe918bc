//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

const applyConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  labels: {app: web, tier: front}
data:
  mode: fast
`

const applyDeployment = `apiVersion: apps/v1
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
        - containerPort: 80
`

const ssaConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
  labels: {owner: first}
data:
  a: "1"
`

const ssaConflicting = `apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
data:
  a: "2"
`

func TestKubectlApply(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *Kubectl) {
		t.Run("apply client-side", func(t *testing.T) {
			k.WriteFile(t, "app.yaml", applyConfigMap+"---\n"+applyDeployment)
			wantLines(t, k.Run(t, "apply", "-f", "app.yaml"),
				`configmap/app-config created`,
				lit(`deployment.apps/web created`))
			wantLines(t, k.Run(t, "apply", "-f", "app.yaml"),
				`configmap/app-config unchanged`,
				lit(`deployment.apps/web unchanged`))

			changed := strings.Replace(applyConfigMap, "mode: fast", "mode: slow", 1)
			changed = strings.Replace(changed, ", tier: front", "", 1)
			k.WriteFile(t, "app.yaml", changed+"---\n"+applyDeployment)
			wantLines(t, k.Run(t, "apply", "-f", "app.yaml"),
				`configmap/app-config configured`,
				lit(`deployment.apps/web unchanged`))
			wantLines(t, k.Run(t, "get", "configmap", "app-config", "-o", "jsonpath={.data.mode} {.metadata.labels}"),
				lit(`slow {"app":"web"}`))
			obj := decode(t, k.Run(t, "get", "configmap", "app-config", "-o", "json"))
			annotations := field(obj, "metadata.annotations")
			if !strings.Contains(annotations, "kubectl.kubernetes.io/last-applied-configuration") ||
				!strings.Contains(annotations, `\"mode\":\"slow\"`) {
				t.Errorf("want the last-applied-configuration annotation with mode slow, got annotations %s", annotations)
			}
			wantLines(t, k.Run(t, "get", "deployment", "web", "-o", "jsonpath={.metadata.generation}"), "1")
		})

		t.Run("apply --server-side", func(t *testing.T) {
			k.WriteFile(t, "ssa.yaml", ssaConfigMap)
			k.WriteFile(t, "ssa-other.yaml", ssaConflicting)
			wantLines(t, k.Run(t, "apply", "--server-side", "-f", "ssa.yaml"),
				`configmap/ssa serverside-applied`)
			wantLines(t, k.Run(t, "apply", "--server-side", "-f", "ssa.yaml"),
				`configmap/ssa serverside-applied`)
			wantLines(t, k.Run(t, "get", "configmap", "ssa", "-o", "jsonpath={.metadata.managedFields[*].manager} {.metadata.managedFields[*].operation}"),
				`kubectl Apply`)

			wantError(t, k.Run(t, "apply", "--server-side", "--field-manager=other", "-f", "ssa-other.yaml"), 1,
				lit(`error: Apply failed with 1 conflict: conflict with "kubectl": .data.a`),
				lit(`Please review the fields above--they currently have other managers. Here`))
			wantLines(t, k.Run(t, "get", "configmap", "ssa", "-o", "jsonpath={.data.a}"), "1")

			wantLines(t, k.Run(t, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "ssa-other.yaml"),
				`configmap/ssa serverside-applied`)
			wantLines(t, k.Run(t, "get", "configmap", "ssa", "-o", "jsonpath={.data.a} {.metadata.labels.owner}"), "2 first")
			obj := decode(t, k.Run(t, "get", "configmap", "ssa", "-o", "json", "--show-managed-fields"))
			owners := map[string]string{}
			for i := 0; i < 4; i++ {
				m := field(obj, "metadata.managedFields["+string(rune('0'+i))+"].manager")
				if m != "" {
					owners[m] = field(obj, "metadata.managedFields["+string(rune('0'+i))+"].fieldsV1")
				}
			}
			if len(owners) != 2 ||
				!strings.Contains(owners["kubectl"], `"f:owner"`) || strings.Contains(owners["kubectl"], `"f:a"`) ||
				!strings.Contains(owners["other"], `"f:a"`) {
				t.Errorf("after --force-conflicts want kubectl to own .metadata.labels.owner and other to own .data.a, got managedFields %v", owners)
			}

			// A field set by a client-side create belongs to an Update manager.
			k.OK(t, "create", "configmap", "created", "--from-literal=a=1")
			wantError(t, k.RunStdin(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: created}\ndata: {a: \"2\"}\n",
				"apply", "--server-side", "-f", "-"), 1,
				lit(`error: Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.a`))
		})

		t.Run("diff", func(t *testing.T) {
			k.WriteFile(t, "diff.yaml", applyDeployment)
			wantLines(t, k.Run(t, "apply", "-f", "diff.yaml"), lit(`deployment.apps/web `)+`(?:unchanged|configured|created)`)
			r := k.Run(t, "diff", "-f", "diff.yaml")
			if r.Code != 0 || r.Stdout != "" {
				t.Errorf("diff of an unchanged object: want exit code 0 and no output, got:\n%s", r)
			}

			k.WriteFile(t, "diff.yaml", strings.Replace(applyDeployment, "image: nginx:1.25", "image: nginx:1.26", 1))
			r = k.Run(t, "diff", "-f", "diff.yaml")
			wantCodeHasLines(t, r, 1,
				`diff -u -N /\S+/LIVE-[0-9]+/apps\.v1\.Deployment\.default\.web /\S+/MERGED-[0-9]+/apps\.v1\.Deployment\.default\.web`,
				`--- /\S+/LIVE-[0-9]+/apps\.v1\.Deployment\.default\.web\s.*`,
				`\+\+\+ /\S+/MERGED-[0-9]+/apps\.v1\.Deployment\.default\.web\s.*`,
				`-  generation: 1`,
				`\+  generation: 2`,
				`-      - image: nginx:1\.25`,
				`\+      - image: nginx:1\.26`)
			for _, line := range splitLines(r.Stdout) {
				if strings.HasPrefix(line, "-") && !strings.HasPrefix(line, "---") &&
					!strings.Contains(line, "generation:") && !strings.Contains(line, "image:") {
					t.Errorf("diff shows an unexpected change: %q\n%s", line, r)
				}
			}
			wantLines(t, k.Run(t, "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.metadata.generation}"),
				lit("nginx:1.25 1"))

			k.WriteFile(t, "new.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh}\ndata: {k: v}\n")
			wantCodeHasLines(t, k.Run(t, "diff", "-f", "new.yaml"), 1, `\+kind: ConfigMap`, `\+  name: fresh`)
			wantError(t, k.Run(t, "get", "configmap", "fresh"), 1,
				lit(`Error from server (NotFound): configmaps "fresh" not found`))
		})
	})
}
