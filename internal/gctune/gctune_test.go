package gctune

import (
	"testing"
	"time"
)

func TestPolicy(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Unix(1000, 0)
	busyRate, calmRate := p.BusyAllocRate*2, p.BusyAllocRate/100
	steps := []struct {
		at          time.Duration
		rate        float64
		wantBusy    bool
		wantChanged bool
	}{
		{0, calmRate, false, false},
		{1 * time.Second, busyRate, true, true},
		{2 * time.Second, busyRate, true, false},
		{3 * time.Second, calmRate, true, false}, // calm starts
		{8 * time.Second, calmRate, true, false},
		{9 * time.Second, busyRate, true, false}, // a burst resets the calm period
		{10 * time.Second, calmRate, true, false},
		{19 * time.Second, calmRate, true, false},
		{20 * time.Second, calmRate, false, true}, // 10 s calm
		{21 * time.Second, calmRate, false, false},
	}
	var s state
	for _, st := range steps {
		var changed bool
		s, changed = p.next(s, st.rate, t0.Add(st.at))
		if s.busy != st.wantBusy || changed != st.wantChanged {
			t.Fatalf("at %v rate %.0f: busy=%v changed=%v, want %v %v", st.at, st.rate, s.busy, changed, st.wantBusy, st.wantChanged)
		}
	}
}
