package framework

import (
	"slices"
	"sync"
	"sync/atomic"
)

// StateKey names data a plugin stores in a CycleState.
type StateKey string

// StateData is what plugins keep in a CycleState; Clone must return a
// copy that can be changed without affecting the original (preemption
// and nominated-pod checks add and remove pods on a clone).
type StateData interface {
	Clone() StateData
}

// ErrNotFound is returned by CycleState.Read for a missing key.
var ErrNotFound = errNotFound{}

type errNotFound struct{}

func (errNotFound) Error() string { return "not found" }

// CycleState carries data from one extension point to the next within
// one scheduling cycle of one pod. It is safe for concurrent use. Reads
// take no lock (Filter and Score read it for every node, in parallel):
// a write replaces the whole list, which is never changed once stored
// (a cycle writes a handful of keys, and reads them many times).
type CycleState struct {
	mu   sync.Mutex // serializes writers
	data atomic.Pointer[[]stateEntry]
	// SkipFilterPlugins and SkipScorePlugins are the plugins whose
	// PreFilter or PreScore returned Skip.
	SkipFilterPlugins map[string]bool
	SkipScorePlugins  map[string]bool
	// ScoreCache, when set, holds raw scores of node-local score plugins
	// for the pod's equivalence class (Borg's score caching).
	ScoreCache ScoreCache
	// filters are the Filter plugins of filtersOf not skipped, as
	// RunPreFilterPlugins found them, so that each node's filtering does
	// not look plugins up in SkipFilterPlugins.
	filters   []FilterPlugin
	filtersOf *Framework
}

// ScoreCache keeps the raw scores of the NodeLocalScorer plugins per
// node generation for one class of equivalent pods. Scores are in the
// order the profile runs those plugins; set is a bit set of their
// positions among the profile's score plugins, so that an entry made
// with another set of plugins (one skipped, say) never matches. It is
// safe for concurrent use.
type ScoreCache interface {
	// Get returns the scores for the node in the state
	// nodeInfo.Generation names, if cached; the slice must not be
	// modified.
	Get(nodeInfo *NodeInfo, set uint64) ([]int64, bool)
	// Put records them; the cache keeps scores.
	Put(nodeInfo *NodeInfo, set uint64, scores []int64)
}

// NodeLocalScorer is implemented by score plugins whose raw Score
// depends only on the pod's scheduling constraints and on the node it
// scores (its labels, taints, allocatable and pods), never on other
// nodes; only their scores may be cached.
type NodeLocalScorer interface {
	ScorePlugin
	// NodeLocalScore is a marker.
	NodeLocalScore()
}

type stateEntry struct {
	key  StateKey
	data StateData
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{}
}

// Read returns the data under key or ErrNotFound.
func (c *CycleState) Read(key StateKey) (StateData, error) {
	if l := c.data.Load(); l != nil {
		for _, e := range *l {
			if e.key == key {
				return e.data, nil
			}
		}
	}
	return nil, ErrNotFound
}

// Write stores data under key.
func (c *CycleState) Write(key StateKey, d StateData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var l []stateEntry
	if old := c.data.Load(); old != nil {
		l = make([]stateEntry, len(*old), len(*old)+1)
		copy(l, *old)
	}
	if i := slices.IndexFunc(l, func(e stateEntry) bool { return e.key == key }); i >= 0 {
		l[i].data = d
	} else {
		l = append(l, stateEntry{key, d})
	}
	c.data.Store(&l)
}

// Clone deep-copies the state through each datum's Clone.
func (c *CycleState) Clone() *CycleState {
	if c == nil {
		return nil
	}
	out := NewCycleState()
	if l := c.data.Load(); l != nil {
		cl := make([]stateEntry, len(*l))
		for i, e := range *l {
			cl[i] = stateEntry{e.key, e.data.Clone()}
		}
		out.data.Store(&cl)
	}
	out.SkipFilterPlugins = c.SkipFilterPlugins
	out.SkipScorePlugins = c.SkipScorePlugins
	out.ScoreCache = c.ScoreCache
	out.filters, out.filtersOf = c.filters, c.filtersOf
	return out
}
