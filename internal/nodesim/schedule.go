package nodesim

import (
	"container/heap"
	"time"
)

// taskKind is what a heartbeat task sends.
type taskKind int

const (
	leaseTask  taskKind = iota // renew the node's Lease
	statusTask                 // refresh the node's conditions
)

func (k taskKind) String() string {
	if k == leaseTask {
		return "lease"
	}
	return "status"
}

// task is one recurring heartbeat of one node.
type task struct {
	node  *node
	kind  taskKind
	due   time.Time
	index int // in the heap; -1 once removed
}

// schedule is a min-heap of tasks by due time. One goroutine drives all
// nodes' heartbeats from it, so thousands of nodes cost one timer.
type schedule []*task

func (s schedule) Len() int           { return len(s) }
func (s schedule) Less(i, j int) bool { return s[i].due.Before(s[j].due) }
func (s schedule) Swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].index, s[j].index = i, j
}

func (s *schedule) Push(x any) {
	t := x.(*task)
	t.index = len(*s)
	*s = append(*s, t)
}

func (s *schedule) Pop() any {
	old := *s
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*s = old[:len(old)-1]
	return t
}

// due pops every task due at or before now, moves each to its next
// period (at least one period after the previous due time, and in the
// future) and returns them in due order.
func (s *schedule) popDue(now time.Time, period func(taskKind) time.Duration) []*task {
	var out []*task
	for s.Len() > 0 && !(*s)[0].due.After(now) {
		t := (*s)[0]
		out = append(out, t)
		p := period(t.kind)
		next := t.due.Add(p)
		if !next.After(now) {
			next = now.Add(p)
		}
		t.due = next
		heap.Fix(s, 0)
	}
	return out
}

// next returns the earliest due time, and false when the heap is empty.
func (s schedule) next() (time.Time, bool) {
	if len(s) == 0 {
		return time.Time{}, false
	}
	return s[0].due, true
}

// spread returns where in a period node number i first beats: the
// fractional parts of i·φ, which fill [0, 1) evenly for any number of
// nodes, including nodes added later.
func spread(i int, period time.Duration) time.Duration {
	const phi = 0.6180339887498949
	f := float64(i) * phi
	f -= float64(int64(f))
	return time.Duration(f * float64(period))
}
