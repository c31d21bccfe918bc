//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

func TestKubectlDiscovery(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *Kubectl) {
		t.Run("api-resources", func(t *testing.T) {
			patterns := []string{header("NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND")}
			for _, want := range [][]string{
				{"bindings", "", "v1", "true", "Binding"},
				{"configmaps", "cm", "v1", "true", "ConfigMap"},
				{"endpoints", "ep", "v1", "true", "Endpoints"},
				{"events", "ev", "v1", "true", "Event"},
				{"limitranges", "limits", "v1", "true", "LimitRange"},
				{"namespaces", "ns", "v1", "false", "Namespace"},
				{"nodes", "no", "v1", "false", "Node"},
				{"persistentvolumeclaims", "pvc", "v1", "true", "PersistentVolumeClaim"},
				{"persistentvolumes", "pv", "v1", "false", "PersistentVolume"},
				{"pods", "po", "v1", "true", "Pod"},
				{"replicationcontrollers", "rc", "v1", "true", "ReplicationController"},
				{"resourcequotas", "quota", "v1", "true", "ResourceQuota"},
				{"secrets", "", "v1", "true", "Secret"},
				{"serviceaccounts", "sa", "v1", "true", "ServiceAccount"},
				{"services", "svc", "v1", "true", "Service"},
				{"customresourcedefinitions", "crd,crds", "apiextensions.k8s.io/v1", "false", "CustomResourceDefinition"},
				// apiregistration.k8s.io (API aggregation) and
				// admissionregistration.k8s.io (webhooks) are not served
				// yet: storing their objects without acting on them would
				// mislead. See issue 2's note.
				{"controllerrevisions", "", "apps/v1", "true", "ControllerRevision"},
				{"daemonsets", "ds", "apps/v1", "true", "DaemonSet"},
				{"deployments", "deploy", "apps/v1", "true", "Deployment"},
				{"replicasets", "rs", "apps/v1", "true", "ReplicaSet"},
				{"statefulsets", "sts", "apps/v1", "true", "StatefulSet"},
				{"selfsubjectreviews", "", "authentication.k8s.io/v1", "false", "SelfSubjectReview"},
				{"tokenreviews", "", "authentication.k8s.io/v1", "false", "TokenReview"},
				{"selfsubjectaccessreviews", "", "authorization.k8s.io/v1", "false", "SelfSubjectAccessReview"},
				{"selfsubjectrulesreviews", "", "authorization.k8s.io/v1", "false", "SelfSubjectRulesReview"},
				{"subjectaccessreviews", "", "authorization.k8s.io/v1", "false", "SubjectAccessReview"},
				{"horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"},
				{"cronjobs", "cj", "batch/v1", "true", "CronJob"},
				{"jobs", "", "batch/v1", "true", "Job"},
				{"certificatesigningrequests", "csr", "certificates.k8s.io/v1", "false", "CertificateSigningRequest"},
				{"leases", "", "coordination.k8s.io/v1", "true", "Lease"},
				{"endpointslices", "", "discovery.k8s.io/v1", "true", "EndpointSlice"},
				{"events", "ev", "events.k8s.io/v1", "true", "Event"},
				{"ingressclasses", "", "networking.k8s.io/v1", "false", "IngressClass"},
				{"ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"},
				{"networkpolicies", "netpol", "networking.k8s.io/v1", "true", "NetworkPolicy"},
				{"poddisruptionbudgets", "pdb", "policy/v1", "true", "PodDisruptionBudget"},
				{"clusterrolebindings", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRoleBinding"},
				{"clusterroles", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRole"},
				{"rolebindings", "", "rbac.authorization.k8s.io/v1", "true", "RoleBinding"},
				{"roles", "", "rbac.authorization.k8s.io/v1", "true", "Role"},
				{"priorityclasses", "pc", "scheduling.k8s.io/v1", "false", "PriorityClass"},
				{"storageclasses", "sc", "storage.k8s.io/v1", "false", "StorageClass"},
			} {
				cells := make([]string, len(want))
				for i, c := range want {
					cells[i] = lit(c)
				}
				patterns = append(patterns, row(cells...))
			}
			wantEachLine(t, k.Run(t, "api-resources"), patterns...)
			wantLines(t, k.Run(t, "api-resources", "--api-group=apps", "-o", "name"),
				lit("controllerrevisions.apps"),
				lit("daemonsets.apps"),
				lit("deployments.apps"),
				lit("replicasets.apps"),
				lit("statefulsets.apps"))
			verbs := strings.Join([]string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}, "[, ]")
			wantHasLines(t, k.Run(t, "api-resources", "-o", "wide"),
				header("NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES"),
				row("pods", "po", "v1", "true", "Pod", `\[?`+verbs+`\]?`, `\[?all\]?`))
		})

		t.Run("api-versions", func(t *testing.T) {
			wantEachLine(t, k.Run(t, "api-versions"),
				lit("apiextensions.k8s.io/v1"),
				lit("apps/v1"),
				lit("authentication.k8s.io/v1"),
				lit("authorization.k8s.io/v1"),
				lit("autoscaling/v1"),
				lit("autoscaling/v2"),
				lit("batch/v1"),
				lit("certificates.k8s.io/v1"),
				lit("coordination.k8s.io/v1"),
				lit("discovery.k8s.io/v1"),
				lit("events.k8s.io/v1"),
				lit("networking.k8s.io/v1"),
				lit("policy/v1"),
				lit("rbac.authorization.k8s.io/v1"),
				lit("scheduling.k8s.io/v1"),
				lit("storage.k8s.io/v1"),
				lit("v1"))
		})

		t.Run("explain", func(t *testing.T) {
			want := []string{
				`GROUP: +apps`,
				`KIND: +Deployment`,
				`VERSION: +v1`,
				``,
				`FIELD: +strategy <DeploymentStrategy>`,
				``,
				`DESCRIPTION:`,
				`    The deployment strategy to use to replace existing pods with new ones\.`,
				`FIELDS:`,
				`  rollingUpdate\t<RollingUpdateDeployment>`,
				`  type\t<string>`,
			}
			// kubectl 1.27's explain template has no "enum:" line; the
			// values still come in the description.
			if !strings.HasSuffix(k.Path, ".1.27") {
				want = append(want, `  enum: Recreate, RollingUpdate`)
			}
			want = append(want, `    Possible enum values:`,
				"     - `\"Recreate\"` Kill all existing pods before creating new ones\\.")
			wantHasLines(t, k.Run(t, "explain", "deployment.spec.strategy"), want...)
			wantHasLines(t, k.Run(t, "explain", "pods"),
				`KIND: +Pod`,
				`VERSION: +v1`,
				`DESCRIPTION:`,
				`FIELDS:`,
				`  apiVersion\t<string>`,
				`  spec\t<PodSpec>`)
		})

		t.Run("get --raw", func(t *testing.T) {
			r := k.Run(t, "get", "--raw", "/readyz?verbose")
			wantHasLines(t, r, lit("[+]ping ok"), lit("[+]log ok"), lit("[+]etcd ok"), lit("readyz check passed"))
			lines := splitLines(r.Stdout)
			for _, line := range lines[:max(len(lines)-1, 0)] {
				if !compile(`\[\+\][a-z0-9/_-]+ ok`).MatchString(line) {
					t.Errorf("readyz?verbose: want only passing checks, got line %q\n%s", line, r)
				}
			}
			wantLines(t, k.Run(t, "get", "--raw", "/readyz"), "ok")
			wantLines(t, k.Run(t, "get", "--raw", "/livez"), "ok")
			obj := decode(t, k.Run(t, "get", "--raw", "/version"))
			wantEqual(t, "/version major", field(obj, "major"), "1")
			if !compile(`v1\.[0-9]+\.[0-9]+.*`).MatchString(field(obj, "gitVersion")) {
				t.Errorf("/version gitVersion: want v1.x.y, got %q", field(obj, "gitVersion"))
			}
			wantError(t, k.Run(t, "get", "--raw", "/api/v1/namespaces/default/configmaps/nope"), 1,
				lit(`Error from server (NotFound): configmaps "nope" not found`))
		})

		t.Run("auth can-i", func(t *testing.T) {
			wantLines(t, k.Run(t, "auth", "can-i", "create", "pods"), "yes")
			wantLines(t, k.Run(t, "auth", "can-i", "*", "*"), "yes")
			wantLines(t, k.Run(t, "auth", "can-i", "delete", "deployments.apps", "-n", "kube-system"), "yes")
			r := k.Run(t, "auth", "can-i", "create", "pods", "--as=alice")
			if r.Code != 1 || strings.TrimSpace(r.Stdout) != "no" {
				t.Errorf("auth can-i as a user with no role: want \"no\" and exit code 1, got:\n%s", r)
			}
		})
	})
}
