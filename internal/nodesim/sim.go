package nodesim

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller"
)

// nodeNameIndex indexes the pod cache by spec.nodeName.
const nodeNameIndex = "nodeName"

// ErrUnknownNode is returned for a node name the simulator does not run.
var ErrUnknownNode = errors.New("node not simulated")

// Simulator runs a set of simulated nodes. Its methods are safe for
// concurrent use; Run may be called once.
type Simulator struct {
	cfg Config
	log *slog.Logger

	// mu guards nodes, sched, seq and the allocators.
	mu       sync.Mutex
	nodes    map[string]*node
	sched    schedule
	seq      int // nodes ever added, for heartbeat spreading
	podCIDRs *allocator
	nodeIPs  *allocator
	initial  []*node
	wakeCh   chan struct{}

	informer cache.SharedIndexInformer
	pods     corelisters.PodLister
	runner   *controller.Runner
	synced   cache.InformerSynced

	// overMu guards ready (SetReady overrides) and wakes (the earliest
	// pending timed re-sync of each pod key).
	overMu sync.Mutex
	ready  map[string]bool
	wakes  map[string]time.Time

	running atomic.Bool
	readyCh chan struct{}
}

// New returns a Simulator for cfg. It only validates and allocates; Run
// registers the nodes.
func New(cfg Config) (*Simulator, error) {
	if cfg.Client == nil {
		return nil, errors.New("nodesim: Config.Client is nil")
	}
	cfg.setDefaults()
	s := &Simulator{
		cfg:     cfg,
		log:     cfg.Logger,
		nodes:   map[string]*node{},
		wakeCh:  make(chan struct{}, 1),
		ready:   map[string]bool{},
		wakes:   map[string]time.Time{},
		readyCh: make(chan struct{}),
	}
	var err error
	if s.podCIDRs, err = newAllocator(cfg.PodCIDR, cfg.NodeCIDRMaskSize); err != nil {
		return nil, fmt.Errorf("nodesim: pod CIDR: %w", err)
	}
	if s.nodeIPs, err = newAllocator(cfg.NodeIPRange, 32); err != nil {
		return nil, fmt.Errorf("nodesim: node IP range: %w", err)
	}
	specs := cfg.specs()
	seen := map[string]bool{}
	for _, sp := range specs {
		if sp.Name == "" {
			return nil, errors.New("nodesim: a node spec has no name")
		}
		if seen[sp.Name] {
			return nil, fmt.Errorf("nodesim: node %s given twice", sp.Name)
		}
		seen[sp.Name] = true
		// Reserve explicit addresses first so that generated ones avoid them.
		if err := s.reserve(sp); err != nil {
			return nil, err
		}
	}
	for _, sp := range specs {
		n, err := s.newNode(sp)
		if err != nil {
			return nil, err
		}
		s.initial = append(s.initial, n)
	}

	factory := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName!=" }))
	s.informer = factory.Core().V1().Pods().Informer()
	if err := s.informer.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		return []string{obj.(*corev1.Pod).Spec.NodeName}, nil
	}}); err != nil {
		return nil, fmt.Errorf("nodesim: index pods: %w", err)
	}
	s.pods = corelisters.NewPodLister(s.informer.GetIndexer())
	reg, err := s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.addPod,
		UpdateFunc: s.updatePod,
		DeleteFunc: s.deletePod,
	})
	if err != nil {
		return nil, fmt.Errorf("nodesim: pod handler: %w", err)
	}
	s.synced = reg.HasSynced
	s.runner = controller.NewRunner(controller.RunnerConfig{
		Name:   "nodesim",
		Sync:   s.syncPod,
		Synced: []cache.InformerSynced{reg.HasSynced},
		Logger: s.log.With("controller", "nodesim"),
	})
	return s, nil
}

func (s *Simulator) reserve(sp NodeSpec) error {
	if sp.PodCIDR != "" {
		p, err := netip.ParsePrefix(sp.PodCIDR)
		if err != nil {
			return fmt.Errorf("nodesim: node %s: pod CIDR: %w", sp.Name, err)
		}
		s.podCIDRs.reserve(p)
	}
	if sp.InternalIP != "" {
		a, err := netip.ParseAddr(sp.InternalIP)
		if err != nil {
			return fmt.Errorf("nodesim: node %s: internal IP: %w", sp.Name, err)
		}
		s.nodeIPs.reserve(netip.PrefixFrom(a, 32))
	}
	return nil
}

