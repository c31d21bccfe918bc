package daemonset

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// expectationsTTL bounds how long a sync waits for creations and deletions
// it asked for before trusting the cache again.
const expectationsTTL = 5 * time.Minute

// expectations counts, per DaemonSet key, the pod creations and deletions
// not yet seen through the informer; a sync creates or deletes pods only
// when none are pending, so that a stale cache never doubles a pod.
// Deletions are tracked by pod key so that one pod counts once. Safe for
// concurrent use.
type expectations struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	m     map[string]*expectation
}

type expectation struct {
	adds     int
	deleting map[string]bool
	at       time.Time
}

func newExpectations(c clock.PassiveClock) *expectations {
	return &expectations{clock: c, m: map[string]*expectation{}}
}

// satisfied reports whether key has nothing pending, or its record
// expired.
func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok || (x.adds <= 0 && len(x.deleting) == 0) {
		return true
	}
	return e.clock.Since(x.at) > expectationsTTL
}

// expect replaces key's record with adds creations and the deletions of
// podKeys.
func (e *expectations) expect(key string, adds int, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{adds: adds, deleting: map[string]bool{}, at: e.clock.Now()}
	for _, k := range podKeys {
		x.deleting[k] = true
	}
	e.m[key] = x
}

func (e *expectations) creationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.adds--
	}
}

func (e *expectations) deletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deleting, podKey)
	}
}

func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
