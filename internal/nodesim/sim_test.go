package nodesim

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testclock "k8s.io/utils/clock/testing"
)

// fixture runs a Simulator against a fake clientset and a fake clock.
type fixture struct {
	t      *testing.T
	client *fake.Clientset
	clock  *testclock.FakeClock
	sim    *Simulator
}

func newFixture(t *testing.T, cfg Config, objs ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{t: t, client: fake.NewClientset(objs...), clock: testclock.NewFakeClock(t0)}
	// The fake clientset assigns no UIDs; lease owner references need one.
	f.client.PrependReactor("create", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		n := a.(k8stesting.CreateAction).GetObject().(*corev1.Node)
		n.UID = types.UID("uid-" + n.Name)
		return false, nil, nil
	})
	cfg.Client, cfg.Clock = f.client, f.clock
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = time.Minute
	}
	sim, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.sim = sim
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-sim.Ready():
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("simulator not ready after 10s")
	}
	return f
}

// eventually polls cond until it holds or 10s pass; the simulator works
// asynchronously even under a fake clock.
func (f *fixture) eventually(what string, cond func() (bool, error)) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not a wait for an event
	}
}

// count returns how many recorded actions match verb, resource,
// subresource and name.
func (f *fixture) count(verb, res, sub, name string) int {
	n := 0
	for _, a := range f.client.Actions() {
		if a.GetVerb() != verb || a.GetResource().Resource != res || a.GetSubresource() != sub {
			continue
		}
		var got string
		switch a := a.(type) {
		case k8stesting.UpdateAction:
			got = a.GetObject().(interface{ GetName() string }).GetName()
		case k8stesting.CreateAction:
			got = a.GetObject().(interface{ GetName() string }).GetName()
		case k8stesting.PatchAction:
			got = a.GetName()
		case k8stesting.DeleteAction:
			got = a.GetName()
		case k8stesting.GetAction:
			got = a.GetName()
		}
		if name == "" || got == name {
			n++
		}
	}
	return n
}

func (f *fixture) waitCount(verb, res, sub, name string, want int) {
	f.t.Helper()
	f.eventually(fmt.Sprintf("%d %s %s/%s %s", want, verb, res, sub, name), func() (bool, error) {
		got := f.count(verb, res, sub, name)
		return got >= want, fmt.Errorf("%d so far", got)
	})
}

func (f *fixture) lease(name string) *coordinationv1.Lease {
	f.t.Helper()
	l, err := f.client.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get lease %s: %v", name, err)
	}
	return l
}

