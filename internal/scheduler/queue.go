package scheduler

import (
	"container/heap"
	"context"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Back-off of pods that failed to schedule, as upstream's defaults.
const (
	DefaultPodInitialBackoff = 1 * time.Second
	DefaultPodMaxBackoff     = 10 * time.Second
	// maxUnschedulableDuration is how long a pod may stay unschedulable
	// without a relevant event before it is retried anyway.
	maxUnschedulableDuration = 5 * time.Minute
)

// queuedPod is a pod waiting in the scheduling queue.
type queuedPod struct {
	pod *v1.Pod
	// timestamp is when the pod entered the queue (for ordering ties).
	timestamp time.Time
	// initialAttempt is the first time it was popped.
	initialAttempt time.Time
	attempts       int
	// lastFailure is when the last attempt failed.
	lastFailure time.Time
	// unschedulablePlugins rejected it in the last attempt.
	unschedulablePlugins sets.Set[string]
	index                int
}

func (q *queuedPod) priority() int32 {
	if q.pod.Spec.Priority != nil {
		return *q.pod.Spec.Priority
	}
	return 0
}

type podHeap struct {
	items []*queuedPod
	less  func(a, b *queuedPod) bool
	byUID map[types.UID]*queuedPod
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}
func (h *podHeap) Push(x any) {
	q := x.(*queuedPod)
	q.index = len(h.items)
	h.items = append(h.items, q)
	h.byUID[q.pod.UID] = q
}
func (h *podHeap) Pop() any {
	q := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	delete(h.byUID, q.pod.UID)
	return q
}
func (h *podHeap) remove(uid types.UID) *queuedPod {
	q, ok := h.byUID[uid]
	if !ok {
		return nil
	}
	heap.Remove(h, q.index)
	return q
}

// Queue is the scheduling queue: activeQ (ordered by priority, then by
// the time the pod was queued), backoffQ (pods waiting out their
// per-pod exponential back-off, 1s doubling to 10s) and the unschedulable
// pods, which go back when a cluster event that could help them happens
// (or after 5 minutes). It is safe for concurrent use.
type Queue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	clock    clock.Clock
	active   *podHeap
	backoff  *podHeap
	unsched  map[types.UID]*queuedPod
	inflight map[types.UID]*queuedPod
	// cycle counts pops; moveCycle is the cycle of the last move
	// request, so a pod failing in a cycle during which an event came
	// goes to backoff instead of waiting for another event.
	cycle, moveCycle int64
	// events maps plugin names to the events they registered.
	events                     map[string][]framework.ClusterEvent
	closed                     bool
	initialBackoff, maxBackoff time.Duration
}

// NewQueue returns an empty queue; events maps plugin names to their
// registered events (plugins absent from it are retried on any event).
func NewQueue(clk clock.Clock, events map[string][]framework.ClusterEvent) *Queue {
	q := &Queue{clock: clk, unsched: map[types.UID]*queuedPod{}, inflight: map[types.UID]*queuedPod{}, events: events,
		initialBackoff: DefaultPodInitialBackoff, maxBackoff: DefaultPodMaxBackoff}
	q.cond = sync.NewCond(&q.mu)
	q.active = &podHeap{byUID: map[types.UID]*queuedPod{}, less: func(a, b *queuedPod) bool {
		if pa, pb := a.priority(), b.priority(); pa != pb {
			return pa > pb
		}
		return a.timestamp.Before(b.timestamp)
	}}
	q.backoff = &podHeap{byUID: map[types.UID]*queuedPod{}, less: func(a, b *queuedPod) bool {
		return q.backoffExpiry(a).Before(q.backoffExpiry(b))
	}}
	return q
}

func (q *Queue) backoffDuration(p *queuedPod) time.Duration {
	d := q.initialBackoff
	for i := 1; i < p.attempts; i++ {
		d *= 2
		if d >= q.maxBackoff {
			return q.maxBackoff
		}
	}
	return d
}

func (q *Queue) backoffExpiry(p *queuedPod) time.Time {
	return p.lastFailure.Add(q.backoffDuration(p))
}

// Add queues a new pending pod.
func (q *Queue) Add(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.find(pod.UID) != nil {
		return
	}
	heap.Push(q.active, &queuedPod{pod: pod, timestamp: q.clock.Now()})
	q.cond.Signal()
}

