package nodelifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// zoneState is upstream's classification of a zone's health.
type zoneState int

const (
	stateNormal zoneState = iota
	// statePartialDisruption: more than two nodes, and at least the
	// unhealthy threshold of them, are not ready.
	statePartialDisruption
	// stateFullDisruption: no node is ready.
	stateFullDisruption
)

func (s zoneState) String() string {
	switch s {
	case statePartialDisruption:
		return "PartialDisruption"
	case stateFullDisruption:
		return "FullDisruption"
	}
	return "Normal"
}

// zoneOf is the key of node's failure domain: region and zone labels.
func zoneOf(n *corev1.Node) string {
	return n.Labels[corev1.LabelTopologyRegion] + ":\x00:" + n.Labels[corev1.LabelTopologyZone]
}

// zoneCounts counts a zone's ready and not-ready nodes.
type zoneCounts struct{ ready, notReady int }

// state classifies the zone; threshold is the unhealthy fraction.
func (z zoneCounts) state(threshold float64) zoneState {
	switch {
	case z.ready == 0 && z.notReady > 0:
		return stateFullDisruption
	case z.notReady > 2 && float64(z.notReady)/float64(z.notReady+z.ready) >= threshold:
		return statePartialDisruption
	}
	return stateNormal
}

// bucket is a token bucket of burst one on an injected clock: upstream's
// eviction limiter, which lets one node be tainted at once and then one
// per 1/rate seconds.
type bucket struct {
	rate   float64 // tokens per second; 0 never refills
	tokens float64
	last   time.Time
}

func newBucket(rate float64, now time.Time) *bucket {
	return &bucket{rate: rate, tokens: 1, last: now}
}

func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(1, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// setRate changes the rate, keeping the tokens earned so far.
func (b *bucket) setRate(rate float64, now time.Time) {
	b.refill(now)
	b.rate = rate
}

// take spends a token; when none is left it returns false and how long
// until one is (0 when the rate is 0: never).
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if b.rate <= 0 {
		return false, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
