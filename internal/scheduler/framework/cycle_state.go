package framework

import "sync"

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
// one scheduling cycle of one pod. It is safe for concurrent use.
type CycleState struct {
	mu   sync.RWMutex
	data map[StateKey]StateData
	// SkipFilterPlugins and SkipScorePlugins are the plugins whose
	// PreFilter or PreScore returned Skip.
	SkipFilterPlugins map[string]bool
	SkipScorePlugins  map[string]bool
	// ScoreCache, when set, holds raw scores of node-local score plugins
	// for the pod's equivalence class (Borg's score caching).
	ScoreCache ScoreCache
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

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{data: map[StateKey]StateData{}}
}

// Read returns the data under key or ErrNotFound.
func (c *CycleState) Read(key StateKey) (StateData, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if d, ok := c.data[key]; ok {
		return d, nil
	}
	return nil, ErrNotFound
}

// Write stores data under key.
func (c *CycleState) Write(key StateKey, d StateData) {
	c.mu.Lock()
	c.data[key] = d
	c.mu.Unlock()
}

// Clone deep-copies the state through each datum's Clone.
func (c *CycleState) Clone() *CycleState {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := NewCycleState()
	for k, v := range c.data {
		out.data[k] = v.Clone()
	}
	out.SkipFilterPlugins = c.SkipFilterPlugins
	out.SkipScorePlugins = c.SkipScorePlugins
	out.ScoreCache = c.ScoreCache
	return out
}
