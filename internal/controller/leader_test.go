package controller

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestRunElectedOneAtATime runs two candidates against one API: the second
// runs only after the first has stopped and released the Lease.
func TestRunElectedOneAtATime(t *testing.T) {
	client := fake.NewClientset()
	var (
		mu     sync.Mutex
		events []string
	)
	note := func(s string) {
		mu.Lock()
		events = append(events, s)
		mu.Unlock()
	}
	started := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	candidate := func(ctx context.Context, id string) <-chan error {
		done := make(chan error, 1)
		go func() {
			done <- RunElected(ctx, ElectionConfig{
				Client: client, Namespace: "kube-system", Name: "test", Identity: id,
				LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 50 * time.Millisecond,
			}, func(ctx context.Context) {
				note(id + " start")
				close(started[id])
				<-ctx.Done()
				note(id + " stop")
			})
		}()
		return done
	}

	ctxA, cancelA := context.WithCancel(context.Background())
	doneA := candidate(ctxA, "a")
	waitFor(t, started["a"], "a to lead")
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	doneB := candidate(ctxB, "b")

	cancelA()
	select {
	case err := <-doneA:
		if err != nil {
			t.Fatalf("RunElected a: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("timed out waiting for a to stop")
	}
	// a released the Lease on its way out, so b need not wait for it to
	// expire.
	waitFor(t, started["b"], "b to lead")
	lease, err := client.CoordinationV1().Leases("kube-system").Get(context.Background(), "test", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || *h != "b" {
		t.Errorf("lease holder = %v, want b", h)
	}
	cancelB()
	select {
	case <-doneB:
	case <-time.After(deadline):
		t.Fatal("timed out waiting for b to stop")
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"a start", "a stop", "b start", "b stop"}, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestRunElectedReturnsOnCancelWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := RunElected(ctx, ElectionConfig{Client: fake.NewClientset(), Namespace: "kube-system", Name: "test", Identity: "a"},
		func(context.Context) { t.Error("run called with ctx already ended") })
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunElectedInvalidConfig(t *testing.T) {
	err := RunElected(context.Background(), ElectionConfig{Client: fake.NewClientset(), Namespace: "kube-system", Name: "test", Identity: "a",
		LeaseDuration: time.Second, RenewDeadline: 2 * time.Second}, func(context.Context) {})
	if err == nil {
		t.Fatal("no error for a renew deadline longer than the lease")
	}
}
