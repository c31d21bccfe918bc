package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/plugins"
)

// Config configures a Scheduler.
type Config struct {
	Client kubernetes.Interface
	// Informers is the shared factory the scheduler registers its pod,
	// node, namespace, service and workload informers on; the caller
	// starts it.
	Informers informers.SharedInformerFactory
	// Recorder records FailedScheduling and Scheduled events (source
	// "default-scheduler").
	Recorder record.EventRecorder
	// Configuration is the KubeSchedulerConfiguration; nil means the
	// default profile.
	Configuration *Configuration
	// Clock drives back-off; nil means the real clock.
	Clock clock.WithTicker
	// Logger; nil discards.
	Logger *slog.Logger
	// Parallelism bounds concurrent Filter and Score calls per cycle (0
	// means GOMAXPROCS).
	Parallelism int
}

// Scheduler watches pending pods whose schedulerName it serves and binds
// each to the best node of its profile. One goroutine runs scheduling
// cycles; bindings run asynchronously with the pod assumed in the cache.
type Scheduler struct {
	cfg      Config
	log      *slog.Logger
	clock    clock.WithTicker
	client   kubernetes.Interface
	recorder record.EventRecorder
	profiles map[string]*framework.Framework
	queue    *Queue
	cache    *Cache
	// snapshot and nextStartNodeIndex belong to the scheduling goroutine.
	snapshot                 *framework.Snapshot
	nextStartNodeIndex       int
	percentageOfNodesToScore int32
	rand                     *rand.Rand
	// techniques are Borg's switches; equivalence holds the classes'
	// filter results and scores.
	techniques  Techniques
	equivalence *equivalenceCache
	// hardSpread holds the profiles whose default topology spread
	// filters (see hardDefaultSpread).
	hardSpread map[*framework.Framework]bool
	// filterStatuses is the scheduling goroutine's buffer of each node's
	// filter status in a cycle.
	filterStatuses []*framework.Status

	podsSynced, nodesSynced cache.InformerSynced
	namespaces              corelisters.NamespaceLister
	services                corelisters.ServiceLister
	rcs                     corelisters.ReplicationControllerLister
	replicaSets             appslisters.ReplicaSetLister
	statefulSets            appslisters.StatefulSetLister
	pdbs                    policylisters.PodDisruptionBudgetLister
	// nominator holds the pods nominated to nodes by preemption.
	nominator *nominator

	bindings sync.WaitGroup
}

// New builds a scheduler and registers its informer handlers.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Configuration == nil {
		cfg.Configuration = &Configuration{}
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	s := &Scheduler{
		cfg: cfg, log: cfg.Logger, clock: cfg.Clock, client: cfg.Client, recorder: cfg.Recorder,
		profiles: map[string]*framework.Framework{}, cache: NewCache(), snapshot: framework.NewEmptySnapshot(),
		rand:       rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0)),
		nominator:  newNominator(),
		techniques: cfg.Configuration.Techniques(), equivalence: newEquivalenceCache(),
		hardSpread: map[*framework.Framework]bool{},
	}
	if p := cfg.Configuration.PercentageOfNodesToScore; p != nil {
		if *p < 0 || *p > 100 {
			return nil, fmt.Errorf("percentageOfNodesToScore %d is not in 0-100", *p)
		}
		s.percentageOfNodesToScore = *p
	}
	f := cfg.Informers
	s.namespaces = f.Core().V1().Namespaces().Lister()
	s.services = f.Core().V1().Services().Lister()
	s.rcs = f.Core().V1().ReplicationControllers().Lister()
	s.replicaSets = f.Apps().V1().ReplicaSets().Lister()
	s.statefulSets = f.Apps().V1().StatefulSets().Lister()
	s.pdbs = f.Policy().V1().PodDisruptionBudgets().Lister()

	// The queue is built below, once the plugins' events are known.
	vols, err := newVolumes(cfg.Client, cfg.Clock, f, func(e framework.ClusterEvent) {
		if q := s.queue; q != nil {
			q.MoveOnEvent(e)
		}
	})
	if err != nil {
		return nil, err
	}
	profiles, err := cfg.Configuration.FrameworkProfiles()
	if err != nil {
		return nil, err
	}
	registry := plugins.NewRegistry()
	registry[DefaultBinderName] = func([]byte, framework.Handle) (framework.Plugin, error) {
		return newBinder(cfg.Client), nil
	}
	events := map[string][]framework.ClusterEvent{}
	for _, p := range profiles {
		fw, err := framework.New(framework.Config{
			Registry: registry, Profile: p,
			Snapshot:        func() framework.NodeInfoLister { return s.snapshot },
			NamespaceLabels: s.namespaceLabels, DefaultSelector: s.defaultSelector,
			NominatedPods: s.nominator.podsForNode, PDBs: s.listPDBs, Preempt: s.preempt,
			Volumes: vols, Parallelism: cfg.Parallelism,
		})
		if err != nil {
			return nil, err
		}
		s.profiles[p.SchedulerName] = fw
		if hardDefaultSpread(fw) {
			s.hardSpread[fw] = true
		}
		for k, v := range fw.EventsToRegister() {
			events[k] = append(events[k], v...)
		}
	}
	s.queue = NewQueue(cfg.Clock, events)

	pods := f.Core().V1().Pods().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: s.addPod, UpdateFunc: s.updatePod, DeleteFunc: s.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	nodes := f.Core().V1().Nodes().Informer()
	if _, err := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: s.addNode, UpdateFunc: s.updateNode, DeleteFunc: s.deleteNode,
	}); err != nil {
		return nil, fmt.Errorf("node handler: %w", err)
	}
	s.podsSynced, s.nodesSynced = pods.HasSynced, nodes.HasSynced
	// Asking for the listers' informers registers them with the factory,
	// which starts them with the others.
	f.Core().V1().Namespaces().Informer()
	f.Core().V1().Services().Informer()
	f.Core().V1().ReplicationControllers().Informer()
	f.Apps().V1().ReplicaSets().Informer()
	f.Apps().V1().StatefulSets().Informer()
	f.Policy().V1().PodDisruptionBudgets().Informer()
	return s, nil
}

