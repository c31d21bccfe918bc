package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/kubelet/qos"
)

// Class names the QoS tier directories under kubepods (Guaranteed pods sit
// in kubepods itself).
const (
	burstableDir  = "burstable"
	bestEffortDir = "besteffort"
)

// mount is one mounted cgroup hierarchy.
type mount struct {
	// dir is the mount point.
	dir string
	// v2 reports whether it is the unified (cgroup2) hierarchy.
	v2 bool
	// controllers are the v1 controllers bound to it (nil for v2).
	controllers []string
}

// Manager creates, configures and removes the cgroups of one node's pods.
type Manager struct {
	// root is the node's cgroup, e.g. /skiff-node1.
	root string
	// mounts are every cgroup hierarchy of the machine; v2 reports
	// whether the machine runs cgroup v2 only (the unified hierarchy has
	// the controllers).
	mounts []mount
	v2     bool

	mu sync.Mutex // serializes writes to shared parents (subtree_control)
}

// RootName returns the node's cgroup name for nodeName.
func RootName(nodeName string) string { return "/skiff-" + nodeName }

// New returns the Manager of nodeName's cgroups on this machine's cgroup
// mounts (read from /proc/self/mountinfo).
func New(nodeName string) (*Manager, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	defer f.Close()
	mounts, err := parseMountInfo(f)
	if err != nil {
		return nil, err
	}
	return newManager(RootName(nodeName), mounts)
}

func newManager(root string, mounts []mount) (*Manager, error) {
	m := &Manager{root: root, mounts: mounts}
	v1 := false
	for _, mt := range mounts {
		if !mt.v2 && (slices.Contains(mt.controllers, "memory") || slices.Contains(mt.controllers, "cpu")) {
			v1 = true
		}
	}
	if !v1 {
		if m.unified() == "" {
			return nil, errors.New("cgroups: no cgroup hierarchy with the cpu and memory controllers is mounted")
		}
		m.v2 = true
	}
	return m, nil
}

// parseMountInfo returns the cgroup mounts of a mountinfo table.
func parseMountInfo(r interface{ Read([]byte) (int, error) }) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		switch qf[0] {
		case "cgroup2":
			out = append(out, mount{dir: pf[4], v2: true})
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(qf[2], ",") {
				switch o {
				case "rw", "ro", "relatime", "noexec", "nosuid", "nodev", "clone_children":
				default:
					ctrls = append(ctrls, o)
				}
			}
			out = append(out, mount{dir: pf[4], controllers: ctrls})
		}
	}
	return out, sc.Err()
}

func (m *Manager) unified() string {
	for _, mt := range m.mounts {
		if mt.v2 {
			return mt.dir
		}
	}
	return ""
}

// v1Dir returns the mount point of v1 controller c ("" when absent).
func (m *Manager) v1Dir(c string) string {
	for _, mt := range m.mounts {
		if !mt.v2 && slices.Contains(mt.controllers, c) {
			return mt.dir
		}
	}
	return ""
}

// Root returns the node's cgroup name (e.g. /skiff-node1).
func (m *Manager) Root() string { return m.root }

// PodName returns the cgroup name of a pod of class with uid, for the
// sandbox's CgroupParent.
func (m *Manager) PodName(class string, uid types.UID) string {
	return filepath.Join(m.classDir(class), "pod"+string(uid))
}

func (m *Manager) classDir(class string) string {
	switch class {
	case "Burstable":
		return filepath.Join(m.root, "kubepods", burstableDir)
	case "BestEffort":
		return filepath.Join(m.root, "kubepods", bestEffortDir)
	}
	return filepath.Join(m.root, "kubepods")
}

// Init creates the node's kubepods hierarchy, limited to allocatable
// (memory 0: unlimited), and its QoS tiers.
func (m *Manager) Init(allocatable qos.Limits) error {
	kubepods := filepath.Join(m.root, "kubepods")
	if err := m.ensure(kubepods, allocatable); err != nil {
		return err
	}
	if err := m.ensure(filepath.Join(kubepods, burstableDir), qos.Limits{CPUShares: qos.MinShares}); err != nil {
		return err
	}
	return m.ensure(filepath.Join(kubepods, bestEffortDir), qos.Limits{CPUShares: qos.MinShares})
}

// SetBurstableShares sets the burstable tier's cpu shares from the summed
// cpu requests of the node's Burstable pods, as upstream does, so the
// tier competes with Guaranteed pods by what it asked for.
func (m *Manager) SetBurstableShares(milliCPU int64) error {
	return m.ensure(filepath.Join(m.root, "kubepods", burstableDir), qos.Limits{CPUShares: qos.MilliCPUToShares(milliCPU)})
}

// EnsurePod creates the cgroup of a pod of class with uid (when missing)
// and sets its limits, and returns its name.
func (m *Manager) EnsurePod(class string, uid types.UID, l qos.Limits) (string, error) {
	name := m.PodName(class, uid)
	return name, m.ensure(name, l)
}

