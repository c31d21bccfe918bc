package kubelet

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// podTasks runs the slow stops of pods (preStop hooks and grace periods of
// up to terminationGracePeriodSeconds) in the background, at most one per
// pod at a time, so that a container taking its time to exit holds no
// sync worker and other pods keep starting. The pod's syncs wait while a
// task runs. Its zero value is ready to use; it is safe for concurrent
// use.
type podTasks struct {
	mu      sync.Mutex
	running map[types.UID]bool
	// done remembers one-time steps of pods (see once).
	done map[types.UID]map[string]bool
	wg   sync.WaitGroup
}

// once reports whether step of pod uid is new (and remembers it), for
// events a pod gets once.
func (t *podTasks) once(uid types.UID, step string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		t.done = map[types.UID]map[string]bool{}
	}
	if t.done[uid] == nil {
		t.done[uid] = map[string]bool{}
	}
	if t.done[uid][step] {
		return false
	}
	t.done[uid][step] = true
	return true
}

// has reports whether once has seen step of pod uid.
func (t *podTasks) has(uid types.UID, step string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done[uid][step]
}

// forget drops what once remembers of pod uid.
func (t *podTasks) forget(uid types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.done, uid)
}

// start runs fn in the background for pod uid and reports true, or
// reports false when a task of the pod runs already.
func (t *podTasks) start(uid types.UID, fn func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running[uid] {
		return false
	}
	if t.running == nil {
		t.running = map[types.UID]bool{}
	}
	t.running[uid] = true
	t.wg.Go(func() {
		defer func() {
			t.mu.Lock()
			delete(t.running, uid)
			t.mu.Unlock()
		}()
		fn()
	})
	return true
}

// busy reports whether a task of pod uid runs.
func (t *podTasks) busy(uid types.UID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running[uid]
}

// wait waits for every task started so far.
func (t *podTasks) wait() { t.wg.Wait() }
