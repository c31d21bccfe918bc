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
// once a container has stayed up for 2×max. It is safe for concurrent use.
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
	if e == nil {
		return 0
	}
	if b.clock.Since(e.last) > 2*b.max {
		delete(b.entries, key)
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

// next records a restart of key now and grows the delay for the one
// after.
func (b *backoff) next(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	e := b.entries[key]
	switch {
	case e == nil || now.Sub(e.last) > 2*b.max:
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
