package controller

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ExpectationsTTL bounds how long a sync waits for creations and deletions
// it asked for: after it, the informer is assumed to have missed them and
// the next sync acts on what it sees.
const ExpectationsTTL = 5 * time.Minute

// Expectations records, per controller key, the pod creations and
// deletions still to be observed through the informer. Deletions are
// tracked by pod key, so a pod seen deleted twice (update with a deletion
// timestamp, then delete) counts once. Safe for concurrent use.
type Expectations struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	m     map[string]*expectation
}

type expectation struct {
	adds     int
	deleting map[string]bool
	at       time.Time
}

// NewExpectations returns empty expectations timed by c.
func NewExpectations(c clock.PassiveClock) *Expectations {
	return &Expectations{clock: c, m: map[string]*expectation{}}
}

// Satisfied reports whether key has nothing pending (or its record
// expired), so that a sync may create or delete pods.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.deleting) == 0 {
		return true
	}
	return e.clock.Since(x.at) > ExpectationsTTL
}

// ExpectCreations replaces key's record with n pending creations.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.Expect(key, n, nil)
}

// ExpectDeletions replaces key's record with the pods named by podKeys
// pending deletion.
func (e *Expectations) ExpectDeletions(key string, podKeys []string) {
	e.Expect(key, 0, podKeys)
}

// Expect replaces key's record with adds pending creations and the pods
// named by podKeys pending deletion, for controllers (DaemonSet) that
// create on some nodes and delete on others in one sync.
func (e *Expectations) Expect(key string, adds int, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{adds: adds, deleting: make(map[string]bool, len(podKeys)), at: e.clock.Now()}
	for _, k := range podKeys {
		x.deleting[k] = true
	}
	e.m[key] = x
}

// CreationObserved lowers key's pending creations by one.
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.adds--
	}
}

// DeletionObserved marks podKey as deleted for key, once.
func (e *Expectations) DeletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deleting, podKey)
	}
}

// Forget drops key's record (its object was deleted).
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
