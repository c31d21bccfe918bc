package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coordinationinformers "k8s.io/client-go/informers/coordination/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers (upstream's).
const Name = "nodelifecycle"

// Upstream's defaults (kube-controller-manager flags).
const (
	// DefaultGracePeriod is --node-monitor-grace-period.
	DefaultGracePeriod = 40 * time.Second
	// DefaultMonitorPeriod is --node-monitor-period.
	DefaultMonitorPeriod = 5 * time.Second
	// DefaultEvictionRate is --node-eviction-rate, nodes per second.
	DefaultEvictionRate = 0.1
	// DefaultSecondaryEvictionRate is --secondary-node-eviction-rate.
	DefaultSecondaryEvictionRate = 0.01
	// DefaultLargeClusterThreshold is --large-cluster-size-threshold.
	DefaultLargeClusterThreshold = 50
	// DefaultUnhealthyZoneThreshold is --unhealthy-zone-threshold.
	DefaultUnhealthyZoneThreshold = 0.55
)

// LeaseNamespace holds the nodes' heartbeat Leases.
const LeaseNamespace = corev1.NamespaceNodeLease

// workers is how many nodes are synced at once.
const workers = 4

// Config configures a Controller. Zero values take upstream's defaults.
type Config struct {
	Client   kubernetes.Interface
	Nodes    coreinformers.NodeInformer
	Leases   coordinationinformers.LeaseInformer
	Pods     coreinformers.PodInformer
	Recorder record.EventRecorder
	// GracePeriod is how long a node may go without a heartbeat before
	// its conditions turn Unknown.
	GracePeriod time.Duration
	// MonitorPeriod is how often node health is checked; the default is
	// upstream's 5s, or GracePeriod/8 when that is shorter.
	MonitorPeriod time.Duration
	// EvictionRate is how many nodes per second and zone may get a
	// NoExecute taint in a healthy zone.
	EvictionRate float64
	// SecondaryEvictionRate replaces EvictionRate in a zone larger than
	// LargeClusterThreshold nodes that is partially disrupted (a smaller
	// one gets no new NoExecute taints at all).
	SecondaryEvictionRate float64
	LargeClusterThreshold int
	// UnhealthyZoneThreshold is the fraction of not-ready nodes (of more
	// than two) that makes a zone partially disrupted.
	UnhealthyZoneThreshold float64
	// Clock; nil means the real clock.
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

func (cfg *Config) setDefaults() {
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	if cfg.MonitorPeriod <= 0 {
		// A shortened grace period (tests) needs a shorter period.
		cfg.MonitorPeriod = min(DefaultMonitorPeriod, cfg.GracePeriod/8)
	}
	if cfg.EvictionRate <= 0 {
		cfg.EvictionRate = DefaultEvictionRate
	}
	if cfg.SecondaryEvictionRate <= 0 {
		cfg.SecondaryEvictionRate = DefaultSecondaryEvictionRate
	}
	if cfg.LargeClusterThreshold <= 0 {
		cfg.LargeClusterThreshold = DefaultLargeClusterThreshold
	}
	if cfg.UnhealthyZoneThreshold <= 0 {
		cfg.UnhealthyZoneThreshold = DefaultUnhealthyZoneThreshold
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
}

// health is what the controller remembers of a node's heartbeats.
type health struct {
	// probe is the controller-clock time of the last heartbeat seen.
	probe     time.Time
	heartbeat metav1.Time
	renew     time.Time
}

// Controller marks silent nodes Unknown and keeps the taints that follow
// from node conditions.
type Controller struct {
	cfg    Config
	client kubernetes.Interface
	nodes  corelisters.NodeLister
	leases coordinationlisters.LeaseLister
	pods   cache.Indexer
	synced []cache.InformerSynced
	clock  clock.Clock
	log    *slog.Logger
	rec    record.EventRecorder
	runner *controller.Runner

	// health is touched only by the monitor loop.
	health map[string]*health

	mu      sync.Mutex
	buckets map[string]*bucket // zone → NoExecute tainting limiter
	allDown bool               // every zone is fully disrupted
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Nodes == nil || cfg.Leases == nil || cfg.Pods == nil {
		return nil, errors.New("nodelifecycle: Client, Nodes, Leases and Pods are required")
	}
	cfg.setDefaults()
	if err := addNodeIndex(cfg.Pods.Informer()); err != nil {
		return nil, err
	}
	c := &Controller{
		cfg: cfg, client: cfg.Client, nodes: cfg.Nodes.Lister(), leases: cfg.Leases.Lister(),
		pods: cfg.Pods.Informer().GetIndexer(), clock: cfg.Clock, log: cfg.Logger, rec: cfg.Recorder,
		synced: []cache.InformerSynced{cfg.Nodes.Informer().HasSynced, cfg.Leases.Informer().HasSynced, cfg.Pods.Informer().HasSynced},
		health: map[string]*health{}, buckets: map[string]*bucket{},
	}
	c.runner = controller.NewRunner(controller.RunnerConfig{Name: Name, Sync: c.sync, Synced: c.synced, Logger: cfg.Logger})
	if _, err := cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.runner.EnqueueObject,
		UpdateFunc: func(old, cur any) {
			if old.(*corev1.Node).ResourceVersion != cur.(*corev1.Node).ResourceVersion {
				c.runner.EnqueueObject(cur)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("node informer: %w", err)
	}
	podChanged := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" && podReady(p) {
			c.runner.Enqueue(p.Spec.NodeName)
		}
	}
	if _, err := cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    podChanged,
		UpdateFunc: func(_, cur any) { podChanged(cur) },
	}); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	return c, nil
}

