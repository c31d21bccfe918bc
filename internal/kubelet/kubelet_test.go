package kubelet

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff/skiff/internal/cri/fakecri"
)

// harness is a Kubelet over a fake clientset, fakecri and a fake clock.
type harness struct {
	k      *Kubelet
	rt     *fakecri.Runtime
	client *fake.Clientset
	clock  *clocktesting.FakeClock
}

func newHarness(t *testing.T, images ...string) *harness {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fakecri.New(fakecri.Config{Now: clk.Now, Images: images})
	client := fake.NewClientset()
	k, err := New(Config{
		Client: client, Runtime: rt, Images: rt, NodeName: "n1", NodeIP: "10.0.0.5",
		Host:   HostInfo{CPUs: 4, MemoryBytes: 8 << 30, EphemeralStorageBytes: 100 << 30, KernelVersion: "6.1.0", OSImage: "Debian GNU/Linux 12 (bookworm)", Architecture: "amd64"},
		LogDir: t.TempDir(), Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.readRuntimeVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &harness{k: k, rt: rt, client: client, clock: clk}
}

func testPod(policy corev1.RestartPolicy, pull corev1.PullPolicy) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-1"},
		Spec: corev1.PodSpec{
			NodeName:      "n1",
			RestartPolicy: policy,
			Containers: []corev1.Container{{
				Name: "web", Image: "busybox", ImagePullPolicy: pull,
				Command: []string{"sh", "-c"}, Args: []string{"echo $(GREETING); sleep 3600"},
				Env: []corev1.EnvVar{{Name: "NAME", Value: "skiff"}, {Name: "GREETING", Value: "hello $(NAME)"}},
			}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}},
	}
}

// create stores pod in the fake API and returns it.
func (h *harness) create(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if _, err := h.client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// sync syncs the stored pod once and returns the stored pod afterwards
// and the requeue delay.
func (h *harness) sync(t *testing.T) (*corev1.Pod, time.Duration) {
	t.Helper()
	ctx := context.Background()
	pod, err := h.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := h.k.syncPod(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	pod, err = h.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod, after
}

// running returns the ID of the pod's running container.
func (h *harness) running(t *testing.T) string {
	t.Helper()
	list, err := h.rt.ListContainers(context.Background(), &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}})
	if err != nil || len(list) != 1 {
		t.Fatalf("running containers = %v, %v; want one", list, err)
	}
	return list[0].Id
}

func TestSyncPodStartsContainer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "busybox")
	h.create(t, testPod(corev1.RestartPolicyAlways, corev1.PullIfNotPresent))
	pod, _ := h.sync(t)
	// fakecri gives pod-network sandboxes addresses of 10.88.0.0/16.
	if pod.Status.Phase != corev1.PodRunning || !strings.HasPrefix(pod.Status.PodIP, "10.88.") || pod.Status.HostIP != "10.0.0.5" {
		t.Fatalf("phase %s podIP %s hostIP %s; want Running with the sandbox's IP on host 10.0.0.5", pod.Status.Phase, pod.Status.PodIP, pod.Status.HostIP)
	}
	cs := pod.Status.ContainerStatuses[0]
	id := h.running(t)
	if cs.ContainerID != "fakecri://"+id || cs.State.Running == nil || !cs.Ready || !*cs.Started || cs.RestartCount != 0 || cs.ImageID == "" {
		t.Errorf("container status %+v", cs)
	}
	st, err := h.rt.ContainerStatus(context.Background(), id, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.GetMetadata().GetName() != "web" {
		t.Errorf("container metadata %v", st.Status.Metadata)
	}
	for _, c := range pod.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s is %s, want True", c.Type, c.Status)
		}
	}
	// A second sync changes nothing and starts nothing.
	before := len(h.rt.Calls())
	pod2, _ := h.sync(t)
	if diff := cmp.Diff(pod.Status, pod2.Status); diff != "" {
		t.Errorf("status changed on resync (-first +second):\n%s", diff)
	}
	for _, c := range h.rt.Calls()[before:] {
		if c == "CreateContainer" || c == "StartContainer" || c == "RunPodSandbox" {
			t.Errorf("resync called %s", c)
		}
	}
}

func TestSyncPodImagePolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.create(t, testPod(corev1.RestartPolicyAlways, corev1.PullNever))
	pod, after := h.sync(t)
	w := pod.Status.ContainerStatuses[0].State.Waiting
	if w == nil || w.Reason != "ErrImageNeverPull" || w.Message != `Container image "busybox" is not present with pull policy of Never` {
		t.Fatalf("waiting state %+v, want ErrImageNeverPull", w)
	}
	if pod.Status.Phase != corev1.PodPending || after == 0 {
		t.Errorf("phase %s requeue %v; want Pending and a retry", pod.Status.Phase, after)
	}
	h.rt.AddImage("busybox")
	if pod, _ = h.sync(t); pod.Status.Phase != corev1.PodRunning {
		t.Errorf("phase %s after the image appeared, want Running", pod.Status.Phase)
	}
}

func TestRestartBackoff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "busybox")
	h.create(t, testPod(corev1.RestartPolicyAlways, corev1.PullIfNotPresent))
	h.sync(t)
	crash := func() {
		t.Helper()
		if err := h.rt.ExitContainer(h.running(t), 1, ""); err != nil {
			t.Fatal(err)
		}
	}
	// The first exit restarts at once.
	crash()
	pod, _ := h.sync(t)
	if cs := pod.Status.ContainerStatuses[0]; cs.RestartCount != 1 || cs.State.Running == nil || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
		t.Fatalf("after the first exit: %+v", cs)
	}
	// Later exits wait 10s, then 20s, ...
	for _, delay := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
		crash()
		pod, after := h.sync(t)
		cs := pod.Status.ContainerStatuses[0]
		if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || after != delay || pod.Status.Phase != corev1.PodRunning {
			t.Fatalf("delay %v: state %+v requeue %v phase %s", delay, cs.State, after, pod.Status.Phase)
		}
		if ready := pod.Status.Conditions; ready[2].Type != corev1.PodReady || ready[2].Status != corev1.ConditionFalse {
			t.Errorf("Ready condition %+v, want False", ready[2])
		}
		h.clock.Step(delay - time.Second)
		if pod, _ := h.sync(t); pod.Status.ContainerStatuses[0].State.Running != nil {
			t.Fatalf("delay %v: restarted a second early", delay)
		}
		h.clock.Step(time.Second)
		pod, _ = h.sync(t)
		if cs := pod.Status.ContainerStatuses[0]; cs.State.Running == nil {
			t.Fatalf("delay %v: not restarted after the backoff: %+v", delay, cs.State)
		}
	}
}

func TestRestartPolicies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		policy      corev1.RestartPolicy
		code        int32
		wantPhase   corev1.PodPhase
		wantRestart bool
	}{
		{"never success", corev1.RestartPolicyNever, 0, corev1.PodSucceeded, false},
		{"never failure", corev1.RestartPolicyNever, 2, corev1.PodFailed, false},
		{"onfailure success", corev1.RestartPolicyOnFailure, 0, corev1.PodSucceeded, false},
		{"onfailure failure", corev1.RestartPolicyOnFailure, 2, corev1.PodRunning, true},
		{"always success", corev1.RestartPolicyAlways, 0, corev1.PodRunning, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, "busybox")
			h.create(t, testPod(tc.policy, corev1.PullIfNotPresent))
			h.sync(t)
			if err := h.rt.ExitContainer(h.running(t), tc.code, ""); err != nil {
				t.Fatal(err)
			}
			pod, _ := h.sync(t)
			cs := pod.Status.ContainerStatuses[0]
			if pod.Status.Phase != tc.wantPhase || (cs.RestartCount == 1) != tc.wantRestart {
				t.Errorf("phase %s restarts %d; want %s, restart %v", pod.Status.Phase, cs.RestartCount, tc.wantPhase, tc.wantRestart)
			}
			if !tc.wantRestart && (cs.State.Terminated == nil || cs.State.Terminated.ExitCode != tc.code) {
				t.Errorf("state %+v, want terminated with %d", cs.State, tc.code)
			}
		})
	}
}

