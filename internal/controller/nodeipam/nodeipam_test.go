package nodeipam

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
)

func node(name string, cidrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)}}
	if len(cidrs) > 0 {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidrs[0], cidrs
	}
	return n
}

// harness runs a Controller on a fake clientset.
type harness struct {
	client   *fake.Clientset
	recorder *record.FakeRecorder
	ctl      *Controller
}

func start(t *testing.T, cluster string, objs ...runtime.Object) *harness {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	rec := record.NewFakeRecorder(100)
	ctl, err := New(Config{Client: client, Nodes: factory.Core().V1().Nodes(), Recorder: rec, ClusterCIDR: cluster})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	factory.Start(ctx.Done())
	go func() {
		defer close(done)
		ctl.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		factory.Shutdown()
	})
	return &harness{client: client, recorder: rec, ctl: ctl}
}

// podCIDRs polls until the node has pod CIDRs and returns them.
func (h *harness) podCIDRs(t *testing.T, name string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := h.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && len(n.Spec.PodCIDRs) > 0 {
			if n.Spec.PodCIDR != n.Spec.PodCIDRs[0] {
				t.Errorf("node %s: podCIDR %q differs from podCIDRs %v", name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
			}
			return n.Spec.PodCIDRs
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s got no pod CIDR (err %v)", name, err)
		}
		time.Sleep(10 * time.Millisecond) // polling a fake clientset
	}
}

func (h *harness) event(t *testing.T) string {
	t.Helper()
	select {
	case e := <-h.recorder.Events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event recorded")
		return ""
	}
}

func TestAllocateSkipsBlocksInUse(t *testing.T) {
	h := start(t, "10.42.0.0/16",
		node("a", "10.42.0.0/24"),
		node("outside", "192.168.0.0/24"),
		node("b"),
	)
	if got := h.podCIDRs(t, "b"); len(got) != 1 || got[0] != "10.42.1.0/24" {
		t.Errorf("node b got %v, want [10.42.1.0/24] (10.42.0.0/24 is a's)", got)
	}
	if _, err := h.client.CoreV1().Nodes().Create(context.Background(), node("c"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := h.podCIDRs(t, "c"); got[0] != "10.42.2.0/24" {
		t.Errorf("node c got %v, want [10.42.2.0/24]", got)
	}
	if got := h.podCIDRs(t, "outside"); got[0] != "192.168.0.0/24" {
		t.Errorf("node outside changed to %v", got)
	}
}

func TestExhaustedAndReleased(t *testing.T) {
	ctx := context.Background()
	h := start(t, "10.42.0.0/24", node("a"))
	if got := h.podCIDRs(t, "a"); got[0] != "10.42.0.0/24" {
		t.Fatalf("node a got %v", got)
	}
	if _, err := h.client.CoreV1().Nodes().Create(ctx, node("b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if e, want := h.event(t), "Normal CIDRNotAvailable Node b status is now: CIDRNotAvailable"; e != want {
		t.Errorf("event %q, want %q", e, want)
	}
	if err := h.client.CoreV1().Nodes().Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// b is retried with backoff and gets a's block once a is gone.
	if got := h.podCIDRs(t, "b"); got[0] != "10.42.0.0/24" {
		t.Errorf("node b got %v, want a's released 10.42.0.0/24", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	client := fake.NewClientset()
	nodes := informers.NewSharedInformerFactory(client, 0).Core().V1().Nodes()
	for _, tc := range []struct{ name, cidr, want string }{
		{name: "not a CIDR", cidr: "10.42.0.0", want: "--cluster-cidr"},
		{name: "smaller than a block", cidr: "10.42.0.0/25", want: "mask size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Client: client, Nodes: nodes, Recorder: record.NewFakeRecorder(1), ClusterCIDR: tc.cidr})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error about %s", err, tc.want)
			}
		})
	}
}
