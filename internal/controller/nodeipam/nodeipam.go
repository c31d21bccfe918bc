package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers (upstream's).
const Name = "nodeipam"

// Upstream's --node-cidr-mask-size defaults.
const (
	DefaultNodeMaskIPv4 = 24
	DefaultNodeMaskIPv6 = 64
)

// Event reasons upstream's allocator records on the Node.
const (
	reasonCIDRNotAvailable     = "CIDRNotAvailable"
	reasonCIDRAssignmentFailed = "CIDRAssignmentFailed"
)

// workers is how many nodes are synced at once.
const workers = 2

// Config configures a Controller.
type Config struct {
	Client   kubernetes.Interface
	Nodes    coreinformers.NodeInformer
	Recorder record.EventRecorder
	// ClusterCIDR is the range node blocks are cut from (--cluster-cidr).
	ClusterCIDR string
	// NodeMaskSize is the prefix length of each node's block (0 means
	// DefaultNodeMaskIPv4 or DefaultNodeMaskIPv6).
	NodeMaskSize int
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller gives Nodes their pod CIDRs.
type Controller struct {
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	recorder record.EventRecorder
	set      *CIDRSet
	log      *slog.Logger
	runner   *controller.Runner
	synced   cache.InformerSynced

	// mu guards owner, the node each block in use was given to (or found
	// on), and byNode, its inverse.
	mu     sync.Mutex
	owner  map[netip.Prefix]string
	byNode map[string]netip.Prefix
}

// Descriptor describes the controller for the Manager.
func Descriptor(clusterCIDR string) controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(c controller.Context) (controller.RunFunc, error) {
		ctl, err := New(Config{
			Client: c.Client, Nodes: c.Informers.Core().V1().Nodes(), Recorder: c.Recorder("node-ipam-controller"),
			ClusterCIDR: clusterCIDR, Logger: c.Logger,
		})
		if err != nil {
			return nil, err
		}
		return ctl.Run, nil
	}}
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Nodes == nil || cfg.Recorder == nil {
		return nil, errors.New("nodeipam: Client, Nodes and Recorder are required")
	}
	cluster, err := netip.ParsePrefix(cfg.ClusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("nodeipam: --cluster-cidr: %w", err)
	}
	if cfg.NodeMaskSize == 0 {
		cfg.NodeMaskSize = DefaultNodeMaskIPv4
		if cluster.Addr().Is6() {
			cfg.NodeMaskSize = DefaultNodeMaskIPv6
		}
	}
	set, err := NewCIDRSet(cluster, cfg.NodeMaskSize)
	if err != nil {
		return nil, fmt.Errorf("nodeipam: %w", err)
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	c := &Controller{
		client: cfg.Client, nodes: cfg.Nodes.Lister(), recorder: cfg.Recorder, set: set, log: cfg.Logger,
		owner: map[netip.Prefix]string{}, byNode: map[string]netip.Prefix{}, synced: cfg.Nodes.Informer().HasSynced,
	}
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Logger: cfg.Logger, Synced: []cache.InformerSynced{cfg.Nodes.Informer().HasSynced},
	})
	if _, err := cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.runner.EnqueueObject,
		UpdateFunc: func(old, cur any) {
			o, n := old.(*corev1.Node), cur.(*corev1.Node)
			if len(n.Spec.PodCIDRs) == 0 || o.Spec.PodCIDR != n.Spec.PodCIDR {
				c.runner.EnqueueObject(cur)
			}
		},
		DeleteFunc: c.runner.EnqueueObject,
	}); err != nil {
		return nil, fmt.Errorf("nodeipam: node informer: %w", err)
	}
	return c, nil
}

// Run rebuilds the blocks in use from the synced Node cache, then syncs
// Nodes until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	if err := c.occupyExisting(); err != nil {
		c.log.Error("Listing nodes failed", "err", err)
		return
	}
	c.runner.Run(ctx, workers)
}

// occupyExisting marks the blocks every cached Node carries as used,
// before any allocation.
func (c *Controller) occupyExisting() error {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, n := range nodes {
		c.occupy(n)
	}
	c.log.Info("Rebuilt the pod CIDRs in use", "nodes", len(nodes), "used", c.set.Used())
	return nil
}