func (q *Queue) find(uid types.UID) *queuedPod {
	if p := q.active.byUID[uid]; p != nil {
		return p
	}
	if p := q.backoff.byUID[uid]; p != nil {
		return p
	}
	if p := q.unsched[uid]; p != nil {
		return p
	}
	return q.inflight[uid]
}

// Update replaces a queued pod's object. A changed unschedulable pod is
// retried (after its back-off).
func (q *Queue) Update(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p := q.active.byUID[pod.UID]; p != nil {
		p.pod = pod
		heap.Fix(q.active, p.index)
		return
	}
	if p := q.backoff.byUID[pod.UID]; p != nil {
		p.pod = pod
		return
	}
	if p := q.inflight[pod.UID]; p != nil {
		p.pod = pod
		return
	}
	if p := q.unsched[pod.UID]; p != nil {
		p.pod = pod
		delete(q.unsched, pod.UID)
		q.requeue(p)
		return
	}
	heap.Push(q.active, &queuedPod{pod: pod, timestamp: q.clock.Now()})
	q.cond.Signal()
}

// Delete forgets a pod.
func (q *Queue) Delete(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.active.remove(uid)
	q.backoff.remove(uid)
	delete(q.unsched, uid)
	delete(q.inflight, uid)
}

// Pop blocks until a pod is active (or ctx ends, returning nil) and
// returns it with the scheduling cycle number.
func (q *Queue) Pop(ctx context.Context) (*queuedPod, int64) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.closed = true
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, 0
	}
	p := heap.Pop(q.active).(*queuedPod)
	q.cycle++
	p.attempts++
	if p.initialAttempt.IsZero() {
		p.initialAttempt = q.clock.Now()
	}
	q.inflight[p.pod.UID] = p
	return p, q.cycle
}

// Done tells the queue a popped pod was scheduled (or is gone).
func (q *Queue) Done(uid types.UID) {
	q.mu.Lock()
	delete(q.inflight, uid)
	q.mu.Unlock()
}

// AddUnschedulable puts back a popped pod that failed in cycle with the
// given rejecting plugins (none for errors, which always back off).
func (q *Queue) AddUnschedulable(p *queuedPod, cycle int64, plugins sets.Set[string]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.inflight[p.pod.UID]; !ok {
		return // deleted meanwhile
	}
	delete(q.inflight, p.pod.UID)
	p.lastFailure = q.clock.Now()
	p.unschedulablePlugins = plugins
	if plugins.Len() == 0 || q.moveCycle >= cycle {
		heap.Push(q.backoff, p)
		return
	}
	q.unsched[p.pod.UID] = p
}

// requeue moves p to backoffQ or activeQ. Callers hold mu.
func (q *Queue) requeue(p *queuedPod) {
	if q.clock.Now().Before(q.backoffExpiry(p)) {
		heap.Push(q.backoff, p)
		return
	}
	heap.Push(q.active, p)
	q.cond.Signal()
}

// MoveOnEvent moves the unschedulable pods that event may help to
// backoffQ or activeQ.
func (q *Queue) MoveOnEvent(event framework.ClusterEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveCycle = q.cycle
	for uid, p := range q.unsched {
		if q.helps(p, event) {
			delete(q.unsched, uid)
			q.requeue(p)
		}
	}
}

func (q *Queue) helps(p *queuedPod, event framework.ClusterEvent) bool {
	if p.unschedulablePlugins.Len() == 0 {
		return true
	}
	for name := range p.unschedulablePlugins {
		evs, ok := q.events[name]
		if !ok {
			return true
		}
		for _, e := range evs {
			if e.Match(event) {
				return true
			}
		}
	}
	return false
}

// Flush moves pods whose back-off expired to activeQ, and pods
// unschedulable for longer than five minutes back for another try.
func (q *Queue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for q.backoff.Len() > 0 {
		p := q.backoff.items[0]
		if now.Before(q.backoffExpiry(p)) {
			break
		}
		heap.Pop(q.backoff)
		heap.Push(q.active, p)
		q.cond.Signal()
	}
	for uid, p := range q.unsched {
		if now.Sub(p.lastFailure) > maxUnschedulableDuration {
			delete(q.unsched, uid)
			q.requeue(p)
		}
	}
}

// Len returns how many pods are active, backing off and unschedulable.
func (q *Queue) Len() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unsched)
}
