package kubelet

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Restart backoff of crashing containers, upstream's defaults.
const (
	initialBackoff = 10 * time.Second
	maxBackoff     = 5 * time.Minute
)

// backoff remembers, per container (pod UID + container name), how long
// the next restart must wait after the container last exited. The delay
// starts at initial, doubles on each restart up to max, and starts over
// once a container ran for more than 2×max (10 minutes) after its last
// restart before exiting, as upstream's kubelet does. It is safe for
// concurrent use.
type backoff struct {
	clock        clock.PassiveClock
	initial, max time.Duration

	mu      sync.Mutex
	entries map[string]*backoffEntry
}

type backoffEntry struct {
	delay time.Duration
	// last is when the delay last grew (the restart it allowed).
	last time.Time
	// noticed is the exited container the BackOff event was recorded
	// for, so that one crash gives one event.
	noticed string
}

func newBackoff(c clock.PassiveClock, initial, max time.Duration) *backoff {
	return &backoff{clock: c, initial: initial, max: max, entries: map[string]*backoffEntry{}}
}

// wait returns how long a container that exited at finished must still
// wait before its restart (0: restart now).
func (b *backoff) wait(key string, finished time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[key]
	if e == nil || b.expired(e, finished) {
		return 0
	}
	return max(0, finished.Add(e.delay).Sub(b.clock.Now()))
}

// current returns the delay the next restart waits (0 when none).
func (b *backoff) current(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.entries[key]; e != nil {
		return e.delay
	}
	return 0
}

// expired reports whether the container ran long enough since the
// restart e allowed (it exited at finished) for the delay to start over.
func (b *backoff) expired(e *backoffEntry, finished time.Time) bool {
	return finished.Sub(e.last) > 2*b.max
}

// notice reports whether the exited container id is new to key's entry
// (and remembers it): the first sync that holds a restart back says so.
func (b *backoff) notice(key, id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[key]
	if e == nil || e.noticed == id {
		return false
	}
	e.noticed = id
	return true
}

// next records a restart of key now, of a container that exited at
// finished, and grows the delay for the one after.
func (b *backoff) next(key string, finished time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	e := b.entries[key]
	switch {
	case e == nil || b.expired(e, finished):
		b.entries[key] = &backoffEntry{delay: b.initial, last: now}
	default:
		e.delay = min(2*e.delay, b.max)
		e.last = now
	}
}

// forget drops every entry whose key starts with prefix (a pod's UID).
func (b *backoff) forget(prefix string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.entries {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			delete(b.entries, k)
		}
	}
}