func (f *fixture) pod(name string) *corev1.Pod {
	f.t.Helper()
	p, err := f.client.CoreV1().Pods("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

func (f *fixture) createPod(p *corev1.Pod) {
	f.t.Helper()
	if _, err := f.client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("create pod: %v", err)
	}
}

// waitPod polls pod name until cond holds, in the simulator's cache:
// what its next sync will read (the fake clientset has no
// resourceVersions, so a sync from a stale cache would not conflict).
func (f *fixture) waitPod(name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	f.t.Helper()
	var p *corev1.Pod
	f.eventually("pod "+name+" "+what, func() (bool, error) {
		var err error
		p, err = f.sim.pods.Pods("ns").Get(name)
		return err == nil && cond(p), err
	})
	return p
}

// boundPod is a pod bound to node with no status yet, as the API server
// leaves it after a binding.
func boundPod(name, node string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := testPod(mutate...)
	p.Name, p.UID, p.Spec.NodeName = name, types.UID("uid-"+name), node
	p.Status = corev1.PodStatus{Phase: corev1.PodPending}
	return p
}

func isReady(p *corev1.Pod) bool {
	return cond(p, corev1.PodReady).Status == corev1.ConditionTrue
}

func TestRegister(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{
		Nodes: []NodeSpec{{
			Name: "cp", Roles: []string{"control-plane"}, Zone: "z1", Region: "r1",
			Taints:      []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}},
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("20")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3500m")},
			PodCIDR:     "10.42.0.0/24",
		}},
		Count: 2, Zones: []string{"za", "zb"},
	})
	if got, want := fmt.Sprint(f.sim.Nodes()), "[cp sim-0 sim-1]"; got != want {
		t.Errorf("Nodes() = %s, want %s", got, want)
	}
	ctx := context.Background()
	cp, err := f.client.CoreV1().Nodes().Get(ctx, "cp", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"kubernetes.io/hostname": "cp", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
		"node-role.kubernetes.io/control-plane": "", corev1.LabelTopologyZone: "z1", corev1.LabelTopologyRegion: "r1",
	} {
		if got, ok := cp.Labels[k]; !ok || got != v {
			t.Errorf("label %s = %q (%v), want %q", k, got, ok, v)
		}
	}
	if cp.Annotations[AnnotationSimulated] != "true" {
		t.Errorf("annotations = %v", cp.Annotations)
	}
	if cp.Spec.PodCIDR != "10.42.0.0/24" || len(cp.Spec.Taints) != 1 || cp.Spec.ProviderID != "sim://cp" {
		t.Errorf("spec = %+v", cp.Spec)
	}
	if q := cp.Status.Allocatable[corev1.ResourceCPU]; q.String() != "3500m" {
		t.Errorf("allocatable cpu = %s", q.String())
	}
	info := cp.Status.NodeInfo
	if info.KubeletVersion != "v1.37.2" || info.OperatingSystem != "linux" || info.Architecture != "amd64" || info.MachineID == "" || info.SystemUUID == "" {
		t.Errorf("nodeInfo = %+v", info)
	}
	if len(cp.Status.Addresses) == 0 || cp.Status.Addresses[0].Type != corev1.NodeInternalIP || cp.Status.Addresses[0].Address != "127.100.0.1" {
		t.Errorf("addresses = %+v", cp.Status.Addresses)
	}
	want := map[corev1.NodeConditionType]string{
		corev1.NodeMemoryPressure: "False KubeletHasSufficientMemory",
		corev1.NodeDiskPressure:   "False KubeletHasNoDiskPressure",
		corev1.NodePIDPressure:    "False KubeletHasSufficientPID",
		corev1.NodeReady:          "True KubeletReady kubelet is posting ready status",
	}
	for _, c := range cp.Status.Conditions {
		got := string(c.Status) + " " + c.Reason
		if c.Type == corev1.NodeReady {
			got += " " + c.Message
		}
		if got != want[c.Type] || !c.LastHeartbeatTime.Time.Equal(t0) {
			t.Errorf("condition %s = %q at %v, want %q", c.Type, got, c.LastHeartbeatTime, want[c.Type])
		}
		delete(want, c.Type)
	}
	if len(want) > 0 {
		t.Errorf("missing conditions %v", want)
	}

	s1, err := f.client.CoreV1().Nodes().Get(ctx, "sim-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s1.Spec.PodCIDR != "10.42.2.0/24" || s1.Labels[corev1.LabelTopologyZone] != "zb" {
		t.Errorf("sim-1: podCIDR %s zone %s", s1.Spec.PodCIDR, s1.Labels[corev1.LabelTopologyZone])
	}
	if q := s1.Status.Capacity[corev1.ResourcePods]; q.Value() != 110 {
		t.Errorf("sim-1 pods capacity %s", q.String())
	}
	l := f.lease("cp")
	if *l.Spec.HolderIdentity != "cp" || *l.Spec.LeaseDurationSeconds != 40 || !l.Spec.RenewTime.Time.Equal(t0) {
		t.Errorf("lease spec = %+v", l.Spec)
	}
	if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].Kind != "Node" || l.OwnerReferences[0].Name != "cp" || l.OwnerReferences[0].UID != "uid-cp" {
		t.Errorf("lease owners = %+v", l.OwnerReferences)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset()
	cases := []struct {
		name string
		cfg  Config
	}{
		{name: "no client", cfg: Config{Count: 1}},
		{name: "range too small", cfg: Config{Client: client, Count: 3, PodCIDR: "10.42.0.0/23"}},
		{name: "duplicate", cfg: Config{Client: client, Nodes: []NodeSpec{{Name: "a"}, {Name: "a"}}}},
		{name: "unnamed", cfg: Config{Client: client, Nodes: []NodeSpec{{}}}},
		{name: "bad CIDR", cfg: Config{Client: client, Nodes: []NodeSpec{{Name: "a", PodCIDR: "x"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Error("New succeeded")
			}
		})
	}
}

func TestHeartbeats(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Count: 3})
	for _, n := range f.sim.Nodes() {
		if f.count("update", "leases", "", n) != 0 {
			t.Fatalf("lease of %s renewed before its first period", n)
		}
	}
	f.clock.Step(10 * time.Second)
	for _, n := range f.sim.Nodes() {
		f.waitCount("update", "leases", "", n, 1)
		if got := f.lease(n).Spec.RenewTime.Time; !got.Equal(t0.Add(10 * time.Second)) {
			t.Errorf("lease %s renewed at %v", n, got)
		}
	}

	if err := f.sim.Stop("sim-1"); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(10 * time.Second)
	f.waitCount("update", "leases", "", "sim-0", 2)
	f.waitCount("update", "leases", "", "sim-2", 2)
	f.clock.Step(40 * time.Second) // also past the first status period
	f.waitCount("update", "leases", "", "sim-0", 3)
	f.waitCount("update", "leases", "", "sim-2", 3)
	f.waitCount("patch", "nodes", "status", "sim-0", 1)
	f.waitCount("patch", "nodes", "status", "sim-2", 1)
	if got := f.count("update", "leases", "", "sim-1"); got != 1 {
		t.Errorf("stopped node renewed its lease: %d renewals", got)
	}
	if got := f.count("patch", "nodes", "status", "sim-1"); got != 0 {
		t.Errorf("stopped node posted status: %d patches", got)
	}
	if got := f.lease("sim-1").Spec.RenewTime.Time; !got.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("stopped node's lease renewed at %v", got)
	}

	// Resume beats at once, without waiting for the clock.
	if err := f.sim.Resume("sim-1"); err != nil {
		t.Fatal(err)
	}
	f.waitCount("update", "leases", "", "sim-1", 2)
	f.waitCount("patch", "nodes", "status", "sim-1", 1)
	n, _ := f.client.CoreV1().Nodes().Get(context.Background(), "sim-1", metav1.GetOptions{})
	for _, c := range n.Status.Conditions {
		if !c.LastHeartbeatTime.Time.Equal(t0.Add(60*time.Second)) || !c.LastTransitionTime.Time.Equal(t0) {
			t.Errorf("%s heartbeat %v transition %v", c.Type, c.LastHeartbeatTime, c.LastTransitionTime)
		}
	}
	if err := f.sim.Stop("nope"); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("Stop(nope) = %v", err)
	}
}

func TestStatusKeepsTransitionAfterUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Count: 1})
	ctx := context.Background()
	// The node lifecycle controller marks the node Unknown.
	n, _ := f.client.CoreV1().Nodes().Get(ctx, "sim-0", metav1.GetOptions{})
	for i := range n.Status.Conditions {
		n.Status.Conditions[i].Status = corev1.ConditionUnknown
		n.Status.Conditions[i].Reason = "NodeStatusUnknown"
	}
	if _, err := f.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(time.Minute)
	f.waitCount("patch", "nodes", "status", "sim-0", 1)
	n, _ = f.client.CoreV1().Nodes().Get(ctx, "sim-0", metav1.GetOptions{})
	for _, c := range n.Status.Conditions {
		if c.Status == corev1.ConditionUnknown || !c.LastTransitionTime.Time.Equal(t0.Add(time.Minute)) {
			t.Errorf("%s = %s since %v, want a fresh transition", c.Type, c.Status, c.LastTransitionTime)
		}
	}
}

func TestPodRunsAndBecomesReady(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Count: 1})
	f.createPod(boundPod("web", "sim-0", func(p *corev1.Pod) {
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}},
			InitialDelaySeconds: 5,
		}
	}))
	p := f.waitPod("web", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	if isReady(p) {
		t.Error("ready before initialDelaySeconds")
	}
	ip, err := netip.ParseAddr(p.Status.PodIP)
	if err != nil || !netip.MustParsePrefix("10.42.0.0/24").Contains(ip) {
		t.Errorf("pod IP %q not in the node's CIDR", p.Status.PodIP)
	}
	f.clock.Step(5 * time.Second)
	f.waitPod("web", "Ready", isReady)

	// Another pod on the node gets another address; a host-network pod
	// the node's.
	f.createPod(boundPod("other", "sim-0"))
	f.createPod(boundPod("host", "sim-0", func(p *corev1.Pod) { p.Spec.HostNetwork = true }))
	other := f.waitPod("other", "Running", func(p *corev1.Pod) bool { return p.Status.PodIP != "" })
	host := f.waitPod("host", "Running", func(p *corev1.Pod) bool { return p.Status.PodIP != "" })
	if other.Status.PodIP == p.Status.PodIP || host.Status.PodIP != "127.100.0.1" {
		t.Errorf("pod IPs %s, %s, %s", p.Status.PodIP, other.Status.PodIP, host.Status.PodIP)
	}

	// Pods of other nodes are none of the simulator's business.
	f.createPod(boundPod("elsewhere", "real-node"))
	f.createPod(boundPod("unbound", ""))
	f.clock.Step(time.Second)
	f.waitPod("other", "still Running", isReady) // let the queue drain
	for _, name := range []string{"elsewhere", "unbound"} {
		if got := f.pod(name).Status.Phase; got != corev1.PodPending {
			t.Errorf("pod %s touched: %s", name, got)
		}
	}
}

