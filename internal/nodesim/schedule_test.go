package nodesim

import (
	"container/heap"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestSpreadIsEven(t *testing.T) {
	t.Parallel()
	const n, buckets = 1000, 10
	period := 10 * time.Second
	var count [buckets]int
	for i := range n {
		d := spread(i, period)
		if d < 0 || d >= period {
			t.Fatalf("spread(%d) = %v, outside [0, %v)", i, d, period)
		}
		count[int(d*buckets/period)]++
	}
	for b, c := range count {
		if c < n/buckets-5 || c > n/buckets+5 {
			t.Errorf("bucket %d holds %d of %d offsets: %v", b, c, n, count)
		}
	}
}

func TestPopDue(t *testing.T) {
	t.Parallel()
	var s schedule
	mk := func(name string, kind taskKind, due time.Duration) *task {
		tk := &task{node: &node{spec: NodeSpec{Name: name}}, kind: kind, due: t0.Add(due)}
		heap.Push(&s, tk)
		return tk
	}
	a := mk("a", leaseTask, 3*time.Second)
	b := mk("b", leaseTask, time.Second)
	c := mk("c", statusTask, 2*time.Second)
	mk("d", leaseTask, 9*time.Second)
	period := func(k taskKind) time.Duration {
		if k == leaseTask {
			return 10 * time.Second
		}
		return time.Minute
	}
	got := s.popDue(t0.Add(3*time.Second), period)
	if !slices.Equal(got, []*task{b, c, a}) {
		t.Fatalf("popDue returned %d tasks, want b, c, a in order", len(got))
	}
	if !b.due.Equal(t0.Add(11*time.Second)) || !c.due.Equal(t0.Add(62*time.Second)) || !a.due.Equal(t0.Add(13*time.Second)) {
		t.Errorf("rescheduled at %v %v %v", b.due, c.due, a.due)
	}
	if next, _ := s.next(); !next.Equal(t0.Add(9 * time.Second)) {
		t.Errorf("next = %v, want d's", next)
	}
	// Far behind: the next beat is a full period from now, not a burst.
	got = s.popDue(t0.Add(time.Hour), period)
	if len(got) != 4 {
		t.Fatalf("popDue after an hour returned %d tasks", len(got))
	}
	for _, tk := range got {
		if !tk.due.After(t0.Add(time.Hour)) {
			t.Errorf("%s rescheduled in the past: %v", tk.node.name(), tk.due)
		}
	}
}

func TestAllocator(t *testing.T) {
	t.Parallel()
	a, err := newAllocator("10.42.0.0/22", 24)
	if err != nil {
		t.Fatal(err)
	}
	a.reserve(netip.MustParsePrefix("10.42.1.0/24"))
	var got []string
	for {
		p, err := a.allocate()
		if err != nil {
			break
		}
		got = append(got, p.String())
	}
	if want := []string{"10.42.0.0/24", "10.42.2.0/24", "10.42.3.0/24"}; !slices.Equal(got, want) {
		t.Errorf("allocated %v, want %v", got, want)
	}
	ips, _ := newAllocator("127.100.0.0/30", 32)
	p1, _ := ips.allocate()
	p2, _ := ips.allocate()
	if _, err := ips.allocate(); err == nil || p1.Addr().String() != "127.100.0.1" || p2.Addr().String() != "127.100.0.2" {
		t.Errorf("host addresses %v %v, then err %v", p1, p2, err)
	}
}

func TestPodIPs(t *testing.T) {
	t.Parallel()
	n := &node{spec: NodeSpec{Name: "n1"}, cidr: netip.MustParsePrefix("10.42.7.0/29")}
	n.keepPodIP("ns/old", netip.MustParseAddr("10.42.7.3"))
	var got []string
	for _, k := range []string{"ns/a", "ns/b", "ns/c", "ns/d"} {
		ip, err := n.podIP(k)
		if err != nil {
			t.Fatalf("podIP(%s): %v", k, err)
		}
		got = append(got, ip.String())
	}
	if want := []string{"10.42.7.2", "10.42.7.4", "10.42.7.5", "10.42.7.6"}; !slices.Equal(got, want) {
		t.Errorf("pod IPs %v, want %v", got, want)
	}
	if ip, _ := n.podIP("ns/a"); ip.String() != "10.42.7.2" {
		t.Errorf("second call for ns/a gave %v", ip)
	}
	if _, err := n.podIP("ns/e"); err == nil {
		t.Error("a full /29 still gave an address")
	}
	n.releasePodIP("ns/b")
	if ip, err := n.podIP("ns/e"); err != nil || ip.String() != "10.42.7.4" {
		t.Errorf("after release: %v %v", ip, err)
	}
}
