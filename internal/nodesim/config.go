package nodesim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// Defaults of Config and NodeSpec.
const (
	// DefaultHeartbeatInterval is how often a node renews its Lease: a
	// quarter of the lease duration, as the kubelet does.
	DefaultHeartbeatInterval = 10 * time.Second
	// DefaultLeaseDuration is the leaseDurationSeconds of node Leases.
	DefaultLeaseDuration = 40 * time.Second
	// DefaultStatusInterval is how often a node refreshes its Ready
	// condition's heartbeat when nothing changed (the kubelet's
	// nodeStatusReportFrequency).
	DefaultStatusInterval = 5 * time.Minute
	// DefaultKubeletVersion is reported in status.nodeInfo.
	DefaultKubeletVersion = "v1.37.2"
	// DefaultPodCIDR is the range node pod CIDRs are cut from (Skiff's
	// default --cluster-cidr).
	DefaultPodCIDR = "10.42.0.0/16"
	// DefaultNodeCIDRMaskSize is the prefix length of each node's pod
	// CIDR.
	DefaultNodeCIDRMaskSize = 24
	// DefaultNodeIPRange is where node InternalIPs come from. It is a
	// loopback range on purpose: anything that dials a simulated node
	// (logs, exec, metrics) reaches this machine and nothing else.
	DefaultNodeIPRange = "127.100.0.0/16"
	// DefaultNamePrefix names nodes made from Config.Count.
	DefaultNamePrefix = "sim-"
)

// NodeSpec describes one simulated node. Zero fields take the defaults
// noted on them.
type NodeSpec struct {
	// Name of the Node; required in Config.Nodes, generated for
	// Config.Count.
	Name string
	// Labels are added to the well-known ones (kubernetes.io/hostname,
	// kubernetes.io/os, kubernetes.io/arch and their beta twins).
	Labels map[string]string
	// Annotations are added to the kubelet's usual ones.
	Annotations map[string]string
	// Roles become node-role.kubernetes.io/<role>="" labels, which
	// `kubectl get nodes` shows under ROLES.
	Roles []string
	// Zone and Region, when set, become the topology.kubernetes.io
	// labels.
	Zone, Region string
	// Capacity defaults to cpu 32, memory 128Gi, pods 110,
	// ephemeral-storage 100Gi; Allocatable defaults to Capacity.
	Capacity, Allocatable corev1.ResourceList
	// Taints of the Node at registration.
	Taints []corev1.Taint
	// Unschedulable cordons the node at registration.
	Unschedulable bool
	// PodCIDR defaults to the next free block of Config.PodCIDR.
	PodCIDR string
	// InternalIP defaults to the next address of Config.NodeIPRange.
	InternalIP string
}