func TestStartDelay(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Count: 1, PodStartDelay: 3 * time.Second})
	f.createPod(boundPod("web", "sim-0"))
	p := f.waitPod("web", "ContainerCreating", func(p *corev1.Pod) bool { return len(p.Status.ContainerStatuses) > 0 })
	if w := p.Status.ContainerStatuses[0].State.Waiting; p.Status.Phase != corev1.PodPending || w == nil || w.Reason != "ContainerCreating" {
		t.Errorf("status = %+v", p.Status)
	}
	f.clock.Step(3 * time.Second)
	f.waitPod("web", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning && isReady(p) })
}

func TestJobPodsFinish(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Count: 1})
	f.createPod(boundPod("ok", "sim-0", func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.Containers[0].Command = []string{"sh", "-c", "sleep 30; exit 0"}
	}))
	f.createPod(boundPod("bad", "sim-0", func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Annotations = map[string]string{AnnotationExitCode: "3"}
	}))
	bad := f.waitPod("bad", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if term := bad.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Errorf("bad: %+v", bad.Status.ContainerStatuses[0].State)
	}
	f.waitPod("ok", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	f.clock.Step(30 * time.Second)
	ok := f.waitPod("ok", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if term := ok.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("ok: %+v", ok.Status.ContainerStatuses[0].State)
	}
}

