package kubelet

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newBackoff(clk, initialBackoff, maxBackoff)
	const key = "uid/web"
	// crash runs the container for ran, lets it exit and returns how long
	// its restart waits; the restart then happens once that has passed.
	crash := func(ran time.Duration) time.Duration {
		clk.Step(ran)
		finished := clk.Now()
		wait := b.wait(key, finished)
		clk.Step(wait)
		b.next(key, finished)
		return wait
	}
	var got []time.Duration
	for range 7 {
		got = append(got, crash(time.Second))
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits %v, want %v", got, want)
		}
	}
	// Ten minutes of running are not enough to start over; more are.
	if w := crash(10 * time.Minute); w != 300*time.Second {
		t.Errorf("after 10 min of running: wait %v, want 5m", w)
	}
	if w := crash(10*time.Minute + time.Second); w != 0 {
		t.Errorf("after more than 10 min of running: wait %v, want 0", w)
	}
	if w := crash(time.Second); w != 10*time.Second {
		t.Errorf("first crash after the reset: wait %v, want 10s", w)
	}
	// One BackOff event per exited container.
	if !b.notice(key, "c1") || b.notice(key, "c1") || !b.notice(key, "c2") {
		t.Error("notice does not report each exited container once")
	}
	b.forget("uid/")
	if b.wait(key, clk.Now()) != 0 {
		t.Error("forget kept the entry")
	}
}
