package controller

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestExpectations(t *testing.T) {
	const key = "ns/owner"
	tests := []struct {
		name string
		// act runs against fresh expectations and the fake clock behind them.
		act  func(e *Expectations, c *clocktesting.FakeClock)
		want bool
	}{
		{"no record", func(*Expectations, *clocktesting.FakeClock) {}, true},
		{"creations pending", func(e *Expectations, _ *clocktesting.FakeClock) { e.ExpectCreations(key, 2) }, false},
		{"creations seen", func(e *Expectations, _ *clocktesting.FakeClock) {
			e.ExpectCreations(key, 2)
			e.CreationObserved(key)
			e.CreationObserved(key)
		}, true},
		{"deletion seen twice counts once", func(e *Expectations, _ *clocktesting.FakeClock) {
			e.ExpectDeletions(key, []string{"ns/a", "ns/b"})
			e.DeletionObserved(key, "ns/a")
			e.DeletionObserved(key, "ns/a")
		}, false},
		{"creations and deletions both pending", func(e *Expectations, _ *clocktesting.FakeClock) {
			e.Expect(key, 1, []string{"ns/a"})
			e.CreationObserved(key)
		}, false},
		{"creations and deletions both seen", func(e *Expectations, _ *clocktesting.FakeClock) {
			e.Expect(key, 1, []string{"ns/a"})
			e.CreationObserved(key)
			e.DeletionObserved(key, "ns/a")
		}, true},
		{"expired", func(e *Expectations, c *clocktesting.FakeClock) {
			e.Expect(key, 1, []string{"ns/a"})
			c.Step(ExpectationsTTL + time.Second)
		}, true},
		{"forgotten", func(e *Expectations, _ *clocktesting.FakeClock) {
			e.ExpectCreations(key, 1)
			e.Forget(key)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clocktesting.NewFakeClock(time.Unix(1e9, 0))
			e := NewExpectations(c)
			tt.act(e, c)
			if got := e.Satisfied(key); got != tt.want {
				t.Errorf("Satisfied = %v, want %v", got, tt.want)
			}
		})
	}
}
