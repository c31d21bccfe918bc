package serviceendpoint

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TriggerTimes computes, for each Service, the time of the earliest
// change a sync incorporates (the value of the
// endpoints.kubernetes.io/last-change-trigger-time annotation): the
// Service's creation, or a selected pod's last Ready transition, newer
// than what the previous sync saw. It is safe for concurrent use.
type TriggerTimes struct {
	mu    sync.Mutex
	state map[string]*serviceTriggers
}

type serviceTriggers struct {
	service time.Time
	pods    map[string]time.Time
}

func NewTriggerTimes() *TriggerTimes {
	return &TriggerTimes{state: map[string]*serviceTriggers{}}
}

// Compute returns the trigger time for the service key and records what
// it saw; the zero time means nothing changed.
func (t *TriggerTimes) Compute(key string, svc *corev1.Service, pods []*corev1.Pod) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.state[key]
	if !ok {
		old = &serviceTriggers{}
	}
	next := &serviceTriggers{service: svc.CreationTimestamp.Time, pods: make(map[string]time.Time, len(pods))}
	var earliest time.Time
	consider := func(ts time.Time) {
		if !ts.IsZero() && (earliest.IsZero() || ts.Before(earliest)) {
			earliest = ts
		}
	}
	if next.service.After(old.service) {
		consider(next.service)
	}
	for _, pod := range pods {
		ts := ReadyTime(pod)
		if ts.IsZero() {
			continue
		}
		next.pods[pod.Name] = ts
		if ts.After(old.pods[pod.Name]) {
			consider(ts)
		}
	}
	t.state[key] = next
	return earliest
}

// Forget drops what was recorded for the service key.
func (t *TriggerTimes) Forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.state, key)
}
