//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The volume tests read what containers write into a hostPath directory
// of the test (out), so they check the files a process inside the
// container sees, without depending on kubectl exec or logs.

// outDir returns a fresh host directory for the pods of k's namespace to
// use. When the test ends those pods are deleted first, so that none
// recreates anything there (a FileOrCreate volume would) once it is gone.
func outDir(t *testing.T, k *Kubectl) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "skiff-e2e-out-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		k.Run(t, "delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=90s")
		os.RemoveAll(dir)
	})
	return dir
}

// waitHostFile polls path until ok accepts its content.
func waitHostFile(t *testing.T, path, what string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			last = string(b)
			if ok(last) {
				return last
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s in %s; last content %q (err %v)", what, path, last, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitPodPhase(t *testing.T, k *Kubectl, pod, phase string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	waitKubectl(t, ctx, k, "pod "+pod+" "+phase, func(out string) bool { return out == phase },
		"get", "pod", pod, "-o", "jsonpath={.status.phase}")
}

// TestVolumeEmptyDirShared: two containers of one pod share an emptyDir;
// what the writer puts there, the reader sees.
func TestVolumeEmptyDirShared(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	out := outDir(t, k)
	k.Apply(t, "create", fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: share}
spec:
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: out, hostPath: {path: %s, type: Directory}}
  containers:
  - name: writer
    image: busybox
    command: [sh, -c, 'echo "hello from $(hostname) writer" > /scratch/msg.tmp && mv /scratch/msg.tmp /scratch/msg; sleep 3600']
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  - name: reader
    image: busybox
    command: [sh, -c, 'until [ -f /data/msg ]; do sleep 0.2; done; cp /data/msg /out/msg.tmp; mv /out/msg.tmp /out/msg; ls -ld /data | cut -c1-10 > /out/mode; sleep 3600']
    volumeMounts:
    - {name: scratch, mountPath: /data}
    - {name: out, mountPath: /out}
`, out))
	waitHostFile(t, filepath.Join(out, "msg"), "the writer's message", 90*time.Second,
		func(s string) bool { return strings.Contains(s, "writer") })
	if mode := waitHostFile(t, filepath.Join(out, "mode"), "the emptyDir mode", 10*time.Second,
		func(s string) bool { return s != "" }); strings.TrimSpace(mode) != "drwxrwxrwx" {
		t.Errorf("emptyDir mode in the container = %q, want drwxrwxrwx", mode)
	}
	// The volume lives in the pod's directory under the agent's data dir.
	uid := k.JSONPath(t, "{.metadata.uid}", "pod", "share")
	volDir := filepath.Join(n.DataDir, "agent", "kubelet", "pods", uid, "volumes", "kubernetes.io~empty-dir", "scratch")
	if b, err := os.ReadFile(filepath.Join(volDir, "msg")); err != nil || !strings.Contains(string(b), "writer") {
		t.Errorf("emptyDir on the host at %s: %q, %v", volDir, b, err)
	}
	k.OK(t, "delete", "pod", "share", "--grace-period=1", "--wait=true", "--timeout=60s")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Dir(filepath.Dir(filepath.Dir(volDir)))); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pod's directory %s is still there after the pod was deleted", filepath.Dir(filepath.Dir(filepath.Dir(volDir))))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestVolumeConfigMapUpdate: a configMap volume's file follows `kubectl
