package kubelet

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestAllocatable(t *testing.T) {
	capacity := capacityOf(Config{MaxPods: 110, Host: HostInfo{CPUs: 4, MemoryBytes: 8 << 30, EphemeralStorageBytes: 100 << 30}})
	for _, tc := range []struct {
		name            string
		system, kube    corev1.ResourceList
		cpu, mem, ephem string
	}{
		{name: "eviction thresholds only", cpu: "4", mem: "8092Mi", ephem: "90Gi"},
		{name: "reserved", system: corev1.ResourceList{"cpu": resource.MustParse("500m"), "memory": resource.MustParse("1Gi")},
			kube: corev1.ResourceList{"cpu": resource.MustParse("250m"), "ephemeral-storage": resource.MustParse("10Gi")},
			cpu:  "3250m", mem: "7068Mi", ephem: "80Gi"},
		{name: "never negative", system: corev1.ResourceList{"cpu": resource.MustParse("8")}, cpu: "0", mem: "8092Mi", ephem: "90Gi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := allocatable(capacity, tc.system, tc.kube)
			got := fmt.Sprintf("%s %s %s %s", a.Cpu(), a.Memory(), a.StorageEphemeral(), a.Pods())
			if want := fmt.Sprintf("%s %s %s 110", tc.cpu, tc.mem, tc.ephem); got != want {
				t.Errorf("allocatable %s, want %s", got, want)
			}
		})
	}
}

func TestPressureConditions(t *testing.T) {
	status := func(p machinePressure) string {
		s := ""
		for _, c := range pressureConditions(p) {
			s += string(c.Status)[:1]
		}
		return s
	}
	for _, tc := range []struct {
		name string
		p    machinePressure
		want string // MemoryPressure, DiskPressure, PIDPressure
	}{
		{"unknown", machinePressure{}, "FFF"},
		{"healthy", machinePressure{memAvailable: 1 << 30, diskAvailable: 50, diskTotal: 100, pidsAvailable: 30000, pidsTotal: 32768}, "FFF"},
		{"low memory", machinePressure{memAvailable: 50 << 20}, "TFF"},
		{"full disk", machinePressure{memAvailable: 1 << 30, diskAvailable: 9, diskTotal: 100}, "FTF"},
		{"out of pids", machinePressure{memAvailable: 1 << 30, pidsAvailable: 100, pidsTotal: 32768}, "FFT"},
	} {
		if got := status(tc.p); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if c := pressureConditions(machinePressure{memAvailable: 1})[0]; c.Reason != "KubeletHasInsufficientMemory" {
		t.Errorf("reason %s", c.Reason)
	}
}

func TestNodeImages(t *testing.T) {
	var list []*runtimeapi.Image
	for i := range 60 {
		list = append(list, &runtimeapi.Image{Id: fmt.Sprint(i), Size: uint64(i), RepoTags: []string{fmt.Sprintf("img%d:latest", i)}, RepoDigests: []string{fmt.Sprintf("img%d@sha256:x", i)}})
	}
	list = append(list, &runtimeapi.Image{Id: "nameless", Size: 1000})
	list = append(list, &runtimeapi.Image{Id: "many", Size: 999, RepoTags: []string{"a", "b", "c", "d", "e", "f"}})
	got := nodeImages(list)
	if len(got) != 50 {
		t.Fatalf("%d images, want 50", len(got))
	}
	if got[0].SizeBytes != 999 || len(got[0].Names) != 5 {
		t.Errorf("largest first, at most 5 names: %+v", got[0])
	}
	if got[1].Names[0] != "img59@sha256:x" || got[1].Names[1] != "img59:latest" {
		t.Errorf("digests then tags: %+v", got[1])
	}
	if got[49].SizeBytes != 11 {
		t.Errorf("smallest kept %d, want 11", got[49].SizeBytes)
	}
}
