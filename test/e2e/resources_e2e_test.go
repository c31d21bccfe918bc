//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiff/skiff/internal/kubelet/cgroups"
)

// removeNodeCgroups removes node's cgroup tree once the processes of its
// killed containers are gone (they leave their cgroups a moment after
// SIGKILL).
func removeNodeCgroups(node string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := cgroups.RemoveNode(node)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond) // polling the kernel, not the code under test
	}
}

// cgroupFile returns the path of a cgroup's memory limit file on this
// machine: memory.limit_in_bytes on cgroup v1, memory.max on v2.
func cgroupMemoryFile(t *testing.T, name string) string {
	t.Helper()
	v1 := filepath.Join("/sys/fs/cgroup/memory", name, "memory.limit_in_bytes")
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err == nil {
		return v1
	}
	return filepath.Join("/sys/fs/cgroup", name, "memory.max")
}

func readCgroup(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return strings.TrimSpace(string(b))
}

// TestGuaranteedPodCgroup runs a Guaranteed pod and reads, from the host,
// the memory and cpu limits of its pod cgroup and of its container's
// cgroup below it.
func TestGuaranteedPodCgroup(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: guaranteed
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    resources:
      limits: {cpu: 250m, memory: 64Mi}
`)
	waitKubectl(t, ctx, k, "pod guaranteed Running", func(out string) bool { return out == "Running" },
		"get", "pod", "guaranteed", "-o", "jsonpath={.status.phase}")
	if qos := k.JSONPath(t, "{.status.qosClass}", "pod", "guaranteed"); qos != "Guaranteed" {
		t.Errorf("qosClass %q", qos)
	}
	uid := k.JSONPath(t, "{.metadata.uid}", "pod", "guaranteed")
	cid := strings.TrimPrefix(k.JSONPath(t, "{.status.containerStatuses[0].containerID}", "pod", "guaranteed"), "containerd://")
	pod := cgroups.RootName(n.Node) + "/kubepods/pod" + uid
	if got := readCgroup(t, cgroupMemoryFile(t, pod)); got != "67108864" {
		t.Errorf("pod cgroup memory limit %s, want 67108864", got)
	}
	if got := readCgroup(t, cgroupMemoryFile(t, pod+"/"+cid)); got != "67108864" {
		t.Errorf("container cgroup memory limit %s, want 67108864", got)
	}
	if _, err := os.Stat("/sys/fs/cgroup/cpu"); err == nil {
		if got := readCgroup(t, filepath.Join("/sys/fs/cgroup/cpu", pod, cid, "cpu.cfs_quota_us")); got != "25000" {
			t.Errorf("container cpu quota %s, want 25000", got)
		}
		if got := readCgroup(t, filepath.Join("/sys/fs/cgroup/cpu", pod, "cpu.shares")); got != "256" {
			t.Errorf("pod cpu shares %s, want 256", got)
		}
	}

	k.OK(t, "delete", "pod", "guaranteed", "--grace-period=1", "--wait=false")
	waitKubectl(t, ctx, k, "pod guaranteed gone", func(out string) bool { return strings.TrimSpace(out) == "" },
		"get", "pods", "-o", "name")
	// The kubelet removes the pod's cgroup with its sandbox.
	for {
		_, err := os.Stat(filepath.Dir(cgroupMemoryFile(t, pod)))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pod cgroup %s left after the pod was deleted (%v)", pod, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestOOMKilled runs a container that allocates past its 50Mi memory
// limit: the kernel kills it, and its status says OOMKilled.
func TestOOMKilled(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: hog
spec:
  containers:
  - name: hog
    image: busybox
    command: ["sh", "-c", "x=$(head -c 209715200 /dev/zero | tr '\\0' x); echo survived; sleep 3600"]
    resources:
      limits: {memory: 50Mi}
`)
	waitKubectl(t, ctx, k, "hog OOM-killed", func(out string) bool { return strings.HasPrefix(out, "OOMKilled 137") },
		"get", "pod", "hog", "-o", "jsonpath={.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}")
	if qos := k.JSONPath(t, "{.status.qosClass}", "pod", "hog"); qos != "Burstable" {
		t.Errorf("qosClass %q", qos)
	}
}

// TestNodeStatusExtras reads the shared node's status: allocatable is
// capacity less upstream's hard eviction thresholds (memory.available
// 100Mi), the pressure conditions come from the machine, nodeInfo is
// complete, and the imported images are listed with their names.
func TestNodeStatusExtras(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	capMem, err := resource.ParseQuantity(k.JSONPath(t, "{.status.capacity.memory}", "node", n.Node))
	if err != nil {
		t.Fatal(err)
	}
	allocMem, err := resource.ParseQuantity(k.JSONPath(t, "{.status.allocatable.memory}", "node", n.Node))
	if err != nil {
		t.Fatal(err)
	}
	if d := capMem.Value() - allocMem.Value(); d != 100<<20 {
		t.Errorf("capacity - allocatable memory = %d, want 100Mi", d)
	}
	conds := k.JSONPath(t, `{range .status.conditions[*]}{.type}={.status}/{.reason} {end}`, "node", n.Node)
	for _, want := range []string{"MemoryPressure=False/KubeletHasSufficientMemory", "DiskPressure=False/KubeletHasNoDiskPressure", "PIDPressure=False/KubeletHasSufficientPID", "Ready=True/KubeletReady"} {
		if !strings.Contains(conds, want) {
			t.Errorf("conditions %q lack %s", conds, want)
		}
	}
	info := k.JSONPath(t, `{.status.nodeInfo.kernelVersion}|{.status.nodeInfo.osImage}|{.status.nodeInfo.operatingSystem}|{.status.nodeInfo.architecture}|{.status.nodeInfo.machineID}|{.status.nodeInfo.bootID}`, "node", n.Node)
	for i, f := range strings.Split(info, "|") {
		if f == "" {
			t.Errorf("nodeInfo field %d empty: %q", i, info)
		}
	}
	images := k.JSONPath(t, `{range .status.images[*]}{.names}{.sizeBytes}{"\n"}{end}`, "node", n.Node)
	if !strings.Contains(images, "docker.io/library/busybox:latest") {
		t.Errorf("node images lack busybox:\n%s", images)
	}
}
