//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff/skiff/images/imagebuild"
	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/containerd"
)

// ownNode starts a `skiff server` with its agent for a node of its own
// (for tests that kill or restart it) and returns the server, the node's
// name and a kubectl in namespace default. Everything is torn down when
// the test ends.
func ownNode(t *testing.T, ctx context.Context, name string) (*Server, string, *Kubectl) {
	t.Helper()
	requireAgentHost(t)
	root := t.TempDir()
	node := fmt.Sprintf("e2e-%s-%d", name, os.Getpid())
	run := filepath.Join("/run/skiff", node)
	s := &Server{DataDir: filepath.Join(root, "data"), logPath: filepath.Join(root, "server.log")}
	s.Kubeconfig = filepath.Join(s.DataDir, "kubeconfig.yaml")
	address := filepath.Join(run, "containerd", "containerd.sock")
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			s.dumpLog(t)
		}
		if err := containerd.Teardown(address, s.DataDir, run); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if err := agent.TeardownNetwork(node, run); err != nil {
			t.Errorf("network teardown: %v", err)
		}
		if err := removeNodeCgroups(node); err != nil {
			t.Errorf("cgroups: %v", err)
		}
		if err := os.RemoveAll(run); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if _, err := imagebuild.Build(ctx, imagebuild.Config{OutDir: filepath.Join(s.DataDir, "agent", "images")}); err != nil {
		t.Fatal(err)
	}
	s.Port = freePort(t)
	if err := s.startWithAgent(node); err != nil {
		t.Fatal(err)
	}
	k := s.Kubectl(t, "/usr/bin/kubectl")
	waitNodeReady(t, ctx, k, node)
	return s, node, k
}

func waitNodeReady(t *testing.T, ctx context.Context, k *Kubectl, node string) {
	t.Helper()
	waitKubectl(t, ctx, k, "node "+node+" Ready", func(out string) bool { return out == "True" },
		"get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
}

// containerProcess returns the PID and start time (clock ticks after
// boot, /proc/PID/stat field 22) of the oldest process whose cgroup path
// names container id, or 0 when none runs.
func containerProcess(t *testing.T, id string) (pid int, start string) {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		var p int
		if _, err := fmt.Sscanf(e.Name(), "%d", &p); err != nil {
			continue
		}
		cg, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if err != nil || !strings.Contains(string(cg), id) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state is field 3.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 20 {
			continue
		}
		if pid == 0 || p < pid {
			pid, start = p, f[19]
		}
	}
	return pid, start
}