// newNode allocates a node's addresses. Callers hold s.mu or own s.
func (s *Simulator) newNode(sp NodeSpec) (*node, error) {
	n := &node{spec: sp}
	if sp.PodCIDR != "" {
		n.cidr, _ = netip.ParsePrefix(sp.PodCIDR) // checked by reserve
		n.cidr = n.cidr.Masked()
	} else {
		p, err := s.podCIDRs.allocate()
		if err != nil {
			return nil, fmt.Errorf("nodesim: pod CIDR for node %s (set Config.PodCIDR to a larger range): %w", sp.Name, err)
		}
		n.cidr = p
	}
	if sp.InternalIP != "" {
		n.ip, _ = netip.ParseAddr(sp.InternalIP) // checked by reserve
	} else {
		p, err := s.nodeIPs.allocate()
		if err != nil {
			return nil, fmt.Errorf("nodesim: internal IP for node %s: %w", sp.Name, err)
		}
		n.ip = p.Addr()
	}
	return n, nil
}

// Ready returns a channel that is closed once Run has registered the
// configured nodes and filled its pod cache.
func (s *Simulator) Ready() <-chan struct{} { return s.readyCh }

// Run registers the configured nodes, then keeps their heartbeats and
// plays their part for pods bound to them until ctx ends. It returns an
// error if a node cannot be registered; otherwise nil after ctx ends and
// every goroutine it started has returned. Nodes are left registered.
func (s *Simulator) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("nodesim: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.informer.Run(ctx.Done()) })

	if err := s.registerAll(ctx, s.initial); err != nil {
		return err
	}
	s.log.Info("Registered simulated nodes", "count", len(s.initial))
	wg.Go(func() { s.heartbeats(ctx) })
	wg.Go(func() { s.runner.Run(ctx, s.cfg.PodWorkers) })
	if cache.WaitForCacheSync(ctx.Done(), s.synced) {
		close(s.readyCh)
	}
	<-ctx.Done()
	return nil
}

// registerAll registers nodes, HeartbeatWorkers at a time, and adds them
// to the heartbeat schedule.
func (s *Simulator) registerAll(ctx context.Context, nodes []*node) error {
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		errs  []error
	)
	work := make(chan *node)
	for range min(s.cfg.HeartbeatWorkers, max(len(nodes), 1)) {
		wg.Go(func() {
			for n := range work {
				if err := s.register(ctx, n); err != nil {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
					continue
				}
				s.track(n)
			}
		})
	}
feed:
	for _, n := range nodes {
		select {
		case work <- n:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nodesim: register: %w", err)
	}
	return ctx.Err()
}

// track adds a registered node to the map and the heartbeat schedule,
// its first beats spread over the periods, and syncs pods already bound
// to it.
func (s *Simulator) track(n *node) {
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	i := s.seq
	s.seq++
	s.nodes[n.name()] = n
	n.tasks[leaseTask] = &task{node: n, kind: leaseTask, due: now.Add(spread(i+1, s.cfg.HeartbeatInterval))}
	n.tasks[statusTask] = &task{node: n, kind: statusTask, due: now.Add(spread(i+1, s.cfg.StatusInterval))}
	heap.Push(&s.sched, n.tasks[leaseTask])
	heap.Push(&s.sched, n.tasks[statusTask])
	s.mu.Unlock()
	s.wake()
	s.enqueueNodePods(n.name())
}

func (s *Simulator) wake() {
	select {
	case s.wakeCh <- struct{}{}:
	default:
	}
}

func (s *Simulator) period(k taskKind) time.Duration {
	if k == leaseTask {
		return s.cfg.HeartbeatInterval
	}
	return s.cfg.StatusInterval
}

// heartbeats sends every node's heartbeats when due, from one timer and
// HeartbeatWorkers senders, until ctx ends.
func (s *Simulator) heartbeats(ctx context.Context) {
	type job struct {
		n    *node
		kind taskKind
	}
	work := make(chan job, s.cfg.HeartbeatWorkers)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(work)
	for range s.cfg.HeartbeatWorkers {
		wg.Go(func() {
			for j := range work {
				s.beat(ctx, j.n, j.kind)
			}
		})
	}
	timer := s.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		due := s.sched.popDue(s.cfg.Clock.Now(), s.period)
		s.mu.Unlock()
		for _, t := range due {
			if t.node.stopped.Load() {
				continue
			}
			select {
			case work <- job{t.node, t.kind}:
			case <-ctx.Done():
				return
			}
		}
		s.mu.Lock()
		next, ok := s.sched.next()
		s.mu.Unlock()
		d := time.Hour
		if ok {
			if d = next.Sub(s.cfg.Clock.Now()); d <= 0 {
				continue
			}
		}
		timer.Stop()
		select { // a fake clock's timer keeps an unread tick
		case <-timer.C():
		default:
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		case <-s.wakeCh:
		}
	}
}

