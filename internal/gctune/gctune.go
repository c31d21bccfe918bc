// Package gctune trades memory for CPU while the process is busy and
// gives the memory back when it is idle.
//
// Go's default GOGC of 100 lets the heap grow to twice the live data
// before collecting. Under a burst of API writes the server allocates a
// few hundred megabytes a second and the collector then takes a tenth of
// the CPU; a higher GOGC collects less often. At idle the default keeps
// the resident size small, which matters as much (edge machines). The
// tuner watches the allocation rate and switches between the two; a
// memory limit bounds the busy setting so a large heap falls back to the
// collector's normal pacing instead of growing without bound. A GOGC or
// GOMEMLIMIT set in the environment wins: the tuner then does nothing.
package gctune

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Policy says when the process counts as busy and what it then uses.
type Policy struct {
	// BusyAllocRate is the allocation rate, in bytes per second, above
	// which the process is busy.
	BusyAllocRate float64
	// CalmAfter is how long the rate must stay below BusyAllocRate before
	// the idle setting returns.
	CalmAfter time.Duration
	// IdlePercent and BusyPercent are the GOGC values of each state.
	IdlePercent, BusyPercent int
	// BusyLimit is the soft memory limit while busy (debug.SetMemoryLimit).
	BusyLimit int64
}

// DefaultPolicy: busy above 32 MiB/s of allocation (an idle server
// allocates well under 1 MiB/s), GOGC 300 while busy, bounded by a 1 GiB
// soft limit, back to 100 after 10 s below the rate.
func DefaultPolicy() Policy {
	return Policy{BusyAllocRate: 32 << 20, CalmAfter: 10 * time.Second, IdlePercent: 100, BusyPercent: 300, BusyLimit: 1 << 30}
}

// state is the tuner's memory between samples.
type state struct {
	busy      bool
	calmSince time.Time
}

// next decides the state after a sample of rate bytes/s taken at now, and
// whether it changed.
func (p Policy) next(s state, rate float64, now time.Time) (state, bool) {
	if rate >= p.BusyAllocRate {
		changed := !s.busy
		return state{busy: true}, changed
	}
	if !s.busy {
		return s, false
	}
	if s.calmSince.IsZero() {
		s.calmSince = now
		return s, false
	}
	if now.Sub(s.calmSince) >= p.CalmAfter {
		return state{}, true
	}
	return s, false
}

// Run tunes the collector until ctx ends, sampling every second, and
// restores the idle setting on return. It returns at once when GOGC or
// GOMEMLIMIT is set in the environment.
func Run(ctx context.Context, p Policy, log *slog.Logger) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	last, lastAt := sample[0].Value.Uint64(), time.Now()
	var s state
	initialLimit := debug.SetMemoryLimit(-1)
	apply := func(busy bool) {
		if busy {
			debug.SetMemoryLimit(p.BusyLimit)
			debug.SetGCPercent(p.BusyPercent)
			return
		}
		debug.SetGCPercent(p.IdlePercent)
		debug.SetMemoryLimit(initialLimit)
	}
	defer func() {
		if s.busy {
			apply(false)
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			metrics.Read(sample)
			cur := sample[0].Value.Uint64()
			rate := float64(cur-last) / now.Sub(lastAt).Seconds()
			last, lastAt = cur, now
			var changed bool
			if s, changed = p.next(s, rate, now); changed {
				log.Debug("Tuning the garbage collector", "busy", s.busy, "allocMiBPerSecond", int(rate/(1<<20)))
				apply(s.busy)
				if !s.busy {
					// The heap grown while busy is garbage now: hand it back.
					debug.FreeOSMemory()
				}
			}
		}
	}
}
