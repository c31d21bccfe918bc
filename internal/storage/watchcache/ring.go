package watchcache

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// event is a change the cache saw. Its objects are shared by every watcher
// and must never be modified.
type event struct {
	typ watch.EventType
	key string
	// obj is the new state; for DELETED, the last state with the deletion
	// revision as its resourceVersion.
	obj runtime.Object
	// prev is the state before a MODIFIED event, nil otherwise.
	prev runtime.Object
	rev  int64
}

// ring is a fixed-capacity FIFO of events in revision order.
type ring struct {
	buf   []*event
	start int
	n     int
}

func newRing(capacity int) *ring {
	return &ring{buf: make([]*event, capacity)}
}

// push appends e and returns the event it evicted, if any.
func (r *ring) push(e *event) (evicted *event) {
	if r.n == len(r.buf) {
		evicted = r.buf[r.start]
		r.buf[r.start] = e
		r.start = (r.start + 1) % len(r.buf)
		return evicted
	}
	r.buf[(r.start+r.n)%len(r.buf)] = e
	r.n++
	return nil
}

func (r *ring) at(i int) *event { return r.buf[(r.start+i)%len(r.buf)] }

// since returns the events with a revision above rev, oldest first.
func (r *ring) since(rev int64) []*event {
	i := sort.Search(r.n, func(i int) bool { return r.at(i).rev > rev })
	out := make([]*event, 0, r.n-i)
	for ; i < r.n; i++ {
		out = append(out, r.at(i))
	}
	return out
}

func (r *ring) reset() {
	clear(r.buf)
	r.start, r.n = 0, 0
}
