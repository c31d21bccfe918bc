package scheduler

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	testclock "k8s.io/utils/clock/testing"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
	"github.com/skiff/skiff/internal/scheduler/plugins"
)

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		pct, all, want int32
	}{
		{0, 10, 10}, {0, 99, 99}, {0, 100, 100}, {0, 1000, 420}, {0, 5000, 500}, {0, 6000, 300}, {10, 500, 100}, {50, 1000, 500},
	}
	for _, tc := range tests {
		if got := numFeasibleNodesToFind(tc.pct, tc.all); got != tc.want {
			t.Errorf("numFeasibleNodesToFind(%d, %d) = %d, want %d", tc.pct, tc.all, got, tc.want)
		}
	}
}

func TestFitErrorMessage(t *testing.T) {
	taint := framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }")
	e := &FitError{NumAllNodes: 3, Diagnosis: Diagnosis{
		NodeToStatus: framework.NodeToStatus{
			"a": framework.NewStatus(framework.Unschedulable, "Insufficient cpu"), "b": taint, "c": taint,
		},
		PostFilterMsg: "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
	}}
	want := "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. " +
		"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.."
	if diff := cmp.Diff(want, e.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestQueueOrderBackoffAndMoves(t *testing.T) {
	clk := testclock.NewFakeClock(time.Unix(1000, 0))
	q := NewQueue(clk, map[string][]framework.ClusterEvent{"NodeResourcesFit": {{Resource: framework.KindNode, ActionType: framework.Add}}})
	prio := func(name string, p int32) *v1.Pod {
		pod := frameworktest.Pod(name, "", nil, "", "")
		pod.Spec.Priority = &p
		return pod
	}
	low, high, low2 := prio("low", 0), prio("high", 100), prio("low2", 0)
	q.Add(low)
	clk.Step(time.Millisecond)
	q.Add(low2)
	q.Add(high)
	ctx := context.Background()
	var order []string
	var popped []*queuedPod
	for range 3 {
		p, _ := q.Pop(ctx)
		order = append(order, p.pod.Name)
		popped = append(popped, p)
	}
	if diff := cmp.Diff([]string{"high", "low", "low2"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	// high fails on resources: unschedulable until a node is added.
	q.AddUnschedulable(popped[0], 3, sets.New("NodeResourcesFit"))
	if a, b, u := q.Len(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("queues %d/%d/%d, want 0/0/1", a, b, u)
	}
	q.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindAssignedPod, ActionType: framework.Delete})
	if _, _, u := q.Len(); u != 1 {
		t.Fatal("moved on an event the plugin did not register")
	}
	q.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindNode, ActionType: framework.Add})
	if a, b, _ := q.Len(); a != 0 || b != 1 {
		t.Fatalf("queues %d/%d, want the pod backing off", a, b)
	}
	clk.Step(999 * time.Millisecond)
	q.Flush()
	if a, _, _ := q.Len(); a != 0 {
		t.Fatal("left back-off before 1s")
	}
	clk.Step(time.Millisecond)
	q.Flush()
	if a, _, _ := q.Len(); a != 1 {
		t.Fatal("still backing off after 1s")
	}
	p, _ := q.Pop(ctx)
	// Second failure: 2s, and the back-off caps at 10s.
	for _, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if got := q.backoffDuration(p); got != want {
			t.Errorf("attempt %d back-off %v, want %v", p.attempts, got, want)
		}
		p.attempts++
	}
}

func TestCacheAssumeForgetConfirm(t *testing.T) {
	c := NewCache()
	c.AddNode(frameworktest.Node("n1", nil, "4", "8Gi"))
	snap := framework.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	pod := frameworktest.Pod("p", "n1", nil, "1", "1Gi")
	c.AssumePod(pod)
	c.UpdateSnapshot(snap)
	if got := snap.NodeInfoMap["n1"].Requested.MilliCPU; got != 1000 {
		t.Fatalf("assumed cpu %d", got)
	}
	c.ForgetPod(pod)
	c.UpdateSnapshot(snap)
	if got := snap.NodeInfoMap["n1"].Requested.MilliCPU; got != 0 {
		t.Fatalf("forgotten cpu %d", got)
	}
	c.AssumePod(pod)
	c.AddPod(pod)
	if c.IsAssumed(pod.UID) {
		t.Fatal("informer add did not confirm the assumed pod")
	}
	c.ForgetPod(pod) // no effect on a confirmed pod
	c.UpdateSnapshot(snap)
	if got := len(snap.NodeInfoMap["n1"].Pods); got != 1 {
		t.Fatalf("pods %d", got)
	}
}

