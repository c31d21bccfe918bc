package kubelet

import (
	"cmp"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Upstream's default hard eviction thresholds, which allocatable leaves
// out and the pressure conditions watch.
const (
	// evictionMemoryAvailable is memory.available<100Mi.
	evictionMemoryAvailable = 100 << 20
	// evictionNodefsPercent is nodefs.available<10%.
	evictionNodefsPercent = 10
	// pidPressurePercent: PIDPressure when fewer than this share of
	// pid_max is free (upstream has no default pid threshold; the node
	// reports pressure before fork starts failing).
	pidPressurePercent = 5
)

// Node status limits of upstream's kubelet.
const (
	maxImagesInNodeStatus = 50
	maxNamesPerImage      = 5
)

// capacityOf returns the node's capacity.
func capacityOf(cfg Config) corev1.ResourceList {
	h := cfg.Host
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(h.CPUs, resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(h.MemoryBytes, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(h.EphemeralStorageBytes, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(cfg.MaxPods, resource.DecimalSI),
	}
}

func (k *Kubelet) capacity() corev1.ResourceList { return capacityOf(k.cfg) }

// sumResources adds resource lists.
func sumResources(lists ...corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, l := range lists {
		for name, q := range l {
			cur := out[name]
			cur.Add(q)
			out[name] = cur
		}
	}
	return out
}

// allocatable returns capacity minus the system and kube reservations and
// the hard eviction thresholds (memory and node filesystem), never below
// zero, as upstream computes it.
func allocatable(capacity corev1.ResourceList, reserved ...corev1.ResourceList) corev1.ResourceList {
	minus := sumResources(reserved...)
	add := func(name corev1.ResourceName, q resource.Quantity) {
		cur := minus[name]
		cur.Add(q)
		minus[name] = cur
	}
	add(corev1.ResourceMemory, *resource.NewQuantity(evictionMemoryAvailable, resource.BinarySI))
	if fs, ok := capacity[corev1.ResourceEphemeralStorage]; ok {
		add(corev1.ResourceEphemeralStorage, *resource.NewQuantity(fs.Value()*evictionNodefsPercent/100, resource.BinarySI))
	}
	out := capacity.DeepCopy()
	for name, q := range out {
		m, ok := minus[name]
		if !ok {
			continue
		}
		q.Sub(m)
		if q.Sign() < 0 {
			q = *resource.NewQuantity(0, q.Format)
		}
		out[name] = q
	}
	return out
}

// machinePressure is the free memory, disk and PIDs of the machine. A
// zero total means unknown (no pressure reported).
type machinePressure struct {
	memAvailable             int64
	diskAvailable, diskTotal int64
	pidsAvailable, pidsTotal int64
}

// pressureConditions returns the MemoryPressure, DiskPressure and
// PIDPressure conditions (without times) for p.
func pressureConditions(p machinePressure) []corev1.NodeCondition {
	mem := corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"}
	if p.memAvailable > 0 && p.memAvailable < evictionMemoryAvailable {
		mem = corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasInsufficientMemory", Message: "kubelet has insufficient memory available"}
	}
	disk := corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"}
	if p.diskTotal > 0 && p.diskAvailable*100 < p.diskTotal*evictionNodefsPercent {
		disk = corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasDiskPressure", Message: "kubelet has disk pressure"}
	}
	pid := corev1.NodeCondition{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"}
	if p.pidsTotal > 0 && p.pidsAvailable*100 < p.pidsTotal*pidPressurePercent {
		pid = corev1.NodeCondition{Type: corev1.NodePIDPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasInsufficientPID", Message: "kubelet has insufficient PID available"}
	}
	return []corev1.NodeCondition{mem, disk, pid}
}

// readPressure reads the machine's free memory (MemAvailable), the free
// space of the filesystem holding the pods' logs, and the free PIDs.
// What cannot be read stays zero (unknown).
func (k *Kubelet) readPressure() machinePressure {
	var p machinePressure
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				p.memAvailable = kb * 1024
			}
		}
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(k.cfg.LogDir, &fs); err == nil {
		p.diskAvailable, p.diskTotal = int64(fs.Bavail)*fs.Bsize, int64(fs.Blocks)*fs.Bsize
	}
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		p.pidsTotal, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			p.pidsAvailable = p.pidsTotal - int64(si.Procs)
		}
	}
	return p
}

// nodeImages returns the node status images of a CRI image list: the
// largest 50, each named by its digests then its tags (at most 5 names).
func nodeImages(list []*runtimeapi.Image) []corev1.ContainerImage {
	list = slices.Clone(list)
	slices.SortStableFunc(list, func(a, b *runtimeapi.Image) int { return cmp.Compare(b.Size, a.Size) })
	out := make([]corev1.ContainerImage, 0, min(len(list), maxImagesInNodeStatus))
	for _, img := range list {
		if len(out) == maxImagesInNodeStatus {
			break
		}
		names := append(slices.Clone(img.RepoDigests), img.RepoTags...)
		if len(names) == 0 {
			continue // an image nobody can name is of no use to the scheduler
		}
		if len(names) > maxNamesPerImage {
			names = names[:maxNamesPerImage]
		}
		out = append(out, corev1.ContainerImage{Names: names, SizeBytes: int64(img.Size)})
	}
	return out
}