// Run schedules pods until ctx ends; it waits for the informer caches
// first and for in-flight bindings before returning.
func (s *Scheduler) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), s.podsSynced, s.nodesSynced) {
		return
	}
	s.log.Info("Starting scheduler", "profiles", len(s.profiles))
	var wg sync.WaitGroup
	wg.Go(func() {
		t := s.clock.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
				s.queue.Flush()
			}
		}
	})
	for ctx.Err() == nil {
		s.scheduleOne(ctx)
	}
	wg.Wait()
	s.bindings.Wait()
}

func (s *Scheduler) responsible(pod *v1.Pod) bool {
	name := pod.Spec.SchedulerName
	if name == "" {
		name = DefaultSchedulerName
	}
	_, ok := s.profiles[name]
	return ok
}

func terminal(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed
}

func (s *Scheduler) addPod(obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	switch {
	case pod.Spec.NodeName != "":
		if !terminal(pod) {
			s.cache.AddPod(pod)
			s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindAssignedPod, ActionType: framework.Add})
		}
	case s.responsible(pod) && !terminal(pod) && pod.DeletionTimestamp == nil:
		if pod.Status.NominatedNodeName != "" {
			s.nominator.set(pod, pod.Status.NominatedNodeName)
		}
		s.queue.Add(pod)
	}
}

func (s *Scheduler) updatePod(oldObj, newObj any) {
	old, ok1 := oldObj.(*v1.Pod)
	pod, ok2 := newObj.(*v1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == pod.ResourceVersion {
		return
	}
	if pod.Spec.NodeName != "" {
		if old.Spec.NodeName == "" {
			s.queue.Delete(pod.UID)
			s.nominator.delete(pod.UID)
		}
		if terminal(pod) {
			s.cache.RemovePod(pod)
			s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindAssignedPod, ActionType: framework.Delete})
			return
		}
		s.cache.UpdatePod(pod)
		if old.Spec.NodeName == "" {
			s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindAssignedPod, ActionType: framework.Add})
		} else if !equality.Semantic.DeepEqual(old.Labels, pod.Labels) {
			s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindAssignedPod, ActionType: framework.Update})
		}
		return
	}
	if !s.responsible(pod) || terminal(pod) || pod.DeletionTimestamp != nil {
		s.queue.Delete(pod.UID)
		s.nominator.delete(pod.UID)
		return
	}
	s.nominator.update(pod)
	// Our own status writes change nothing the scheduler reads.
	if equality.Semantic.DeepEqual(old.Spec, pod.Spec) && equality.Semantic.DeepEqual(old.Labels, pod.Labels) &&
		equality.Semantic.DeepEqual(old.Annotations, pod.Annotations) {
		return
	}
	s.queue.Update(pod)
}

func (s *Scheduler) deletePod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	s.queue.Delete(pod.UID)
	s.nominator.delete(pod.UID)
	if pod.Spec.NodeName != "" || s.cache.IsAssumed(pod.UID) {
		s.cache.RemovePod(pod)
		s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindAssignedPod, ActionType: framework.Delete})
	}
}

func (s *Scheduler) addNode(obj any) {
	node, ok := obj.(*v1.Node)
	if !ok {
		return
	}
	s.cache.AddNode(node)
	s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindNode, ActionType: framework.Add})
}

