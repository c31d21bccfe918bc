package watchcache

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRing(t *testing.T) {
	revs := func(es []*event) []int64 {
		out := []int64{}
		for _, e := range es {
			out = append(out, e.rev)
		}
		return out
	}
	r := newRing(3)
	var evicted []int64
	for _, rev := range []int64{2, 3, 5, 7, 8} {
		if old := r.push(&event{rev: rev}); old != nil {
			evicted = append(evicted, old.rev)
		}
	}
	if diff := cmp.Diff([]int64{2, 3}, evicted); diff != "" {
		t.Errorf("evicted (-want +got):\n%s", diff)
	}
	tests := []struct {
		since int64
		want  []int64
	}{
		{since: 0, want: []int64{5, 7, 8}},
		{since: 5, want: []int64{7, 8}},
		{since: 6, want: []int64{7, 8}},
		{since: 8, want: []int64{}},
		{since: 9, want: []int64{}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, revs(r.since(tc.since))); diff != "" {
			t.Errorf("since(%d) (-want +got):\n%s", tc.since, diff)
		}
	}
	r.reset()
	if got := r.since(0); len(got) != 0 {
		t.Errorf("after reset: %d events", len(got))
	}
}