// edit cm`, while an env var taken from the same ConfigMap keeps its
// value.
func TestVolumeConfigMapUpdate(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	out := outDir(t, k)
	k.OK(t, "create", "configmap", "cfg", "--from-literal=key=first", "--from-literal=other=x")
	k.Apply(t, "create", fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: watcher}
spec:
  volumes:
  - {name: cfg, configMap: {name: cfg, items: [{key: key, path: sub/key, mode: 0600}]}}
  - {name: out, hostPath: {path: %s, type: Directory}}
  containers:
  - name: c
    image: busybox
    env:
    - {name: KEY, valueFrom: {configMapKeyRef: {name: cfg, key: key}}}
    command: [sh, -c, 'while true; do cat /etc/cfg/sub/key > /out/key.tmp; mv /out/key.tmp /out/key; echo "$KEY" > /out/env.tmp; mv /out/env.tmp /out/env; ls -lL /etc/cfg/sub/key | cut -c1-10 > /out/mode; sleep 0.5; done']
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: out, mountPath: /out}
`, out))
	waitHostFile(t, filepath.Join(out, "key"), "the first value", 90*time.Second, func(s string) bool { return s == "first" })
	if mode := waitHostFile(t, filepath.Join(out, "mode"), "the item mode", 10*time.Second, func(s string) bool { return s != "" }); strings.TrimSpace(mode) != "-rw-------" {
		t.Errorf("item mode = %q, want -rw-------", mode)
	}
	r := k.RunEnv(t, []string{`E2E_SED=s/^  key: first$/  key: second/`}, "edit", "configmap", "cfg")
	if r.Code != 0 {
		t.Fatalf("kubectl edit: %s", r)
	}
	waitHostFile(t, filepath.Join(out, "key"), "the edited value", 90*time.Second, func(s string) bool { return s == "second" })
	if env, _ := os.ReadFile(filepath.Join(out, "env")); strings.TrimSpace(string(env)) != "first" {
		t.Errorf("env KEY = %q after the edit, want the value at start (first)", env)
	}
	// Refreshing the files did not restart the container.
	if got := k.JSONPath(t, "{.status.containerStatuses[0].restartCount}", "pod", "watcher"); got != "0" {
		t.Errorf("restartCount = %s, want 0", got)
	}
}

// TestVolumeSecretOnTmpfs: a secret volume is a tmpfs in the container,
// read-only, with the secret's files; an emptyDir of medium Memory is a
// tmpfs of its sizeLimit.
func TestVolumeSecretOnTmpfs(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	out := outDir(t, k)
	k.OK(t, "create", "secret", "generic", "creds", "--from-literal=password=hunter2")
	k.Apply(t, "create", fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: secret}
spec:
  volumes:
  - {name: creds, secret: {secretName: creds, defaultMode: 0400}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
  - {name: out, hostPath: {path: %s, type: Directory}}
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'grep -E " /etc/secret | /mem " /proc/mounts > /out/mounts.tmp; cat /etc/secret/password > /out/pw; ls -lL /etc/secret/password | cut -c1-10 > /out/mode; touch /etc/secret/x 2> /out/rw || true; mv /out/mounts.tmp /out/mounts; sleep 3600']
    volumeMounts:
    - {name: creds, mountPath: /etc/secret}
    - {name: mem, mountPath: /mem}
    - {name: out, mountPath: /out}
`, out))
	mounts := waitHostFile(t, filepath.Join(out, "mounts"), "the mount table", 90*time.Second, func(s string) bool { return s != "" })
	var secretLine, memLine string
	for _, l := range strings.Split(mounts, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		switch f[1] {
		case "/etc/secret":
			secretLine = l
		case "/mem":
			memLine = l
		}
	}
	if f := strings.Fields(secretLine); len(f) < 4 || f[2] != "tmpfs" || !strings.HasPrefix(f[3], "ro") {
		t.Errorf("/etc/secret mount = %q, want a read-only tmpfs", secretLine)
	}
	if f := strings.Fields(memLine); len(f) < 4 || f[2] != "tmpfs" || !strings.Contains(f[3], "size=16384k") {
		t.Errorf("/mem mount = %q, want a tmpfs of size=16384k", memLine)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "pw")); string(b) != "hunter2" {
		t.Errorf("password = %q, want hunter2", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "mode")); strings.TrimSpace(string(b)) != "-r--------" {
		t.Errorf("password mode = %q, want -r--------", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "rw")); !strings.Contains(string(b), "Read-only file system") {
		t.Errorf("writing into the secret volume: %q, want Read-only file system", b)
	}
}