func (s *Scheduler) updateNode(oldObj, newObj any) {
	old, ok1 := oldObj.(*v1.Node)
	node, ok2 := newObj.(*v1.Node)
	if !ok1 || !ok2 || old.ResourceVersion == node.ResourceVersion {
		return
	}
	s.cache.AddNode(node)
	if !equality.Semantic.DeepEqual(old.Labels, node.Labels) || !equality.Semantic.DeepEqual(old.Spec.Taints, node.Spec.Taints) ||
		old.Spec.Unschedulable != node.Spec.Unschedulable || !equality.Semantic.DeepEqual(old.Status.Allocatable, node.Status.Allocatable) {
		s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindNode, ActionType: framework.Update})
	}
}

func (s *Scheduler) deleteNode(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if node, ok := obj.(*v1.Node); ok {
		s.cache.RemoveNode(node)
	}
}

func (s *Scheduler) namespaceLabels(ns string) labels.Set {
	n, err := s.namespaces.Get(ns)
	if err != nil {
		return nil
	}
	return n.Labels
}

// defaultSelector merges the selectors of the Services, RCs, ReplicaSets
// and StatefulSets that select pod.
func (s *Scheduler) defaultSelector(pod *v1.Pod) labels.Selector {
	sel := labels.NewSelector()
	podLabels := labels.Set(pod.Labels)
	if svcs, err := s.services.Services(pod.Namespace).List(labels.Everything()); err == nil {
		for _, svc := range svcs {
			if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
				r, _ := labels.SelectorFromSet(svc.Spec.Selector).Requirements()
				sel = sel.Add(r...)
			}
		}
	}
	if rcs, err := s.rcs.ReplicationControllers(pod.Namespace).List(labels.Everything()); err == nil {
		for _, rc := range rcs {
			if len(rc.Spec.Selector) > 0 && labels.SelectorFromSet(rc.Spec.Selector).Matches(podLabels) {
				r, _ := labels.SelectorFromSet(rc.Spec.Selector).Requirements()
				sel = sel.Add(r...)
			}
		}
	}
	add := func(ls *metav1.LabelSelector) {
		if ls == nil {
			return
		}
		x, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil || x.Empty() || !x.Matches(podLabels) {
			return
		}
		r, _ := x.Requirements()
		sel = sel.Add(r...)
	}
	if rss, err := s.replicaSets.ReplicaSets(pod.Namespace).List(labels.Everything()); err == nil {
		for _, rs := range rss {
			add(rs.Spec.Selector)
		}
	}
	if sss, err := s.statefulSets.StatefulSets(pod.Namespace).List(labels.Everything()); err == nil {
		for _, ss := range sss {
			add(ss.Spec.Selector)
		}
	}
	return sel
}

// scheduleOne runs one scheduling cycle for the next pod and, on
// success, starts its binding.
func (s *Scheduler) scheduleOne(ctx context.Context) {
	qp, cycle := s.queue.Pop(ctx)
	if qp == nil {
		return
	}
	pod := qp.pod
	fw := s.profiles[orDefault(pod.Spec.SchedulerName)]
	if fw == nil || pod.DeletionTimestamp != nil || s.cache.IsAssumed(pod.UID) {
		s.queue.Done(pod.UID)
		return
	}
	log := s.log.With("pod", pod.Namespace+"/"+pod.Name)
	// A nomination made by the last cycle may not be in the informer's
	// copy yet.
	if nom := s.nominator.nodeOf(pod.UID); nom != "" && pod.Status.NominatedNodeName != nom {
		cp := *pod
		cp.Status.NominatedNodeName = nom
		pod = &cp
	}
	s.cache.UpdateSnapshot(s.snapshot)
	state := framework.NewCycleState()
	res, err := s.schedulePod(ctx, fw, state, pod)
	if err != nil {
		var fitErr *FitError
		var nominated *framework.PostFilterResult
		if errors.As(err, &fitErr) && fw.HasPostFilterPlugins() {
			r, st := fw.RunPostFilterPlugins(ctx, state, pod, fitErr.Diagnosis.NodeToStatus)
			fitErr.Diagnosis.PostFilterMsg = st.Message()
			if !st.IsSuccess() && !st.IsRejected() {
				log.Info("Preemption failed", "err", st.AsError())
			}
			nominated = r
		}
		s.handleFailure(ctx, qp, cycle, err, nominated)
		return
	}
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = res.host
	s.cache.AssumePod(assumed)
	s.nominator.delete(pod.UID)
	if st := fw.RunReservePluginsReserve(ctx, state, assumed, res.host); !st.IsSuccess() {
		fw.RunReservePluginsUnreserve(ctx, state, assumed, res.host)
		s.cache.ForgetPod(assumed)
		s.handleFailure(ctx, qp, cycle, st.AsError(), nil)
		return
	}
	permit, timeout := fw.RunPermitPlugins(ctx, state, assumed, res.host)
	if !permit.IsSuccess() && !permit.IsWait() {
		fw.RunReservePluginsUnreserve(ctx, state, assumed, res.host)
		s.cache.ForgetPod(assumed)
		s.handleFailure(ctx, qp, cycle, permit.AsError(), nil)
		return
	}
	log.Debug("Scheduled pod", "node", res.host, "evaluatedNodes", res.evaluated, "feasibleNodes", res.feasible)
	s.bindings.Add(1)
	go func() {
		defer s.bindings.Done()
		s.bind(ctx, fw, state, qp, cycle, assumed, permit, timeout)
	}()
}

