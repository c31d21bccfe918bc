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
	return out
}
