package cgroups

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiff/skiff/internal/kubelet/qos"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseMountInfo(t *testing.T) {
	const info = `25 30 0:22 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755
26 25 0:23 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:24 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
28 25 0:25 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
29 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
`
	ms, err := parseMountInfo(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 || ms[0].dir != "/sys/fs/cgroup/cpu" || !slices.Equal(ms[0].controllers, []string{"cpu"}) || !ms[3].v2 {
		t.Fatalf("mounts %+v", ms)
	}
	m, err := newManager("/skiff-n", ms)
	if err != nil || m.v2 {
		t.Fatalf("hybrid machine: v2=%v err=%v", m != nil && m.v2, err)
	}
	m, err = newManager("/skiff-n", ms[3:])
	if err != nil || !m.v2 {
		t.Fatalf("unified machine: err=%v", err)
	}
}

func TestV1(t *testing.T) {
	root := t.TempDir()
	var ms []mount
	for _, c := range []string{"cpu", "memory", "pids", "cpuset"} {
		ms = append(ms, mount{dir: filepath.Join(root, c), controllers: []string{c}})
	}
	m, err := newManager(RootName("n1"), ms)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Init(qos.Limits{CPUShares: 2048, MemoryBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "memory/skiff-n1/kubepods/memory.limit_in_bytes")); got != "1073741824" {
		t.Errorf("kubepods memory limit %q", got)
	}
	if got := read(t, filepath.Join(root, "cpu/skiff-n1/kubepods/besteffort/cpu.shares")); got != "2" {
		t.Errorf("besteffort shares %q", got)
	}
	name, err := m.EnsurePod("Burstable", "u1", qos.Limits{CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if name != "/skiff-n1/kubepods/burstable/podu1" {
		t.Errorf("pod cgroup %q", name)
	}
	pod := filepath.Join(root, "cpu", name)
	for file, want := range map[string]string{"cpu.shares": "512", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"} {
		if got := read(t, filepath.Join(pod, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if got := read(t, filepath.Join(root, "memory", name, "memory.limit_in_bytes")); got != "67108864" {
		t.Errorf("pod memory limit %q", got)
	}
	if _, err := m.EnsurePod("Guaranteed", "u2", qos.Limits{CPUShares: 2}); err != nil {
		t.Fatal(err)
	}
	// The runtime makes the container's cgroups, in every hierarchy.
	if err := os.MkdirAll(filepath.Join(root, "cpuset", name, "ctr"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := m.Pods()
	slices.Sort(got)
	if len(got) != 2 || got[0] != "u1" || got[1] != "u2" {
		t.Errorf("Pods() = %v", got)
	}
	if err := m.RemovePod("u1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"cpu", "memory", "cpuset"} {
		if _, err := os.Stat(filepath.Join(root, c, name)); !os.IsNotExist(err) {
			t.Errorf("%s pod cgroup left: %v", c, err)
		}
	}
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"cpu", "memory", "pids", "cpuset"} {
		if _, err := os.Stat(filepath.Join(root, c, "skiff-n1")); !os.IsNotExist(err) {
			t.Errorf("%s node cgroup left: %v", c, err)
		}
	}
}

func TestV2(t *testing.T) {
	root := t.TempDir()
	m, err := newManager(RootName("n1"), []mount{{dir: root, v2: true}})
	if err != nil {
		t.Fatal(err)
	}
	name, err := m.EnsurePod("Guaranteed", "u1", qos.Limits{CPUShares: 1024, CPUQuota: 100000, CPUPeriod: 100000, MemoryBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"cpu.weight": "39", "cpu.max": "100000 100000", "memory.max": "1048576"} {
		if got := read(t, filepath.Join(root, name, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if got := read(t, filepath.Join(root, "skiff-n1", "cgroup.subtree_control")); got != "+cpu +memory +pids" {
		t.Errorf("controllers not delegated: %q", got)
	}
	if _, err := m.EnsurePod("BestEffort", "u2", qos.Limits{CPUShares: 2}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "skiff-n1/kubepods/besteffort/podu2/cpu.max")); got != "max 100000" {
		t.Errorf("best effort cpu.max %q", got)
	}
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "skiff-n1")); !os.IsNotExist(err) {
		t.Errorf("node cgroup left: %v", err)
	}
}