// TestVolumeHostPathTypes: every hostPath type accepts what it names
// (creating what ...OrCreate asks for), and a mismatch keeps the pod in
// ContainerCreating with upstream's FailedMount event.
func TestVolumeHostPathTypes(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	out := outDir(t, k)
	base := outDir(t, k)
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(base, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	newDir := filepath.Join(base, "made", "dir")
	newFile := filepath.Join(base, "newfile")
	block := ""
	if m, _ := filepath.Glob("/dev/loop*"); len(m) > 0 {
		for _, p := range m {
			if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
				block = p
				break
			}
		}
	}
	blockVol, blockMount, blockTest := "", "", ""
	if block != "" {
		blockVol = fmt.Sprintf("  - {name: b, hostPath: {path: %s, type: BlockDevice}}\n", block)
		blockMount = "    - {name: b, mountPath: /hp/b}\n"
		blockTest = " && test -b /hp/b"
	} else {
		t.Log("no block device on this machine: BlockDevice is checked only negatively")
	}
	k.Apply(t, "create", fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: hostpaths}
spec:
  restartPolicy: Never
  volumes:
  - {name: out, hostPath: {path: %[1]s, type: Directory}}
  - {name: d, hostPath: {path: %[2]s, type: Directory}}
  - {name: dc, hostPath: {path: %[3]s, type: DirectoryOrCreate}}
  - {name: f, hostPath: {path: %[4]s, type: File}}
  - {name: fc, hostPath: {path: %[5]s, type: FileOrCreate}}
  - {name: s, hostPath: {path: %[6]s, type: Socket}}
  - {name: c, hostPath: {path: /dev/null, type: CharDevice}}
  - {name: u, hostPath: {path: %[2]s}}
%[7]s  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'test -d /hp/d && test -d /hp/dc && test -f /hp/f && test "$(cat /hp/f)" = data && test -f /hp/fc && test -S /hp/s && test -c /hp/c && test -d /hp/u%[9]s && echo ok > /out/result']
    volumeMounts:
    - {name: out, mountPath: /out}
    - {name: d, mountPath: /hp/d}
    - {name: dc, mountPath: /hp/dc}
    - {name: f, mountPath: /hp/f}
    - {name: fc, mountPath: /hp/fc}
    - {name: s, mountPath: /hp/s}
    - {name: c, mountPath: /hp/c}
    - {name: u, mountPath: /hp/u}
%[8]s`, out, base, newDir, file, newFile, sock, blockVol, blockMount, blockTest))
	waitPodPhase(t, k, "hostpaths", "Succeeded")
	if b, _ := os.ReadFile(filepath.Join(out, "result")); strings.TrimSpace(string(b)) != "ok" {
		t.Errorf("in-container checks wrote %q, want ok", b)
	}
	if fi, err := os.Stat(newDir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Errorf("DirectoryOrCreate: %v (%v), want a 0755 directory", fi, err)
	}
	if fi, err := os.Stat(newFile); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("FileOrCreate: %v (%v), want a 0644 file", fi, err)
	}

	// Mismatches: each pod stays ContainerCreating with a FailedMount
	// event naming the check that failed.
	missing := filepath.Join(base, "missing")
	cases := []struct{ name, path, typ, want string }{
		{"bad-dir", missing, "Directory", "hostPath type check failed: " + missing + " is not a directory"},
		{"bad-file", base, "File", "hostPath type check failed: " + base + " is not a file"},
		{"bad-socket", file, "Socket", "hostPath type check failed: " + file + " is not a socket file"},
		{"bad-char", file, "CharDevice", "hostPath type check failed: " + file + " is not a character device"},
		{"bad-block", "/dev/null", "BlockDevice", "hostPath type check failed: /dev/null is not a block device"},
		{"bad-fileorcreate", base, "FileOrCreate", "hostPath type check failed: " + base + " is not a file"},
	}
	for _, tc := range cases {
		k.Apply(t, "create", fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  volumes: [{name: v, hostPath: {path: %s, type: %s}}]
  containers: [{name: c, image: busybox, command: [sleep, "3600"], volumeMounts: [{name: v, mountPath: /v}]}]
`, tc.name, tc.path, tc.typ))
	}
	for _, tc := range cases {
		want := `MountVolume.SetUp failed for volume "v" : ` + tc.want
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		waitKubectl(t, ctx, k, "FailedMount event of "+tc.name, func(out string) bool { return strings.Contains(out, want) },
			"get", "events", "--field-selector", "reason=FailedMount,involvedObject.name="+tc.name, "-o", "jsonpath={.items[*].message}")
		cancel()
		if got := k.JSONPath(t, "{.status.phase}/{.status.containerStatuses[0].state.waiting.reason}", "pod", tc.name); got != "Pending/ContainerCreating" {
			t.Errorf("%s: phase/waiting = %q, want Pending/ContainerCreating", tc.name, got)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("type Directory created %s", missing)
	}
}