// nodeBlock returns the block of n's podCIDRs in the set's family, if any.
func (c *Controller) nodeBlock(n *corev1.Node) (netip.Prefix, bool) {
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err == nil && p.Addr().Is6() == c.set.cluster.Addr().Is6() {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// occupy records the block n carries as n's. A block outside the cluster
// CIDR is left alone (someone else manages it), and so is a block another
// node already holds: the first holder keeps it.
func (c *Controller) occupy(n *corev1.Node) {
	p, ok := c.nodeBlock(n)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.byNode[n.Name]; ok && prev != p && c.owner[prev] == n.Name {
		c.releaseLocked(prev)
	}
	if holder, ok := c.owner[p]; ok && holder != n.Name {
		c.log.Warn("Node carries a pod CIDR another node holds", "node", n.Name, "podCIDR", p, "holder", holder)
		return
	}
	if err := c.set.Occupy(p); err != nil {
		c.log.Info("Node pod CIDR is outside the cluster CIDR, not tracked", "node", n.Name, "podCIDR", p)
		return
	}
	c.owner[p], c.byNode[n.Name] = n.Name, p
}

// releaseLocked frees block p; c.mu is held.
func (c *Controller) releaseLocked(p netip.Prefix) {
	name := c.owner[p]
	delete(c.owner, p)
	if c.byNode[name] == p {
		delete(c.byNode, name)
	}
	_ = c.set.Release(p) // p was occupied, so it is a block of the set
}

// release frees the block held by the node name, if any.
func (c *Controller) release(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.byNode[name]; ok && c.owner[p] == name {
		c.log.Info("Released pod CIDR", "node", name, "podCIDR", p)
		c.releaseLocked(p)
	}
}

// reserve returns the block to give the node name: the one already
// reserved for it (an earlier update whose result the cache has not seen
// yet), or a new one.
func (c *Controller) reserve(name string) (netip.Prefix, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.byNode[name]; ok && c.owner[p] == name {
		return p, nil
	}
	p, err := c.set.Allocate()
	if err != nil {
		return netip.Prefix{}, err
	}
	c.owner[p], c.byNode[name] = name, p
	return p, nil
}

func (c *Controller) sync(ctx context.Context, name string) error {
	n, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		c.release(name)
		return nil
	}
	if err != nil {
		return err
	}
	if n.DeletionTimestamp != nil {
		return nil // released once it is gone
	}
	if len(n.Spec.PodCIDRs) > 0 || n.Spec.PodCIDR != "" {
		c.occupy(n)
		return nil
	}
	p, err := c.reserve(name)
	if err != nil {
		c.recordStatusChange(n, reasonCIDRNotAvailable)
		return fmt.Errorf("allocate a pod CIDR for node %s from %v: %w", name, c.set.cluster, err)
	}
	if err := c.assign(ctx, n, p); err != nil {
		c.recordStatusChange(n, reasonCIDRAssignmentFailed)
		return err
	}
	return nil
}

// assign writes p into the node's spec, unless the live node already has
// pod CIDRs (then they are recorded instead and p goes back).
func (c *Controller) assign(ctx context.Context, cached *corev1.Node, p netip.Prefix) error {
	nodes := c.client.CoreV1().Nodes()
	n, err := nodes.Get(ctx, cached.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		c.release(cached.Name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get node %s: %w", cached.Name, err)
	}
	if n.UID != cached.UID && cached.UID != "" {
		return fmt.Errorf("node %s was re-created", n.Name) // retry with the new one
	}
	if len(n.Spec.PodCIDRs) > 0 || n.Spec.PodCIDR != "" {
		// Usually our own earlier patch that the cache has not shown
		// yet: then p stays reserved for the node as it is.
		if live, ok := c.nodeBlock(n); !ok || live != p {
			c.release(n.Name)
			c.occupy(n)
		}
		return nil
	}
	// A patch, not an update: the kubelet's status posts must not make it
	// conflict, and the API refuses to change a podCIDR once set.
	patch := fmt.Sprintf(`{"spec":{"podCIDR":%q,"podCIDRs":[%q]}}`, p, p)
	if _, err := nodes.Patch(ctx, n.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("set pod CIDR %v on node %s: %w", p, n.Name, err)
	}
	c.log.Info("Assigned pod CIDR", "node", n.Name, "podCIDR", p)
	return nil
}

// recordStatusChange records upstream's "Node X status is now: Y" event.
func (c *Controller) recordStatusChange(n *corev1.Node, status string) {
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: types.UID(n.Name)}
	c.recorder.Eventf(ref, corev1.EventTypeNormal, status, "Node %s status is now: %s", n.Name, status)
}