// Config configures a Simulator.
type Config struct {
	// Client talks to the API server. Give it no client-side rate limit
	// (NewClient does that) when simulating many nodes. Required.
	Client kubernetes.Interface
	// Nodes are registered when Run starts.
	Nodes []NodeSpec
	// Count more nodes are made from Template, named NamePrefix followed
	// by a zero-padded index (sim-0, or sim-0000 … sim-4999 for 5000).
	Count    int
	Template NodeSpec
	// NamePrefix defaults to DefaultNamePrefix.
	NamePrefix string
	// Zones, when set, are dealt round-robin to the Count nodes that have
	// no Zone in Template.
	Zones []string

	// HeartbeatInterval is how often each node renews its Lease; defaults
	// to DefaultHeartbeatInterval. Renewals of different nodes are spread
	// evenly over the interval.
	HeartbeatInterval time.Duration
	// LeaseDuration defaults to DefaultLeaseDuration.
	LeaseDuration time.Duration
	// StatusInterval is how often each node refreshes its conditions'
	// lastHeartbeatTime; defaults to DefaultStatusInterval.
	StatusInterval time.Duration
	// PodStartDelay is how long a bound pod stays Pending
	// (ContainerCreating) before its containers run; default 0.
	PodStartDelay time.Duration

	// KubeletVersion defaults to DefaultKubeletVersion.
	KubeletVersion string
	// PodCIDR and NodeCIDRMaskSize default to DefaultPodCIDR and
	// DefaultNodeCIDRMaskSize; New fails if the range has fewer blocks
	// than nodes.
	PodCIDR          string
	NodeCIDRMaskSize int
	// NodeIPRange defaults to DefaultNodeIPRange.
	NodeIPRange string

	// PodWorkers is how many pods are synced at once; default 8.
	PodWorkers int
	// HeartbeatWorkers is how many heartbeats (and registrations) are
	// sent at once; default 32.
	HeartbeatWorkers int
	// Clock defaults to the real clock.
	Clock clock.WithDelayedExecution
	// Logger defaults to discarding.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.KubeletVersion == "" {
		c.KubeletVersion = DefaultKubeletVersion
	}
	if c.PodCIDR == "" {
		c.PodCIDR = DefaultPodCIDR
	}
	if c.NodeCIDRMaskSize == 0 {
		c.NodeCIDRMaskSize = DefaultNodeCIDRMaskSize
	}
	if c.NodeIPRange == "" {
		c.NodeIPRange = DefaultNodeIPRange
	}
	if c.NamePrefix == "" {
		c.NamePrefix = DefaultNamePrefix
	}
	if c.PodWorkers <= 0 {
		c.PodWorkers = 8
	}
	if c.HeartbeatWorkers <= 0 {
		c.HeartbeatWorkers = 32
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// specs returns Nodes followed by the Count nodes made from Template.
func (c *Config) specs() []NodeSpec {
	out := append([]NodeSpec(nil), c.Nodes...)
	width := len(strconv.Itoa(max(c.Count-1, 0)))
	for i := range c.Count {
		s := c.Template
		s.Name = fmt.Sprintf("%s%0*d", c.NamePrefix, width, i)
		if s.Zone == "" && len(c.Zones) > 0 {
			s.Zone = c.Zones[i%len(c.Zones)]
		}
		out = append(out, s)
	}
	return out
}

// defaultCapacity is a generous worker node.
func defaultCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("32"),
		corev1.ResourceMemory:           resource.MustParse("128Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
}

// allocator hands out the i-th block of a prefix: pod CIDRs and node IPs.
type allocator struct {
	base netip.Prefix
	bits int // prefix length of each block
	next uint64
	used map[netip.Prefix]bool
}

// errExhausted is returned when a range has no block left.
var errExhausted = errors.New("range exhausted")

func newAllocator(cidr string, bits int) (*allocator, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", cidr, err)
	}
	if !p.Addr().Is4() || bits < p.Bits() || bits > 32 {
		return nil, fmt.Errorf("cannot cut /%d blocks from %s (IPv4 only)", bits, cidr)
	}
	return &allocator{base: p.Masked(), bits: bits, used: map[netip.Prefix]bool{}}, nil
}

// size is the number of blocks in the range.
func (a *allocator) size() uint64 { return 1 << (a.bits - a.base.Bits()) }

// reserve marks p taken (a block chosen by the caller).
func (a *allocator) reserve(p netip.Prefix) { a.used[p.Masked()] = true }

// allocate returns the next free block; block 0 is skipped when blocks
// are single addresses (the network address).
func (a *allocator) allocate() (netip.Prefix, error) {
	start := a.base.Addr().As4()
	base := uint64(start[0])<<24 | uint64(start[1])<<16 | uint64(start[2])<<8 | uint64(start[3])
	step := uint64(1) << (32 - a.bits)
	for a.next < a.size() {
		i := a.next
		a.next++
		if a.bits == 32 && (i == 0 || i == a.size()-1) {
			continue
		}
		v := base + i*step
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), a.bits)
		if !a.used[p] {
			a.used[p] = true
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("%s: %w", a.base, errExhausted)
}
