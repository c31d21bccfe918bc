package nodeipam

import (
	"errors"
	"net/netip"
	"testing"
)

func TestNewCIDRSet(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cluster string
		bits    int
		wantErr bool
		count   int
	}{
		{name: "default", cluster: "10.42.0.0/16", bits: 24, count: 256},
		{name: "unmasked cluster", cluster: "10.42.7.1/16", bits: 24, count: 256},
		{name: "one block", cluster: "10.42.0.0/24", bits: 24, count: 1},
		{name: "ipv6", cluster: "fd00:42::/48", bits: 64, count: 65536},
		{name: "block bigger than cluster", cluster: "10.42.0.0/16", bits: 15, wantErr: true},
		{name: "block longer than address", cluster: "10.42.0.0/16", bits: 33, wantErr: true},
		{name: "too many blocks", cluster: "10.0.0.0/8", bits: 25, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewCIDRSet(netip.MustParsePrefix(tc.cluster), tc.bits)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewCIDRSet: err %v, want error %v", err, tc.wantErr)
			}
			if err == nil && s.count != tc.count {
				t.Errorf("count %d, want %d", s.count, tc.count)
			}
		})
	}
}

func TestCIDRSetAllocate(t *testing.T) {
	s, err := NewCIDRSet(netip.MustParsePrefix("10.42.0.0/22"), 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Occupy(netip.MustParsePrefix("10.42.1.0/24")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		p, err := s.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.String())
	}
	want := []string{"10.42.0.0/24", "10.42.2.0/24", "10.42.3.0/24"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	if _, err := s.Allocate(); !errors.Is(err, ErrNoCIDRsRemaining) {
		t.Fatalf("Allocate on a full set: %v, want ErrNoCIDRsRemaining", err)
	}
	// Released blocks come back, round-robin from the last one handed out.
	for _, p := range []string{"10.42.0.0/24", "10.42.2.0/24"} {
		if err := s.Release(netip.MustParsePrefix(p)); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := s.Allocate(); p.String() != "10.42.0.0/24" {
		t.Errorf("after release: %v, want 10.42.0.0/24", p)
	}
	if p, _ := s.Allocate(); p.String() != "10.42.2.0/24" {
		t.Errorf("after release: %v, want 10.42.2.0/24", p)
	}
	if s.Used() != 4 {
		t.Errorf("Used %d, want 4", s.Used())
	}
}

func TestCIDRSetIPv6(t *testing.T) {
	s, err := NewCIDRSet(netip.MustParsePrefix("fd00:42::/62"), 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Occupy(netip.MustParsePrefix("fd00:42:0:0::/64")); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Allocate(); err != nil || p.String() != "fd00:42:0:1::/64" {
		t.Errorf("Allocate = %v, %v; want fd00:42:0:1::/64", p, err)
	}
	if err := s.Occupy(netip.MustParsePrefix("fd00:42:0:3::/64")); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Allocate(); err != nil || p.String() != "fd00:42:0:2::/64" {
		t.Errorf("Allocate = %v, %v; want fd00:42:0:2::/64", p, err)
	}
}

func TestCIDRSetOutOfRange(t *testing.T) {
	s, err := NewCIDRSet(netip.MustParsePrefix("10.42.0.0/16"), 24)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"10.43.0.0/24", "10.42.0.0/23", "10.42.0.0/25", "10.42.0.5/24", "fd00::/24"} {
		pp, err := netip.ParsePrefix(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Occupy(pp); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("Occupy(%s) = %v, want ErrOutOfRange", p, err)
		}
		if err := s.Release(pp); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("Release(%s) = %v, want ErrOutOfRange", p, err)
		}
	}
	if err := s.Occupy(netip.MustParsePrefix("10.42.255.0/24")); err != nil {
		t.Errorf("Occupy of the last block: %v", err)
	}
}

// TestCIDRSetNeverTwice allocates every block of a set and checks that
// none comes out twice (the property the controller relies on).
func TestCIDRSetNeverTwice(t *testing.T) {
	s, err := NewCIDRSet(netip.MustParsePrefix("10.0.0.0/12"), 24)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Prefix]bool{}
	for {
		p, err := s.Allocate()
		if errors.Is(err, ErrNoCIDRsRemaining) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] || !netip.MustParsePrefix("10.0.0.0/12").Contains(p.Addr()) {
			t.Fatalf("block %v handed out twice or outside the range", p)
		}
		seen[p] = true
	}
	if len(seen) != 4096 {
		t.Errorf("%d blocks, want 4096", len(seen))
	}
}