// TestVolumePersistentVolumeClaim: a claim of the local-path class is
// provisioned on the node and bound; what one pod writes to it, a later
// pod reads, and the data is in the volume's directory on the host.
func TestVolumePersistentVolumeClaim(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.Apply(t, "create", `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  restartPolicy: Never
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'mkdir -p /data/sub && echo persisted > /data/sub/file']
    volumeMounts: [{name: data, mountPath: /data}]
`)
	waitPodPhase(t, k, "writer", "Succeeded")
	pv := k.JSONPath(t, "{.spec.volumeName}", "pvc", "data")
	path := k.JSONPath(t, "{.spec.local.path}{.spec.hostPath.path}", "pv", pv)
	if b, err := os.ReadFile(filepath.Join(path, "sub", "file")); err != nil || strings.TrimSpace(string(b)) != "persisted" {
		t.Errorf("the volume's directory %s holds %q (%v), want persisted", path, b, err)
	}
	// A second pod mounts a subPath of the claim, read-only.
	k.Apply(t, "create", `
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'test "$(cat /in/file)" = persisted && ! touch /in/new 2>/dev/null']
    volumeMounts: [{name: data, mountPath: /in, subPath: sub, readOnly: true}]
`)
	waitPodPhase(t, k, "reader", "Succeeded")
}

// TestVolumeDownwardAPIAndProjected: a downwardAPI volume holds the pod's
// labels and follows `kubectl label`; a projected volume joins a
// ConfigMap, a Secret and downward API fields in one directory.
func TestVolumeDownwardAPIAndProjected(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	out := outDir(t, k)
	k.OK(t, "create", "configmap", "cfg", "--from-literal=color=blue")
	k.OK(t, "create", "secret", "generic", "sec", "--from-literal=token=s3cret")
	k.Apply(t, "create", fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata:
  name: downward
  labels: {app: downward, tier: back}
spec:
  volumes:
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: mem, resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}
  - name: all
    projected:
      sources:
      - configMap: {name: cfg, items: [{key: color, path: cfg/color}]}
      - secret: {name: sec}
      - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
  - {name: out, hostPath: {path: %s, type: Directory}}
  containers:
  - name: c
    image: busybox
    resources: {limits: {memory: 48Mi}}
    command: [sh, -c, 'while true; do cp /info/labels /out/labels.tmp; mv /out/labels.tmp /out/labels; cat /info/name /info/mem /all/cfg/color /all/token /all/ns > /out/rest.tmp; echo >> /out/rest.tmp; mv /out/rest.tmp /out/rest; sleep 0.5; done']
    volumeMounts:
    - {name: info, mountPath: /info}
    - {name: all, mountPath: /all}
    - {name: out, mountPath: /out}
`, out))
	waitHostFile(t, filepath.Join(out, "labels"), "the labels", 90*time.Second,
		func(s string) bool { return s == "app=\"downward\"\ntier=\"back\"" })
	// The loop writes labels before rest: wait for rest as well.
	waitHostFile(t, filepath.Join(out, "rest"), "the name, memory limit, color, token and namespace", 90*time.Second,
		func(s string) bool { return s == "downward48blues3cret"+k.Namespace+"\n" })
	k.OK(t, "label", "pod", "downward", "tier=front", "--overwrite")
	waitHostFile(t, filepath.Join(out, "labels"), "the new labels", 90*time.Second,
		func(s string) bool { return s == "app=\"downward\"\ntier=\"front\"" })
}

// TestVolumeFSGroup: with spec.securityContext.fsGroup the container's
// processes are in that group, and the emptyDir, configMap and secret
// volumes belong to it (directories setgid, files group-readable).
func TestVolumeFSGroup(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	out := outDir(t, k)
	k.OK(t, "create", "secret", "generic", "key", "--from-literal=tls.key=private")
	k.Apply(t, "create", fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: fsgroup}
spec:
  restartPolicy: Never
  securityContext: {fsGroup: 2345}
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: key, secret: {secretName: key, defaultMode: 0400}}
  - {name: out, hostPath: {path: %s, type: Directory}}
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'id -G > /out/groups; touch /scratch/new; stat -L -c "%%g %%a" /scratch /scratch/new /key/tls.key > /out/stat']
    volumeMounts:
    - {name: scratch, mountPath: /scratch}
    - {name: key, mountPath: /key}
    - {name: out, mountPath: /out}
`, out))
	waitPodPhase(t, k, "fsgroup", "Succeeded")
	if b, _ := os.ReadFile(filepath.Join(out, "groups")); !strings.Contains(" "+strings.TrimSpace(string(b))+" ", " 2345 ") {
		t.Errorf("id -G = %q, want it to hold 2345", b)
	}
	want := "2345 2777\n2345 644\n2345 440\n"
	if b, _ := os.ReadFile(filepath.Join(out, "stat")); string(b) != want {
		t.Errorf("group and mode of /scratch, a new file in it and the secret file = %q, want %q", b, want)
	}
}
