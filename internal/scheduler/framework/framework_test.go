package framework

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func ctr(cpu, mem string) v1.Container {
	rl := v1.ResourceList{}
	if cpu != "" {
		rl[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		rl[v1.ResourceMemory] = resource.MustParse(mem)
	}
	return v1.Container{Resources: v1.ResourceRequirements{Requests: rl}}
}

func sidecar(cpu string) v1.Container {
	c := ctr(cpu, "")
	always := v1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

func TestPodRequests(t *testing.T) {
	tests := []struct {
		name          string
		init, app     []v1.Container
		overhead      v1.ResourceList
		wantCPU       int64
		wantMem       int64
		wantNonZeroMC int64
	}{
		{name: "app containers add up", app: []v1.Container{ctr("1", "1Gi"), ctr("500m", "1Gi")}, wantCPU: 1500, wantMem: 2 << 30, wantNonZeroMC: 1500},
		{name: "init container larger than app containers", init: []v1.Container{ctr("3", "")}, app: []v1.Container{ctr("1", "1Gi"), ctr("1", "")}, wantCPU: 3000, wantMem: 1 << 30, wantNonZeroMC: 3000},
		{name: "init containers are not summed", init: []v1.Container{ctr("2", ""), ctr("2", "")}, app: []v1.Container{ctr("1", "")}, wantCPU: 2000, wantNonZeroMC: 2000},
		{name: "sidecar adds to app and to later init containers", init: []v1.Container{sidecar("1"), ctr("2", "")}, app: []v1.Container{ctr("1", "")}, wantCPU: 3000, wantNonZeroMC: 3000},
		{name: "sidecar after init container", init: []v1.Container{ctr("2", ""), sidecar("1")}, app: []v1.Container{ctr("500m", "")}, wantCPU: 2000, wantNonZeroMC: 2000},
		{name: "overhead is added", app: []v1.Container{ctr("1", "")}, overhead: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")}, wantCPU: 1250, wantNonZeroMC: 1250},
		{name: "best effort counts defaults for scoring", app: []v1.Container{ctr("", ""), ctr("", "")}, wantCPU: 0, wantNonZeroMC: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &v1.Pod{Spec: v1.PodSpec{InitContainers: tc.init, Containers: tc.app, Overhead: tc.overhead}}
			got := PodRequests(pod, false)
			if got.MilliCPU != tc.wantCPU || got.Memory != tc.wantMem {
				t.Errorf("requests = %dm cpu %d mem, want %dm %d", got.MilliCPU, got.Memory, tc.wantCPU, tc.wantMem)
			}
			if nz := PodRequests(pod, true); nz.MilliCPU != tc.wantNonZeroMC {
				t.Errorf("non-zero cpu = %dm, want %dm", nz.MilliCPU, tc.wantNonZeroMC)
			}
		})
	}
}

func TestHostPortConflict(t *testing.T) {
	h := HostPortInfo{}
	h.Add("", "", 80)
	h.Add("127.0.0.1", "UDP", 53)
	tests := []struct {
		ip, proto string
		port      int32
		want      bool
	}{
		{"", "TCP", 80, true},
		{"10.0.0.1", "TCP", 80, true},
		{"", "UDP", 80, false},
		{"0.0.0.0", "UDP", 53, true},
		{"127.0.0.2", "UDP", 53, false},
		{"127.0.0.1", "UDP", 53, true},
		{"", "TCP", 0, false},
	}
	for _, tc := range tests {
		if got := h.CheckConflict(tc.ip, tc.proto, tc.port); got != tc.want {
			t.Errorf("CheckConflict(%q, %q, %d) = %v, want %v", tc.ip, tc.proto, tc.port, got, tc.want)
		}
	}
}

func TestNodeInfoAddRemove(t *testing.T) {
	p := &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{ctr("1", "1Gi")}}}
	p.UID = "a"
	p.Spec.Containers[0].Ports = []v1.ContainerPort{{HostPort: 8080, ContainerPort: 80}}
	ni := NewNodeInfo(p)
	c := ni.Clone()
	if !ni.RemovePod(p) {
		t.Fatal("pod not removed")
	}
	if diff := cmp.Diff(int64(0), ni.Requested.MilliCPU); diff != "" {
		t.Errorf("requested (-want +got):\n%s", diff)
	}
	if len(ni.UsedPorts) != 0 || len(c.UsedPorts) != 1 || c.Requested.MilliCPU != 1000 {
		t.Errorf("clone shares state: used %v, clone %v %d", ni.UsedPorts, c.UsedPorts, c.Requested.MilliCPU)
	}
}