// ensure creates cgroup name in the hierarchies whose controllers the
// node sets and writes l to it.
func (m *Manager) ensure(name string, l qos.Limits) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.v2 {
		return m.ensureV2(name, l)
	}
	files := map[string][][2]string{
		"cpu":    {{"cpu.shares", strconv.FormatInt(l.CPUShares, 10)}},
		"memory": {{"memory.limit_in_bytes", "-1"}},
	}
	// The period goes first: the kernel checks the quota against it.
	if l.CPUQuota > 0 {
		files["cpu"] = append(files["cpu"], [2]string{"cpu.cfs_period_us", strconv.FormatInt(l.CPUPeriod, 10)},
			[2]string{"cpu.cfs_quota_us", strconv.FormatInt(l.CPUQuota, 10)})
	} else {
		files["cpu"] = append(files["cpu"], [2]string{"cpu.cfs_quota_us", "-1"})
	}
	if l.MemoryBytes > 0 {
		files["memory"] = [][2]string{{"memory.limit_in_bytes", strconv.FormatInt(l.MemoryBytes, 10)}}
	}
	for _, c := range []string{"cpu", "memory", "pids"} {
		mnt := m.v1Dir(c)
		if mnt == "" {
			continue
		}
		dir := filepath.Join(mnt, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cgroups: %w", err)
		}
		for _, f := range files[c] {
			if err := write(dir, f[0], f[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) ensureV2(name string, l qos.Limits) error {
	mnt := m.unified()
	// Every ancestor must delegate the controllers to its children.
	parts := strings.Split(strings.Trim(name, "/"), "/")
	dir := mnt
	for _, p := range parts {
		if err := write(dir, "cgroup.subtree_control", "+cpu +memory +pids"); err != nil {
			return err
		}
		dir = filepath.Join(dir, p)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cgroups: %w", err)
		}
	}
	cpuMax := "max " + strconv.FormatInt(qos.QuotaPeriod, 10)
	if l.CPUQuota > 0 {
		cpuMax = strconv.FormatInt(l.CPUQuota, 10) + " " + strconv.FormatInt(l.CPUPeriod, 10)
	}
	mem := "max"
	if l.MemoryBytes > 0 {
		mem = strconv.FormatInt(l.MemoryBytes, 10)
	}
	for _, f := range [][2]string{
		{"cpu.weight", strconv.FormatInt(qos.SharesToWeight(l.CPUShares), 10)},
		{"cpu.max", cpuMax},
		{"memory.max", mem},
	} {
		if err := write(dir, f[0], f[1]); err != nil {
			return err
		}
	}
	return nil
}

func write(dir, file, value string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		return fmt.Errorf("cgroups: write %q to %s: %w", value, filepath.Join(dir, file), err)
	}
	return nil
}

// Pods returns the uids of the pods that have a cgroup on the node.
func (m *Manager) Pods() []types.UID {
	var out []types.UID
	seen := map[types.UID]bool{}
	for _, mt := range m.mounts {
		for _, class := range []string{"Guaranteed", "Burstable", "BestEffort"} {
			ents, _ := os.ReadDir(filepath.Join(mt.dir, m.classDir(class))) // absent: no pods there
			for _, e := range ents {
				if uid, ok := strings.CutPrefix(e.Name(), "pod"); ok && e.IsDir() && !seen[types.UID(uid)] {
					seen[types.UID(uid)] = true
					out = append(out, types.UID(uid))
				}
			}
		}
	}
	return out
}

// RemovePod removes the cgroup of the pod with uid, whatever its class,
// from every hierarchy. It fails while processes remain in it.
func (m *Manager) RemovePod(uid types.UID) error {
	var errs []error
	for _, class := range []string{"Guaranteed", "Burstable", "BestEffort"} {
		errs = append(errs, m.removeTree(m.PodName(class, uid)))
	}
	return errors.Join(errs...)
}

// RemoveAll removes the node's whole cgroup tree from every hierarchy
// (after its containers are gone: at node teardown).
func (m *Manager) RemoveAll() error { return m.removeTree(m.root) }

// RemoveNode removes nodeName's cgroup tree from this machine's
// hierarchies; tests call it after tearing a node down.
func RemoveNode(nodeName string) error {
	m, err := New(nodeName)
	if err != nil {
		return err
	}
	return m.RemoveAll()
}

// removeTree removes cgroup name and its descendants, deepest first, in
// every hierarchy (the runtime creates the containers' cgroups in all of
// them).
func (m *Manager) removeTree(name string) error {
	var errs []error
	for _, mt := range m.mounts {
		top := filepath.Join(mt.dir, name)
		var dirs []string
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, d := range slices.Backward(dirs) {
			if err := removeDir(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// removeDir removes an empty cgroup. The kernel's cgroup directories hold
// only control files, which rmdir removes with them; a plain directory
// (tests) must be emptied first.
func removeDir(dir string) error {
	err := os.Remove(dir)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if ents, rerr := os.ReadDir(dir); rerr == nil && isPlainDir(dir) {
		for _, e := range ents {
			if !e.IsDir() {
				_ = os.Remove(filepath.Join(dir, e.Name())) // the final Remove reports failures
			}
		}
		err = os.Remove(dir)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cgroups: remove %s: %w", dir, err)
	}
	return nil
}

// isPlainDir reports whether dir is not on a cgroup filesystem.
func isPlainDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "cgroup.procs"))
	return err != nil
}