func orDefault(name string) string {
	if name == "" {
		return DefaultSchedulerName
	}
	return name
}

// bind runs the binding cycle: wait for Permit, PreBind, Bind. A failure
// forgets the assumed pod and requeues it with back-off.
func (s *Scheduler) bind(ctx context.Context, fw *framework.Framework, state *framework.CycleState, qp *queuedPod, cycle int64, assumed *v1.Pod, permit *framework.Status, timeout time.Duration) {
	node := assumed.Spec.NodeName
	fail := func(err error) {
		fw.RunReservePluginsUnreserve(ctx, state, assumed, node)
		s.cache.ForgetPod(assumed)
		s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.KindAssignedPod, ActionType: framework.Delete})
		if apierrors.IsNotFound(err) {
			s.queue.Delete(assumed.UID)
			return
		}
		s.handleFailure(ctx, qp, cycle, err, nil)
	}
	if permit.IsWait() {
		// No plugin can allow a waiting pod yet, so waiting ends in
		// rejection at the timeout.
		select {
		case <-ctx.Done():
		case <-s.clock.After(timeout):
		}
		fail(fmt.Errorf("pod %s/%s rejected while waiting on permit: timeout", assumed.Namespace, assumed.Name))
		return
	}
	if st := fw.RunPreBindPlugins(ctx, state, assumed, node); !st.IsSuccess() {
		fail(st.AsError())
		return
	}
	if st := fw.RunBindPlugins(ctx, state, assumed, node); !st.IsSuccess() {
		fail(st.AsError())
		return
	}
	s.queue.Done(assumed.UID)
	s.recorder.Eventf(assumed, v1.EventTypeNormal, "Scheduled", "Successfully assigned %v/%v to %v", assumed.Namespace, assumed.Name, node)
}

// handleFailure records why pod was not scheduled (FailedScheduling
// event, PodScheduled=False condition) and requeues it. A non-nil
// nominated (from preemption) replaces the pod's nominated node, in
// memory at once and in status.nominatedNodeName with the condition;
// an empty name clears it.
func (s *Scheduler) handleFailure(ctx context.Context, qp *queuedPod, cycle int64, err error, nominated *framework.PostFilterResult) {
	pod := qp.pod
	reason := v1.PodReasonSchedulerError
	var fitErr *FitError
	plugins := sets.New[string]()
	if errors.As(err, &fitErr) {
		reason = v1.PodReasonUnschedulable
		plugins = fitErr.Diagnosis.UnschedulablePlugins
		if plugins.Len() == 0 {
			plugins.Insert("") // unknown: any event may help
		}
	} else if errors.Is(err, errNoNodesAvailable) {
		reason = v1.PodReasonUnschedulable
		plugins.Insert("NodeAdded")
	}
	msg := truncateMessage(err.Error())
	s.log.Debug("Unable to schedule pod", "pod", pod.Namespace+"/"+pod.Name, "err", msg)
	var nnn *string
	if nominated != nil {
		s.nominator.set(pod, nominated.NominatedNodeName)
		if pod.Status.NominatedNodeName != nominated.NominatedNodeName {
			nnn = &nominated.NominatedNodeName
		}
	}
	s.queue.AddUnschedulable(qp, cycle, plugins)
	s.recorder.Event(pod, v1.EventTypeWarning, "FailedScheduling", msg)
	if cur := podScheduledCondition(pod); nnn == nil && cur != nil && cur.Status == v1.ConditionFalse && cur.Reason == reason && cur.Message == msg {
		return
	}
	s.bindings.Add(1)
	go func() {
		defer s.bindings.Done()
		if err := s.patchCondition(ctx, pod, reason, msg, nnn); err != nil && !apierrors.IsNotFound(err) {
			s.log.Info("Could not record scheduling failure", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	}()
}

func podScheduledCondition(pod *v1.Pod) *v1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == v1.PodScheduled {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// truncateMessage keeps event messages within what the API accepts.
func truncateMessage(m string) string {
	const limit = 1024
	if len(m) <= limit {
		return m
	}
	return m[:limit-3] + "..."
}