func TestStatus(t *testing.T) {
	var s *Status
	if !s.IsSuccess() || s.Code() != Success {
		t.Error("nil status is not success")
	}
	s = NewStatus(Unschedulable, "a", "b").WithPlugin("P")
	if s.Message() != "a, b" || !s.IsRejected() || s.Plugin() != "P" {
		t.Errorf("status %v", s)
	}
	if AsStatus(nil) != nil {
		t.Error("AsStatus(nil) != nil")
	}
}

// TestParallelizeChunks: whatever the workers, the chunks done make a
// prefix, each index in it done once and none past it, and no chunk is
// started once work asked to stop.
func TestParallelizeChunks(t *testing.T) {
	const n = 1000
	for _, tc := range []struct {
		workers, chunk, stopAt int
	}{
		{1, 7, 300}, {2, 7, 300}, {4, 16, 300}, {8, 1, 500}, {3, 50, n}, {4, 2000, 10},
	} {
		var visits [n]atomic.Int32
		end := ParallelizeChunks(context.Background(), tc.workers, n, tc.chunk, func(lo, hi int) bool {
			for i := lo; i < hi; i++ {
				visits[i].Add(1)
			}
			return hi <= tc.stopAt
		})
		// The chunk that reached stopAt is done; at most one more chunk
		// per other worker may have started before it ended.
		minEnd := min(n, (tc.stopAt/tc.chunk+1)*tc.chunk)
		maxEnd := min(n, minEnd+(tc.workers-1)*tc.chunk)
		if end < minEnd || end > maxEnd {
			t.Errorf("%+v: prefix end %d, want %d..%d", tc, end, minEnd, maxEnd)
		}
		for i := range visits {
			if want := int32(min(1, max(0, end-i))); visits[i].Load() != want {
				t.Fatalf("%+v: index %d done %d times, want %d (prefix end %d)", tc, i, visits[i].Load(), want, end)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if end := ParallelizeChunks(ctx, 2, n, 10, func(int, int) bool { return true }); end != 0 {
		t.Errorf("cancelled context: prefix end %d, want 0", end)
	}
}

func TestCycleState(t *testing.T) {
	s := NewCycleState()
	if _, err := s.Read("a"); err != ErrNotFound {
		t.Errorf("empty state: err %v", err)
	}
	s.Write("a", &intData{1})
	s.Write("b", &intData{2})
	s.Write("a", &intData{3})
	c := s.Clone()
	s.Write("b", &intData{4})
	for _, tc := range []struct {
		state *CycleState
		key   StateKey
		want  int
	}{{s, "a", 3}, {s, "b", 4}, {c, "a", 3}, {c, "b", 2}} {
		d, err := tc.state.Read(tc.key)
		if err != nil || d.(*intData).v != tc.want {
			t.Errorf("Read(%s) = %v, %v; want %d", tc.key, d, err, tc.want)
		}
	}
	if d, _ := c.Read("a"); d == mustRead(s, "a") {
		t.Error("clone shares data with the original")
	}
}

type intData struct{ v int }

func (d *intData) Clone() StateData { return &intData{d.v} }

func mustRead(s *CycleState, k StateKey) StateData {
	d, _ := s.Read(k)
	return d
}
