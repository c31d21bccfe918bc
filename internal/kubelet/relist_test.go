package kubelet

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
)

// TestEnqueueChanged syncs a pod when the runtime's state of it changed
// or fullSyncPeriod passed, and not on every relist.
func TestEnqueueChanged(t *testing.T) {
	h := newHarness(t)
	h.k.queue = workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer h.k.queue.ShutDown()
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", UID: "ua"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b", UID: "ub"}},
	}
	state := func(a, b string) relist { return relist{state: map[types.UID]string{"ua": a, "ub": b}} }
	drain := func() []string {
		var keys []string
		for h.k.queue.Len() > 0 {
			k, _ := h.k.queue.Get()
			h.k.queue.Done(k)
			keys = append(keys, k)
		}
		return keys
	}
	for _, step := range []struct {
		name    string
		advance time.Duration
		r       relist
		ok      bool
		want    int
	}{
		{name: "first relist syncs every pod", r: state("s1", "s1"), ok: true, want: 2},
		{name: "nothing changed", advance: time.Second, r: state("s1", "s1"), ok: true, want: 0},
		{name: "a container of a changed", advance: time.Second, r: state("s2", "s1"), ok: true, want: 1},
		{name: "runtime unreachable: sync all", advance: time.Second, r: relist{}, ok: false, want: 2},
		{name: "quiet again", advance: time.Second, r: state("s2", "s1"), ok: true, want: 0},
		{name: "full sync period passed", advance: fullSyncPeriod, r: state("s2", "s1"), ok: true, want: 2},
	} {
		h.clock.Step(step.advance)
		h.k.enqueueChanged(pods, step.r, step.ok)
		if got := drain(); len(got) != step.want {
			t.Errorf("%s: enqueued %v, want %d pods", step.name, got, step.want)
		}
	}
}