func TestGracefulDeletion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "busybox")
	h.create(t, testPod(corev1.RestartPolicyAlways, corev1.PullIfNotPresent))
	h.sync(t)
	ctx := context.Background()
	pod, err := h.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(h.clock.Now())
	pod.DeletionTimestamp, pod.DeletionGracePeriodSeconds = &now, new(int64(5))
	if _, err := h.k.syncPod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	h.k.tasks.wait() // the stop runs in the background
	if _, err := h.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{}); err == nil {
		t.Error("pod still exists after termination")
	}
	if sbs, _ := h.rt.ListPodSandbox(ctx, nil); len(sbs) != 0 {
		t.Errorf("sandboxes left: %v", sbs)
	}
	var stops int
	for _, c := range h.rt.Calls() {
		if c == "StopContainer" {
			stops++
		}
	}
	if stops != 1 {
		t.Errorf("StopContainer called %d times, want 1", stops)
	}
}

func TestRemoveOrphans(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "busybox")
	h.create(t, testPod(corev1.RestartPolicyAlways, corev1.PullIfNotPresent))
	h.sync(t)
	if err := h.k.removeOrphans(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if sbs, _ := h.rt.ListPodSandbox(context.Background(), nil); len(sbs) != 0 {
		t.Errorf("sandboxes of a deleted pod left: %v", sbs)
	}
}

func TestRegisterNodeAndLease(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	if err := h.k.registerNode(ctx); err != nil {
		t.Fatal(err)
	}
	node, err := h.client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := node.Status
	if st.Capacity.Cpu().Value() != 4 || st.Capacity.Memory().Value() != 8<<30 || st.Capacity.Pods().Value() != 110 || st.Capacity.StorageEphemeral().Value() != 100<<30 {
		t.Errorf("capacity %v", st.Capacity)
	}
	if st.NodeInfo.KubeletVersion != "v1.37.2" || st.NodeInfo.ContainerRuntimeVersion != "fakecri://0.1.0" || st.NodeInfo.KernelVersion != "6.1.0" {
		t.Errorf("nodeInfo %+v", st.NodeInfo)
	}
	want := map[corev1.NodeConditionType]corev1.ConditionStatus{
		corev1.NodeReady: corev1.ConditionTrue, corev1.NodeMemoryPressure: corev1.ConditionFalse,
		corev1.NodeDiskPressure: corev1.ConditionFalse, corev1.NodePIDPressure: corev1.ConditionFalse,
	}
	got := map[corev1.NodeConditionType]corev1.ConditionStatus{}
	for _, c := range st.Conditions {
		got[c.Type] = c.Status
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if st.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}) {
		t.Errorf("addresses %v", st.Addresses)
	}
	lease, err := h.client.CoordinationV1().Leases(LeaseNamespace).Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := lease.Spec.RenewTime.Time
	h.clock.Step(10 * time.Second)
	h.k.heartbeat(ctx)
	lease, _ = h.client.CoordinationV1().Leases(LeaseNamespace).Get(ctx, "n1", metav1.GetOptions{})
	if got := lease.Spec.RenewTime.Sub(first); got != 10*time.Second {
		t.Errorf("lease renewed %v later, want 10s", got)
	}
}

// TestNodeStatusRetriesConflicts: a status post that loses a race with
// another writer of the Node is tried again at once, not a heartbeat later.
func TestNodeStatusRetriesConflicts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	if err := h.k.registerNode(ctx); err != nil {
		t.Fatal(err)
	}
	conflicts := 2
	h.client.PrependReactor("update", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "status" || conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "nodes"}, "n1", errors.New("the object has been modified"))
	})
	h.clock.Step(2 * time.Minute) // past the report frequency: the status must be posted
	if err := h.k.postNodeStatus(ctx); err != nil {
		t.Fatalf("postNodeStatus after 2 conflicts: %v", err)
	}
	if conflicts != 0 {
		t.Errorf("%d conflicts left: the post did not reach the API", conflicts)
	}
}
