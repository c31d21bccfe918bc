package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"sync"
)

// ErrNoCIDRsRemaining is returned by Allocate when every block is taken.
var ErrNoCIDRsRemaining = errors.New("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")

// ErrOutOfRange is returned by Occupy and Release for a block that is not
// a block of the set.
var ErrOutOfRange = errors.New("CIDR is not a block of the cluster CIDR")

// maxBlockBits bounds the number of blocks (2^16, upstream's limit), so
// the bookkeeping stays small.
const maxBlockBits = 16

// CIDRSet hands out the blocks of size blockBits of a cluster CIDR. It is
// safe for concurrent use.
type CIDRSet struct {
	cluster   netip.Prefix
	blockBits int
	count     int // number of blocks

	mu   sync.Mutex
	used map[int]bool
	next int // where the next search starts
}

// NewCIDRSet returns an empty set of the /blockBits blocks of cluster.
func NewCIDRSet(cluster netip.Prefix, blockBits int) (*CIDRSet, error) {
	if !cluster.IsValid() {
		return nil, fmt.Errorf("invalid cluster CIDR %v", cluster)
	}
	cluster = cluster.Masked()
	if blockBits < cluster.Bits() || blockBits > cluster.Addr().BitLen() {
		return nil, fmt.Errorf("node CIDR mask size %d must be between the cluster CIDR's %d and %d", blockBits, cluster.Bits(), cluster.Addr().BitLen())
	}
	if blockBits-cluster.Bits() > maxBlockBits {
		return nil, fmt.Errorf("node CIDR mask size %d is more than %d bits longer than the cluster CIDR %v", blockBits, maxBlockBits, cluster)
	}
	return &CIDRSet{cluster: cluster, blockBits: blockBits, count: 1 << (blockBits - cluster.Bits()), used: map[int]bool{}}, nil
}

// Allocate takes the first free block at or after the one following the
// last block allocated (wrapping around), or returns ErrNoCIDRsRemaining.
func (s *CIDRSet) Allocate() (netip.Prefix, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.count {
		idx := (s.next + i) % s.count
		if !s.used[idx] {
			s.used[idx] = true
			s.next = (idx + 1) % s.count
			return s.block(idx), nil
		}
	}
	return netip.Prefix{}, ErrNoCIDRsRemaining
}

// Occupy marks p used; it is not an error when it already is.
func (s *CIDRSet) Occupy(p netip.Prefix) error {
	idx, err := s.index(p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used[idx] = true
	return nil
}

// Release marks p free; it is not an error when it already is.
func (s *CIDRSet) Release(p netip.Prefix) error {
	idx, err := s.index(p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.used, idx)
	return nil
}

// Used returns how many blocks are taken.
func (s *CIDRSet) Used() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.used)
}

// block returns the idx-th block.
func (s *CIDRSet) block(idx int) netip.Prefix {
	shift := uint(s.cluster.Addr().BitLen() - s.blockBits)
	base := new(big.Int).SetBytes(s.cluster.Addr().AsSlice())
	base.Add(base, new(big.Int).Lsh(big.NewInt(int64(idx)), shift))
	b := make([]byte, s.cluster.Addr().BitLen()/8)
	base.FillBytes(b)
	addr, _ := netip.AddrFromSlice(b) // b has the family's length
	return netip.PrefixFrom(addr, s.blockBits)
}

// index returns the index of block p, which must be exactly one block of
// the set (a bigger or smaller prefix, or one outside, is ErrOutOfRange).
func (s *CIDRSet) index(p netip.Prefix) (int, error) {
	if !p.IsValid() || p.Bits() != s.blockBits || p.Masked() != p || !s.cluster.Contains(p.Addr()) {
		return 0, fmt.Errorf("%v (cluster CIDR %v, /%d blocks): %w", p, s.cluster, s.blockBits, ErrOutOfRange)
	}
	diff := new(big.Int).SetBytes(p.Addr().AsSlice())
	diff.Sub(diff, new(big.Int).SetBytes(s.cluster.Addr().AsSlice()))
	diff.Rsh(diff, uint(p.Addr().BitLen()-s.blockBits))
	return int(diff.Int64()), nil
}