// beat sends one heartbeat of n, unless n was stopped or removed since
// it was due.
func (s *Simulator) beat(ctx context.Context, n *node, kind taskKind) {
	if n.stopped.Load() || s.lookup(n.name()) != n {
		return
	}
	var err error
	if kind == leaseTask {
		err = s.renewLease(ctx, n)
	} else {
		err = s.postStatus(ctx, n, nil)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Info("Heartbeat failed", "node", n.name(), "kind", kind.String(), "err", err)
	}
}

func (s *Simulator) lookup(name string) *node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[name]
}

// Nodes returns the names of the simulated nodes, sorted.
func (s *Simulator) Nodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.nodes))
	for name := range s.nodes {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Stop pauses node name as if its kubelet died: no more Lease renewals
// or status updates, and its pods are left as they are (deleted pods stay
// Terminating). The node lifecycle controller will see it go Unknown.
func (s *Simulator) Stop(name string) error {
	n := s.lookup(name)
	if n == nil {
		return fmt.Errorf("stop %s: %w", name, ErrUnknownNode)
	}
	n.stopped.Store(true)
	return nil
}

// Resume undoes Stop: the node renews its Lease and posts Ready at once,
// then resumes its usual periods, and catches up with its pods.
func (s *Simulator) Resume(name string) error {
	n := s.lookup(name)
	if n == nil {
		return fmt.Errorf("resume %s: %w", name, ErrUnknownNode)
	}
	if !n.stopped.Swap(false) {
		return nil
	}
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	for _, t := range n.tasks {
		if t != nil && t.index >= 0 {
			t.due = now
			heap.Fix(&s.sched, t.index)
		}
	}
	s.mu.Unlock()
	s.wake()
	s.enqueueNodePods(name)
	return nil
}

// AddNode registers one more node while the simulator runs (or before
// Run; then Run starts its heartbeats). Zero fields of spec take the
// Config defaults, as Template would give them.
func (s *Simulator) AddNode(ctx context.Context, spec NodeSpec) error {
	s.mu.Lock()
	if _, ok := s.nodes[spec.Name]; ok || spec.Name == "" || slices.ContainsFunc(s.initial, func(n *node) bool { return n.name() == spec.Name }) {
		s.mu.Unlock()
		return fmt.Errorf("nodesim: add node %q: name empty or taken", spec.Name)
	}
	err := s.reserve(spec)
	var n *node
	if err == nil {
		n, err = s.newNode(spec)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.register(ctx, n); err != nil {
		return fmt.Errorf("nodesim: %w", err)
	}
	s.track(n)
	return nil
}

// RemoveNode stops simulating node name and deletes its Node and Lease.
// Pods bound to it are left for the pod garbage collector, as upstream
// leaves pods of a deleted node.
func (s *Simulator) RemoveNode(ctx context.Context, name string) error {
	s.mu.Lock()
	n := s.nodes[name]
	if n != nil {
		delete(s.nodes, name)
		for _, t := range n.tasks {
			if t != nil && t.index >= 0 {
				heap.Remove(&s.sched, t.index)
			}
		}
	}
	s.mu.Unlock()
	if n == nil {
		return fmt.Errorf("remove %s: %w", name, ErrUnknownNode)
	}
	n.stopped.Store(true)
	err := s.cfg.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", name, err)
	}
	err = s.cfg.Client.CoordinationV1().Leases(LeaseNamespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete lease %s: %w", name, err)
	}
	return nil
}

// SetReady forces the readiness of every container of pod
// namespace/name, whatever its probes and AnnotationReady say, until
// ClearReady or the pod's deletion.
func (s *Simulator) SetReady(namespace, name string, ready bool) {
	key := namespace + "/" + name
	s.overMu.Lock()
	s.ready[key] = ready
	s.overMu.Unlock()
	s.runner.Enqueue(key)
}

// ClearReady drops a SetReady override.
func (s *Simulator) ClearReady(namespace, name string) {
	key := namespace + "/" + name
	s.overMu.Lock()
	delete(s.ready, key)
	s.overMu.Unlock()
	s.runner.Enqueue(key)
}

func (s *Simulator) readyOf(key string) *bool {
	s.overMu.Lock()
	defer s.overMu.Unlock()
	if v, ok := s.ready[key]; ok {
		return &v
	}
	return nil
}

// wakeAt syncs key again at t, unless a sync at or before t is pending.
func (s *Simulator) wakeAt(key string, t time.Time) {
	// Read the clock outside overMu: a fake clock runs the callback below
	// under its own lock, and the callback takes overMu.
	now := s.cfg.Clock.Now()
	s.overMu.Lock()
	if cur, ok := s.wakes[key]; ok && !cur.After(t) && cur.After(now) {
		s.overMu.Unlock()
		return
	}
	s.wakes[key] = t
	s.overMu.Unlock()
	s.cfg.Clock.AfterFunc(t.Sub(now), func() {
		s.overMu.Lock()
		if cur, ok := s.wakes[key]; ok && cur.Equal(t) {
			delete(s.wakes, key)
		}
		s.overMu.Unlock()
		s.runner.Enqueue(key)
	})
}

func (s *Simulator) enqueueNodePods(name string) {
	objs, err := s.informer.GetIndexer().ByIndex(nodeNameIndex, name)
	if err != nil {
		s.log.Error("Cannot list pods of node", "node", name, "err", err)
		return
	}
	for _, o := range objs {
		s.runner.EnqueueObject(o)
	}
}

func (s *Simulator) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	n := s.lookup(pod.Spec.NodeName)
	if n == nil {
		return
	}
	if ip, err := netip.ParseAddr(pod.Status.PodIP); err == nil && !pod.Spec.HostNetwork {
		n.keepPodIP(pod.Namespace+"/"+pod.Name, ip)
	}
	s.runner.EnqueueObject(pod)
}