func TestConfiguration(t *testing.T) {
	c, err := ParseConfiguration([]byte(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  plugins:
    score:
      disabled:
      - name: NodeResourcesBalancedAllocation
      enabled:
      - name: NodeResourcesFit
        weight: 5
    queueSort:
      enabled:
      - name: PrioritySort
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
`))
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := c.FrameworkProfiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) != 2 || profiles[1].SchedulerName != "bin-packer" {
		t.Fatalf("profiles %+v", profiles)
	}
	fw, err := framework.New(framework.Config{Registry: testRegistry(), Profile: profiles[1], Snapshot: func() framework.NodeInfoLister { return framework.NewEmptySnapshot() }})
	if err != nil {
		t.Fatal(err)
	}
	var got []framework.PluginRef
	got = append(got, fw.Profile().Score...)
	if diff := cmp.Diff([]framework.PluginRef{{Name: "NodeResourcesFit", Weight: 5}}, got); diff != "" {
		t.Errorf("explicit score list (-want +got):\n%s", diff)
	}
	if _, err := ParseConfiguration([]byte("kind: Foo")); err == nil {
		t.Error("wrong kind accepted")
	}
	if diff := cmp.Diff(Techniques{EquivalenceClasses: true, ScoreCaching: true, RelaxedRandomization: true}, c.Techniques()); diff != "" {
		t.Errorf("default techniques (-want +got):\n%s", diff)
	}
}

func TestConfigurationSkiffSection(t *testing.T) {
	c, err := ParseConfiguration([]byte(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
skiff:
  equivalenceClasses: false
  relaxedRandomization: false
`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Techniques{ScoreCaching: true}, c.Techniques()); diff != "" {
		t.Errorf("techniques (-want +got):\n%s", diff)
	}
	if _, err := ParseConfiguration([]byte("skiff:\n  equivalenceClass: false\n")); err == nil {
		t.Error("misspelt skiff setting accepted")
	}
}

func testRegistry() framework.Registry {
	r := pluginsRegistry()
	r[DefaultBinderName] = func([]byte, framework.Handle) (framework.Plugin, error) { return &binder{}, nil }
	return r
}

// recordBindings makes the fake client answer pods/binding by setting
// spec.nodeName, as the API server does.
func recordBindings(cs *fake.Clientset) (func() map[string]string, *sync.Mutex) {
	var mu sync.Mutex
	bound := map[string]string{}
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca, ok := a.(k8stesting.CreateAction)
		if !ok || a.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := ca.GetObject().(*v1.Binding)
		mu.Lock()
		bound[b.Name] = b.Target.Name
		mu.Unlock()
		return true, nil, nil
	})
	return func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]string{}
		for k, v := range bound {
			out[k] = v
		}
		return out
	}, &mu
}

func TestSchedulerEndToEnd(t *testing.T) {
	tainted := frameworktest.Node("cp", nil, "8", "8Gi")
	tainted.Spec.Taints = []v1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: v1.TaintEffectNoSchedule}}
	objs := []runtime.Object{frameworktest.Node("small", nil, "1", "8Gi"), frameworktest.Node("big", nil, "4", "8Gi"), tainted}
	fits := frameworktest.Pod("fits", "", nil, "2", "1Gi")
	huge := frameworktest.Pod("huge", "", nil, "6", "1Gi")
	objs = append(objs, fits, huge)
	cs := fake.NewClientset(objs...)
	bound, _ := recordBindings(cs)
	rec := record.NewFakeRecorder(100)
	f := informers.NewSharedInformerFactory(cs, 0)
	s, err := New(Config{Client: cs, Informers: f, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx.Done())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; f.Shutdown() }()

	events := map[string]string{}
	deadline := time.After(10 * time.Second)
	for len(events) < 2 {
		select {
		case e := <-rec.Events:
			switch {
			case strings.HasPrefix(e, "Normal Scheduled"):
				events["scheduled"] = e
			case strings.HasPrefix(e, "Warning FailedScheduling"):
				events["failed"] = e
			}
		case <-deadline:
			t.Fatalf("events so far: %v", events)
		}
	}
	if diff := cmp.Diff(map[string]string{"fits": "big"}, bound()); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
	want := "Warning FailedScheduling 0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. " +
		"preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.."
	if diff := cmp.Diff(want, events["failed"]); diff != "" {
		t.Errorf("FailedScheduling (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("Normal Scheduled Successfully assigned default/fits to big", events["scheduled"]); diff != "" {
		t.Errorf("Scheduled (-want +got):\n%s", diff)
	}
}

func pluginsRegistry() framework.Registry { return plugins.NewRegistry() }
