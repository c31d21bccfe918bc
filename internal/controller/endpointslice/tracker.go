package endpointslice

import (
	"strconv"
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// tracker remembers the slices the controller wrote until its informer
// cache shows them, so that a sync can tell a cache that lags behind its
// own writes (planning from it would create duplicate slices). It is
// safe for concurrent use.
type tracker struct {
	mu sync.Mutex
	// written maps a service key to its slices' UIDs and the
	// resourceVersion written; deleted ones map to "".
	written map[string]map[types.UID]string
}

func newTracker() *tracker { return &tracker{written: map[string]map[types.UID]string{}} }

// wrote records a create or update of s for the service key.
func (t *tracker) wrote(key string, s *discoveryv1.EndpointSlice) {
	t.set(key, s.UID, s.ResourceVersion)
}

// deleted records a delete of s for the service key.
func (t *tracker) deleted(key string, s *discoveryv1.EndpointSlice) { t.set(key, s.UID, "") }

func (t *tracker) set(key string, uid types.UID, rv string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.written[key]
	if m == nil {
		m = map[types.UID]string{}
		t.written[key] = m
	}
	m[uid] = rv
}

// observedDeletion forgets s once the cache saw it go (deleted by the
// controller or by anyone else).
func (t *tracker) observedDeletion(key string, s *discoveryv1.EndpointSlice) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m := t.written[key]; m != nil {
		delete(m, s.UID)
		if len(m) == 0 {
			delete(t.written, key)
		}
	}
}

// forget drops everything recorded for the service key.
func (t *tracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.written, key)
}

// stale reports whether cached (the service's slices in the informer
// cache) lacks one of the controller's writes; writes the cache shows are
// forgotten.
func (t *tracker) stale(key string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.written[key]
	if len(m) == 0 {
		return false
	}
	byUID := make(map[types.UID]*discoveryv1.EndpointSlice, len(cached))
	for _, s := range cached {
		byUID[s.UID] = s
	}
	isStale := false
	for uid, rv := range m {
		s, inCache := byUID[uid]
		seen := !inCache
		if rv != "" {
			seen = inCache && !olderRV(s.ResourceVersion, rv)
		}
		if seen {
			delete(m, uid)
		} else {
			isStale = true
		}
	}
	if len(m) == 0 {
		delete(t.written, key)
	}
	return isStale
}

// olderRV reports whether resourceVersion a is older than b; versions
// that are not numbers are never older.
func olderRV(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x < y
}