// TestAgentRestartKeepsContainers kills the server (and its agent and
// containerd) with SIGKILL while pods run, deletes one pod while no agent
// runs, and starts the server with its agent again: the running
// container is re-adopted, not restarted (same container ID and process,
// restart count 0), and the deleted pod's containers are stopped.
func TestAgentRestartKeepsContainers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, node, k := ownNode(t, ctx, "restart")
	for _, name := range []string{"keep", "gone"} {
		k.OK(t, "run", name, "--image=busybox", "--", "sleep", "3600")
	}
	for _, name := range []string{"keep", "gone"} {
		waitKubectl(t, ctx, k, "pod "+name+" Running", func(out string) bool { return out == "Running true" },
			"get", "pod", name, "-o", "jsonpath={.status.phase} {.status.containerStatuses[0].ready}")
	}
	cid := func(name string) string {
		return strings.TrimPrefix(k.JSONPath(t, "{.status.containerStatuses[0].containerID}", "pod", name), "containerd://")
	}
	keepID, goneID := cid("keep"), cid("gone")
	keepPID, keepStart := containerProcess(t, keepID)
	gonePID, _ := containerProcess(t, goneID)
	if keepPID == 0 || gonePID == 0 {
		t.Fatalf("container processes not found: keep %d, gone %d", keepPID, gonePID)
	}

	s.Kill(t)
	// The control plane alone, to delete a pod behind the agent's back.
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	k.OK(t, "delete", "pod", "gone", "--force", "--grace-period=0")
	s.Kill(t)
	if pid, _ := containerProcess(t, keepID); pid != keepPID {
		t.Fatalf("container of keep went away with the agent (pid %d, was %d)", pid, keepPID)
	}

	if err := s.startWithAgent(node); err != nil {
		t.Fatal(err)
	}
	waitNodeReady(t, ctx, k, node)
	// The deleted pod's container is stopped once the agent is back.
	for {
		if pid, _ := containerProcess(t, goneID); pid == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("container of the pod deleted while the agent was down still runs")
		case <-time.After(200 * time.Millisecond):
		}
	}
	got := k.JSONPath(t, "{.status.phase} {.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].ready}", "pod", "keep")
	if want := "Running containerd://" + keepID + " 0 true"; got != want {
		t.Errorf("keep after restart: %q, want %q", got, want)
	}
	if pid, start := containerProcess(t, keepID); pid != keepPID || start != keepStart {
		t.Errorf("keep's process changed: pid %d start %s, was pid %d start %s", pid, start, keepPID, keepStart)
	}
	// The agent goes on managing the re-adopted pod.
	k.OK(t, "delete", "pod", "keep", "--grace-period=1", "--wait=false")
	waitKubectl(t, ctx, k, "pod keep gone", func(out string) bool { return strings.TrimSpace(out) == "" },
		"get", "pods", "-o", "name")
}

// TestStaticPod writes a manifest into the agent's pod-manifests
// directory: the pod runs and its mirror pod appears in the API; deleting
// the mirror recreates it without restarting the container; removing the
// file stops the pod and deletes the mirror.
func TestStaticPod(t *testing.T) {
	n := sharedNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	k := n.Kubectl
	base := fmt.Sprintf("static-%d", os.Getpid())
	manifest := filepath.Join(n.DataDir, "agent", "pod-manifests", base+".yaml")
	t.Cleanup(func() { _ = os.Remove(manifest) })
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
`, base, k.Namespace)), 0o644); err != nil {
		t.Fatal(err)
	}
	mirror := base + "-" + n.Node
	waitKubectl(t, ctx, k, "mirror pod Running", func(out string) bool { return out == "Running true" },
		"get", "pod", mirror, "-o", "jsonpath={.status.phase} {.status.containerStatuses[0].ready}")
	meta := k.JSONPath(t, `{.metadata.annotations.kubernetes\.io/config\.source} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}`, "pod", mirror)
	if meta != "file Node/"+n.Node {
		t.Errorf("mirror source and owner %q", meta)
	}
	hash := k.JSONPath(t, `{.metadata.annotations.kubernetes\.io/config\.mirror}`, "pod", mirror)
	if hash == "" || hash != k.JSONPath(t, `{.metadata.annotations.kubernetes\.io/config\.hash}`, "pod", mirror) {
		t.Errorf("config.mirror %q does not match config.hash", hash)
	}
	cid := k.JSONPath(t, "{.status.containerStatuses[0].containerID}", "pod", mirror)
	oldUID := k.JSONPath(t, "{.metadata.uid}", "pod", mirror)

	k.OK(t, "delete", "pod", mirror, "--wait=false")
	waitKubectl(t, ctx, k, "mirror pod recreated", func(out string) bool {
		f := strings.Fields(out)
		return len(f) == 2 && f[0] != oldUID && f[1] == cid
	}, "get", "pod", mirror, "-o", "jsonpath={.metadata.uid} {.status.containerStatuses[0].containerID}")

	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	waitKubectl(t, ctx, k, "mirror pod deleted", func(out string) bool { return strings.TrimSpace(out) == "" },
		"get", "pods", "-o", "name")
	id := strings.TrimPrefix(cid, "containerd://")
	for {
		if pid, _ := containerProcess(t, id); pid == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("static pod's container still runs after its manifest was removed")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