// Descriptor describes the controller for the Manager; cfg's informers,
// client, recorder and logger are filled from the manager's context.
func Descriptor(cfg Config) controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		cfg.Client, cfg.Logger = cc.Client, cc.Logger
		cfg.Nodes, cfg.Pods = cc.Informers.Core().V1().Nodes(), cc.Informers.Core().V1().Pods()
		cfg.Leases = cc.Informers.Coordination().V1().Leases()
		cfg.Recorder = cc.Recorder("node-controller")
		c, err := New(cfg)
		if err != nil {
			return nil, err
		}
		return c.Run, nil
	}}
}

// Run monitors nodes every MonitorPeriod and syncs their taints until ctx
// ends.
func (c *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { c.runner.Run(ctx, workers) })
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	for {
		if err := c.monitor(ctx); err != nil && ctx.Err() == nil {
			c.log.Info("Node monitoring incomplete, will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.clock.After(c.cfg.MonitorPeriod):
		}
	}
}

// observe updates h from node's Ready heartbeat and Lease, as of now.
func (c *Controller) observe(node *corev1.Node, now time.Time) *health {
	h := c.health[node.Name]
	if h == nil {
		h = &health{probe: now}
		c.health[node.Name] = h
	}
	if rc := condition(&node.Status, corev1.NodeReady); rc != nil && !rc.LastHeartbeatTime.Equal(&h.heartbeat) {
		h.heartbeat = rc.LastHeartbeatTime
		h.probe = now
	}
	l, err := c.leases.Leases(LeaseNamespace).Get(node.Name)
	if err == nil && l.Spec.RenewTime != nil && l.Spec.RenewTime.After(h.renew) {
		h.renew = l.Spec.RenewTime.Time
		h.probe = now
	}
	return h
}

