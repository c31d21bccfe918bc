//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnvFromSources: a container's environment from values with $(VAR)
// expansion, fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef,
// envFrom (invalid names skipped with an event; a prefix), and the service variables; the container writes
// its environment to a hostPath file the test reads.
func TestEnvFromSources(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	out := outDir(t, k)
	k.OK(t, "create", "configmap", "settings", "--from-literal=mode=fast", "--from-literal=1bad=x", "--from-literal=LEVEL=3")
	k.OK(t, "create", "secret", "generic", "creds", "--from-literal=password=hunter2")
	k.Apply(t, "create", `
apiVersion: v1
kind: Service
metadata: {name: web-api}
spec:
  selector: {app: nothing}
  ports: [{name: http, port: 80, targetPort: 8080}]
`)
	k.Apply(t, "create", fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata:
  name: envy
  labels: {app: envy}
  annotations: {note: hello}
spec:
  restartPolicy: Never
  volumes: [{name: out, hostPath: {path: %s, type: Directory}}]
  containers:
  - name: c
    image: busybox
    resources: {limits: {memory: 64Mi}, requests: {cpu: 250m, memory: 32Mi}}
    envFrom:
    - {configMapRef: {name: settings}}
    - {secretRef: {name: creds}, prefix: SEC_}
    - {secretRef: {name: missing, optional: true}, prefix: NO_}
    env:
    - {name: GREETING, value: hello}
    - {name: MESSAGE, value: "$(GREETING) from $(POD_NAME)"}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: LATE, value: "$(POD_NAME)"}
    - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: NOTE, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['note']"}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
    - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MEM_LIMIT_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: CPU_REQUEST_M, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}
    - {name: CPU_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: OPTIONAL, valueFrom: {secretKeyRef: {name: creds, key: nokey, optional: true}}}
    command: [sh, -c, 'env > /out/env.tmp; mv /out/env.tmp /out/env']
    volumeMounts: [{name: out, mountPath: /out}]
`, out))
	envFile := waitHostFile(t, filepath.Join(out, "env"), "the container's environment", 90*time.Second, func(s string) bool { return s != "" })
	env := map[string]string{}
	for _, l := range strings.Split(envFile, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	uid := k.JSONPath(t, "{.metadata.uid}", "pod", "envy")
	hostIP := k.JSONPath(t, "{.status.addresses[?(@.type==\"InternalIP\")].address}", "node", n.Node)
	svcIP := k.JSONPath(t, "{.spec.clusterIP}", "service", "web-api")
	kubeIP := k.OK(t, "get", "service", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}")
	cpus := k.JSONPath(t, "{.status.allocatable.cpu}", "node", n.Node)
	want := map[string]string{
		"GREETING": "hello", "MESSAGE": "hello from $(POD_NAME)", "POD_NAME": "envy", "LATE": "envy",
		"POD_NS": k.Namespace, "POD_UID": uid, "APP": "envy", "NOTE": "hello", "NODE": n.Node, "SA": "default",
		"HOST_IP": hostIP, "MEM_LIMIT_MI": "64", "CPU_REQUEST_M": "250", "CPU_LIMIT": cpus,
		"MODE": "fast", "PASSWORD": "hunter2", "mode": "fast", "LEVEL": "3", "SEC_password": "hunter2",
		"WEB_API_SERVICE_HOST": svcIP, "WEB_API_SERVICE_PORT": "80", "WEB_API_SERVICE_PORT_HTTP": "80",
		"WEB_API_PORT": "tcp://" + svcIP + ":80", "WEB_API_PORT_80_TCP_ADDR": svcIP, "WEB_API_PORT_80_TCP_PROTO": "tcp",
		"KUBERNETES_SERVICE_HOST": kubeIP, "KUBERNETES_SERVICE_PORT": "443",
	}
	for name, v := range want {
		if got, ok := env[name]; !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", name, got, ok, v)
		}
	}
	if env["POD_IP"] == "" {
		t.Error("POD_IP is empty")
	}
	for _, absent := range []string{"OPTIONAL", "1bad"} {
		if v, ok := env[absent]; ok {
			t.Errorf("%s is set (%q), want it absent", absent, v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wantEvent := "Keys [1bad] from the EnvFrom configMap " + k.Namespace + "/settings were skipped since they are considered invalid environment variable names."
	waitKubectl(t, ctx, k, "InvalidEnvironmentVariableNames event", func(out string) bool { return strings.Contains(out, wantEvent) },
		"get", "events", "--field-selector", "reason=InvalidEnvironmentVariableNames", "-o", "jsonpath={.items[*].message}")
}

// TestEnvMissingReference: a container whose env names a missing
// ConfigMap or Secret waits in CreateContainerConfigError with upstream's
// message, and starts once the object exists.
func TestEnvMissingReference(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.Apply(t, "create", `
apiVersion: v1
kind: Pod
metadata: {name: waits}
spec:
  containers:
  - name: c
    image: busybox
    command: [sleep, "3600"]
    env:
    - {name: A, valueFrom: {configMapKeyRef: {name: later, key: a}}}
---
apiVersion: v1
kind: Pod
metadata: {name: waits-secret}
spec:
  containers:
  - name: c
    image: busybox
    command: [sleep, "3600"]
    envFrom: [{secretRef: {name: nosecret}}]
`)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitKubectl(t, ctx, k, "CreateContainerConfigError", func(out string) bool {
		return out == `CreateContainerConfigError/configmap "later" not found`
	}, "get", "pod", "waits", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}/{.status.containerStatuses[0].state.waiting.message}")
	waitKubectl(t, ctx, k, "CreateContainerConfigError", func(out string) bool {
		return out == `CreateContainerConfigError/secret "nosecret" not found`
	}, "get", "pod", "waits-secret", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}/{.status.containerStatuses[0].state.waiting.message}")
	k.OK(t, "create", "configmap", "later", "--from-literal=a=1")
	waitPodPhase(t, k, "waits", "Running")
}