func (s *Simulator) updatePod(oldObj, newObj any) {
	o, n := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if o.ResourceVersion == n.ResourceVersion {
		return
	}
	if s.lookup(n.Spec.NodeName) != nil {
		s.runner.EnqueueObject(n)
	}
}

func (s *Simulator) deletePod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := pod.Namespace + "/" + pod.Name
	if n := s.lookup(pod.Spec.NodeName); n != nil {
		n.releasePodIP(key)
	}
	s.overMu.Lock()
	delete(s.ready, key)
	delete(s.wakes, key)
	s.overMu.Unlock()
}

// syncPod plays the node's part for one pod: report its status as the
// conventions say, stop and delete it once it is being deleted.
func (s *Simulator) syncPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil //nolint:nilerr // a malformed key never becomes valid
	}
	pod, err := s.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	n := s.lookup(pod.Spec.NodeName)
	if n == nil || n.stopped.Load() {
		return nil
	}
	now := s.cfg.Clock.Now()
	if pod.DeletionTimestamp != nil {
		return s.stopPod(ctx, n, pod, now)
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		n.releasePodIP(key)
		return nil
	}
	in := statusInput{now: now, hostIP: n.ip.String(), startDelay: s.cfg.PodStartDelay, ready: s.readyOf(key)}
	switch {
	case pod.Spec.HostNetwork:
		in.podIP = in.hostIP
	case pod.Status.PodIP != "":
		in.podIP = pod.Status.PodIP
	default:
		ip, err := n.podIP(key)
		if err != nil {
			return err
		}
		in.podIP = ip.String()
	}
	st, after := computeStatus(pod, in)
	// Arm the wake-up before writing, so that whoever sees the status
	// written also finds the timer set (tests step a fake clock then).
	if after > 0 {
		s.wakeAt(key, now.Add(after))
	}
	if !apiequality.Semantic.DeepEqual(st, pod.Status) {
		p := pod.DeepCopy()
		p.Status = st
		if _, err := s.cfg.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("update status of pod %s: %w", key, err)
		}
	}
	if st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		n.releasePodIP(key)
	}
	return nil
}

// stopPod stops a pod being deleted, reports it terminal, and deletes it
// for good, as the kubelet does once its containers are gone.
func (s *Simulator) stopPod(ctx context.Context, n *node, pod *corev1.Pod, now time.Time) error {
	key := pod.Namespace + "/" + pod.Name
	pods := s.cfg.Client.CoreV1().Pods(pod.Namespace)
	if st, ok := stoppedStatus(pod, now); ok && !apiequality.Semantic.DeepEqual(st, pod.Status) {
		p := pod.DeepCopy()
		p.Status = st
		if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("update status of stopped pod %s: %w", key, err)
		}
	}
	err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s: %w", key, err)
	}
	n.releasePodIP(key)
	return nil
}