func TestDeletion(t *testing.T) {
	t.Parallel()
	now := metav1.NewTime(t0)
	running := boundPod("running", "sim-0")
	running.Status, _ = computeStatus(running, statusInput{now: t0, hostIP: "127.100.0.1", podIP: "10.42.0.9"})
	running.DeletionTimestamp, running.DeletionGracePeriodSeconds = &now, ptr(int64(30))
	pending := boundPod("pending", "sim-0")
	pending.DeletionTimestamp = &now
	f := newFixture(t, Config{Count: 1}, running, pending)

	f.waitCount("delete", "pods", "", "running", 1)
	f.waitCount("delete", "pods", "", "pending", 1)
	if got := f.count("update", "pods", "status", "pending"); got != 0 {
		t.Errorf("pending pod got %d status updates before deletion", got)
	}
	var stopped *corev1.Pod
	for _, a := range f.client.Actions() {
		switch a := a.(type) {
		case k8stesting.DeleteAction:
			o := a.GetDeleteOptions()
			if o.GracePeriodSeconds == nil || *o.GracePeriodSeconds != 0 || o.Preconditions == nil || o.Preconditions.UID == nil {
				t.Errorf("delete %s with %+v, want grace 0 and a UID precondition", a.GetName(), o)
			}
		case k8stesting.UpdateAction:
			if a.GetSubresource() == "status" {
				stopped = a.GetObject().(*corev1.Pod)
			}
		}
	}
	if stopped == nil || stopped.Name != "running" || stopped.Status.Phase != corev1.PodFailed ||
		stopped.Status.ContainerStatuses[0].State.Terminated == nil || stopped.Status.ContainerStatuses[0].State.Terminated.ExitCode != 137 {
		t.Errorf("running pod not reported stopped before deletion: %+v", stopped)
	}
}

func TestSetReady(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Count: 1})
	f.createPod(boundPod("web", "sim-0"))
	f.waitPod("web", "Ready", isReady)
	f.sim.SetReady("ns", "web", false)
	p := f.waitPod("web", "unready", func(p *corev1.Pod) bool { return !isReady(p) })
	if c := cond(p, corev1.PodReady); c.Reason != "ContainersNotReady" || p.Status.Phase != corev1.PodRunning {
		t.Errorf("Ready = %+v in phase %s", c, p.Status.Phase)
	}
	f.sim.ClearReady("ns", "web")
	f.waitPod("web", "Ready again", isReady)
}

func TestStoppedNodeLeavesPodsAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Count: 1})
	if err := f.sim.Stop("sim-0"); err != nil {
		t.Fatal(err)
	}
	f.createPod(boundPod("web", "sim-0"))
	// The informer has it once the lister does; a stopped node's sync is a no-op.
	f.eventually("pod in cache", func() (bool, error) {
		_, err := f.sim.pods.Pods("ns").Get("web")
		return err == nil, err
	})
	if err := f.sim.syncPod(context.Background(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	if got := f.count("update", "pods", "status", "web"); got != 0 {
		t.Fatalf("stopped node updated its pod %d times", got)
	}
	if err := f.sim.Resume("sim-0"); err != nil {
		t.Fatal(err)
	}
	f.waitPod("web", "Running after Resume", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
}

func TestAddAndRemoveNode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Count: 1})
	ctx := context.Background()
	if err := f.sim.AddNode(ctx, NodeSpec{Name: "late", Labels: map[string]string{"pool": "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.AddNode(ctx, NodeSpec{Name: "late"}); err == nil {
		t.Error("adding a node twice succeeded")
	}
	n, err := f.client.CoreV1().Nodes().Get(ctx, "late", metav1.GetOptions{})
	if err != nil || n.Labels["pool"] != "b" || n.Spec.PodCIDR != "10.42.1.0/24" {
		t.Fatalf("late node = %+v, %v", n, err)
	}
	f.createPod(boundPod("web", "late"))
	f.waitPod("web", "Running on the late node", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	f.clock.Step(10 * time.Second)
	f.waitCount("update", "leases", "", "late", 1)

	if err := f.sim.RemoveNode(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.CoreV1().Nodes().Get(ctx, "late", metav1.GetOptions{}); err == nil {
		t.Error("removed node still exists")
	}
	if _, err := f.client.CoordinationV1().Leases(LeaseNamespace).Get(ctx, "late", metav1.GetOptions{}); err == nil {
		t.Error("removed node's lease still exists")
	}
	f.clock.Step(10 * time.Second)
	f.waitCount("update", "leases", "", "sim-0", 2)
	if got := f.count("update", "leases", "", "late"); got != 1 {
		t.Errorf("removed node renewed its lease: %d", got)
	}
	if got := fmt.Sprint(f.sim.Nodes()); got != "[sim-0]" {
		t.Errorf("Nodes() = %s", got)
	}
}
