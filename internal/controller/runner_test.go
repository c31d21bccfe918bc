package controller

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// deadline bounds every wait for an asynchronous event in these tests.
const deadline = 10 * time.Second

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(deadline):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestRunner(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		// results are what successive syncs of the key return.
		results []error
	}{
		{"success", []error{nil}},
		{"errors retried with backoff until success", []error{boom, boom, nil}},
		{"requeued after a fixed delay", []error{RequeueAfter(time.Millisecond, boom), nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			done := make(chan struct{})
			var r *Runner
			r = NewRunner(RunnerConfig{
				Name:        "test",
				RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, time.Millisecond),
				Sync: func(_ context.Context, key string) error {
					if key != "ns/a" {
						t.Errorf("key = %q", key)
					}
					n := int(calls.Add(1))
					if n > len(tc.results) {
						t.Errorf("sync called %d times, want %d", n, len(tc.results))
						return nil
					}
					if n == len(tc.results) {
						defer close(done)
					}
					return tc.results[n-1]
				},
			})
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				r.Run(ctx, 2)
			}()
			r.Enqueue("ns/a")
			waitFor(t, done, "the last sync")
			cancel()
			waitFor(t, stopped, "Run to return")
			if n := r.queue.NumRequeues("ns/a"); n != 0 {
				t.Errorf("failures remembered after success: %d", n)
			}
		})
	}
}

func TestRunnerWaitsForCaches(t *testing.T) {
	var synced atomic.Bool
	called := make(chan struct{})
	r := NewRunner(RunnerConfig{
		Name:   "test",
		Synced: []cache.InformerSynced{synced.Load},
		Sync: func(context.Context, string) error {
			if !synced.Load() {
				t.Error("sync before the caches were filled")
			}
			close(called)
			return nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, 1)
	r.Enqueue("k")
	synced.Store(true)
	waitFor(t, called, "the sync")
}

func TestRunnerStopsWorkersOnCancel(t *testing.T) {
	started := make(chan struct{})
	r := NewRunner(RunnerConfig{
		Name: "test",
		Sync: func(ctx context.Context, _ string) error {
			close(started)
			<-ctx.Done() // a sync blocked on I/O until shutdown
			return ctx.Err()
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		r.Run(ctx, 3)
	}()
	r.Enqueue("k")
	waitFor(t, started, "the sync")
	cancel()
	waitFor(t, stopped, "Run to return after its workers")
}

func TestEnqueueObject(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  any
		want int
	}{
		{"object", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}}, 1},
		{"tombstone", cache.DeletedFinalStateUnknown{Key: "ns/a"}, 1},
		{"not an object", 42, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRunner(RunnerConfig{Name: "test", Sync: func(context.Context, string) error { return nil }})
			r.EnqueueObject(tc.obj)
			if got := r.Len(); got != tc.want {
				t.Errorf("queued %d keys, want %d", got, tc.want)
			}
		})
	}
}

func TestObjectHandlerEnqueuesEveryChange(t *testing.T) {
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	}
	r := NewRunner(RunnerConfig{Name: "test", Sync: func(context.Context, string) error { return nil }})
	h := r.ObjectHandler()
	h.OnAdd(pod("a"), false)
	h.OnUpdate(pod("old"), pod("b"))
	h.OnDelete(cache.DeletedFinalStateUnknown{Key: "ns/c", Obj: pod("c")})
	h.OnAdd(pod("a"), false) // already queued
	if got := r.Len(); got != 3 {
		t.Errorf("queued %d keys, want 3 (ns/a, ns/b, ns/c)", got)
	}
}
