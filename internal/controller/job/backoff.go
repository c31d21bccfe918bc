package job

import (
	"sync"
	"time"
)

// backoffRecord is what the re-creation back-off of one Job depends on.
type backoffRecord struct {
	// failures counts the pod failures since the last success.
	failures int
	// lastFailure is when the latest of them ended.
	lastFailure time.Time
}

// backoffStore keeps a backoffRecord per Job key, in memory as upstream
// does (after a restart back-off starts over). Safe for concurrent use.
type backoffStore struct {
	mu sync.Mutex
	m  map[string]backoffRecord
}

func newBackoffStore() *backoffStore { return &backoffStore{m: map[string]backoffRecord{}} }

// finishedPod is one newly counted pod outcome.
type finishedPod struct {
	at     time.Time
	failed bool
}

// observe folds newly counted pods into key's record: a success resets
// the count, each later failure adds one.
func (s *backoffStore) observe(key string, pods []finishedPod) {
	if len(pods) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.m[key]
	var lastSuccess time.Time
	for _, p := range pods {
		if !p.failed && p.at.After(lastSuccess) {
			lastSuccess = p.at
		}
	}
	if !lastSuccess.IsZero() {
		r = backoffRecord{}
	}
	for _, p := range pods {
		if p.failed && !p.at.Before(lastSuccess) {
			r.failures++
			if p.at.After(r.lastFailure) {
				r.lastFailure = p.at
			}
		}
	}
	s.m[key] = r
}

func (s *backoffStore) get(key string) backoffRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

func (s *backoffStore) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// remaining returns how long pod creation must still wait after r's
// failures: base doubled per failure beyond the first, capped at max,
// counted from the last failure.
func (r backoffRecord) remaining(now time.Time, base, maxDelay time.Duration) time.Duration {
	if r.failures == 0 {
		return 0
	}
	d := base
	for i := 1; i < r.failures && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return max(r.lastFailure.Add(d).Sub(now), 0)
}