// monitor runs one health pass: nodes silent for longer than the grace
// period turn Unknown, zone states and tainting rates are recomputed, and
// every node is enqueued for its taints.
func (c *Controller) monitor(ctx context.Context) error {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	now := c.clock.Now()
	seen := make(map[string]bool, len(nodes))
	zones := map[string]*zoneCounts{}
	var errs []error
	for _, node := range nodes {
		seen[node.Name] = true
		h := c.observe(node, now)
		if now.Sub(h.probe) > c.cfg.GracePeriod {
			n := node.DeepCopy()
			if markUnknown(n, now) {
				wasReady := readyStatus(node) == corev1.ConditionTrue
				c.log.Info("Node stopped posting status", "node", node.Name, "silentFor", now.Sub(h.probe).Round(time.Second))
				updated, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
				if err != nil {
					errs = append(errs, fmt.Errorf("update status of node %s: %w", node.Name, err))
				} else {
					node = updated
					if wasReady {
						c.rec.Eventf(nodeRef(node.Name), corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", node.Name)
					}
				}
			}
		}
		z := zones[zoneOf(node)]
		if z == nil {
			z = &zoneCounts{}
			zones[zoneOf(node)] = z
		}
		if readyStatus(node) == corev1.ConditionTrue {
			z.ready++
		} else {
			z.notReady++
		}
	}
	for name := range c.health {
		if !seen[name] {
			delete(c.health, name)
		}
	}
	c.setZoneRates(zones, now)
	for _, node := range nodes {
		c.runner.Enqueue(node.Name)
	}
	return errors.Join(errs...)
}

// setZoneRates applies upstream's disruption rules to the zones' tainting
// limiters.
func (c *Controller) setZoneRates(zones map[string]*zoneCounts, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	allDown := len(zones) > 0
	for _, z := range zones {
		if z.state(c.cfg.UnhealthyZoneThreshold) != stateFullDisruption {
			allDown = false
		}
	}
	if allDown != c.allDown {
		if allDown {
			c.log.Info("No node is ready: a control-plane partition is more likely than a dead cluster, so no pods are evicted")
		} else {
			c.log.Info("Some nodes are ready again: evictions resume")
		}
		c.allDown = allDown
	}
	for key, z := range zones {
		rate := c.cfg.EvictionRate
		st := z.state(c.cfg.UnhealthyZoneThreshold)
		if st == statePartialDisruption {
			rate = 0
			if z.ready+z.notReady > c.cfg.LargeClusterThreshold {
				rate = c.cfg.SecondaryEvictionRate
			}
		}
		b := c.buckets[key]
		if b == nil {
			c.buckets[key] = newBucket(rate, now)
		} else {
			b.setRate(rate, now)
		}
	}
	for key := range c.buckets {
		if zones[key] == nil {
			delete(c.buckets, key)
		}
	}
}

// takeToken spends one of zone's tainting tokens; when none is left it
// returns false and how long to wait.
func (c *Controller) takeToken(zone string, now time.Time) (bool, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buckets[zone]
	if b == nil {
		b = newBucket(c.cfg.EvictionRate, now)
		c.buckets[zone] = b
	}
	return b.take(now)
}

// sync keeps the taints of the node named key in line with its conditions
// and marks its pods not ready when it is not ready.
func (c *Controller) sync(ctx context.Context, key string) error {
	node, err := c.nodes.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	now := c.clock.Now()
	taints, changed := reconcileTaints(node.Spec.Taints, ownedNoSchedule, wantNoSchedule(node), now)
	var wantNE []corev1.Taint
	c.mu.Lock()
	allDown := c.allDown
	c.mu.Unlock()
	var retry error
	if ne := wantNoExecute(node); ne != nil && !allDown {
		swap := false
		for _, t := range taints {
			swap = swap || ownedNoExecute(t)
		}
		if hasTaint(taints, *ne) || swap {
			// Already tainted, or not-ready and unreachable trade
			// places: no new eviction starts, so no token is spent.
			wantNE = []corev1.Taint{*ne}
		} else if ok, wait := c.takeToken(zoneOf(node), now); ok {
			wantNE = []corev1.Taint{*ne}
		} else {
			if wait <= 0 {
				wait = c.cfg.MonitorPeriod
			}
			retry = controller.RequeueAfter(wait, fmt.Errorf("zone of node %s is at its eviction rate", key))
		}
	}
	var ch2 bool
	taints, ch2 = reconcileTaints(taints, ownedNoExecute, wantNE, now)
	if changed || ch2 {
		n := node.DeepCopy()
		n.Spec.Taints = taints
		if _, err := c.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update taints of node %s: %w", key, err)
		}
		c.log.Info("Updated node taints", "node", key, "taints", taintStrings(taints))
	}
	if readyStatus(node) != corev1.ConditionTrue {
		if err := c.markPodsNotReady(ctx, key, now); err != nil {
			return err
		}
	}
	return retry
}

// markPodsNotReady sets Ready=False on the pods of node that report
// Ready otherwise.
func (c *Controller) markPodsNotReady(ctx context.Context, node string, now time.Time) error {
	objs, err := c.pods.ByIndex(nodeIndex, node)
	if err != nil {
		return fmt.Errorf("pods of node %s: %w", node, err)
	}
	var errs []error
	for _, o := range objs {
		pod := o.(*corev1.Pod)
		if !podReady(pod) {
			continue
		}
		p := pod.DeepCopy()
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == corev1.PodReady {
				p.Status.Conditions[i].Status = corev1.ConditionFalse
				p.Status.Conditions[i].LastTransitionTime = metav1.NewTime(now)
			}
		}
		if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("mark pod %s/%s not ready: %w", p.Namespace, p.Name, err))
			}
			continue
		}
		c.rec.Event(pod, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	}
	return errors.Join(errs...)
}

// podReady reports whether pod has a Ready condition that is not False
// (the ones markPodsNotReady turns).
func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status != corev1.ConditionFalse
		}
	}
	return false
}

// nodeRef is what node events refer to (upstream uses the name as UID).
func nodeRef(name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Node", Name: name, UID: types.UID(name)}
}

func taintStrings(ts []corev1.Taint) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.ToString())
	}
	return out
}

// nodeIndex indexes pods by spec.nodeName.
const nodeIndex = "nodelifecycle.skiff.dev/node"

// addNodeIndex adds nodeIndex to the pod informer unless it has it.
func addNodeIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[nodeIndex]; ok {
		return nil
	}
	err := inf.AddIndexers(cache.Indexers{nodeIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}})
	if err != nil {
		return fmt.Errorf("pod node index: %w", err)
	}
	return nil
}
