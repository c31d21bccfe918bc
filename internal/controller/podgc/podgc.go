package podgc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers.
const Name = "podgc"

// Upstream's defaults.
const (
	// DefaultTerminatedPodThreshold is --terminated-pod-gc-threshold.
	DefaultTerminatedPodThreshold = 12500
	// DefaultPeriod is how often the collector runs.
	DefaultPeriod = 20 * time.Second
	// DefaultQuarantine is how long a node must stay missing before its
	// pods are deleted (it may be re-registering).
	DefaultQuarantine = 40 * time.Second
)

// Descriptor returns how the controller manager builds the collector;
// threshold is the --terminated-pod-gc-threshold value (0 or less keeps
// terminated pods).
func Descriptor(threshold int) controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(c controller.Context) (controller.RunFunc, error) {
		ctl := New(Config{
			Client: c.Client, Pods: c.Informers.Core().V1().Pods(), Nodes: c.Informers.Core().V1().Nodes(),
			TerminatedPodThreshold: threshold, Logger: c.Logger,
		})
		return ctl.Run, nil
	}}
}

// Config configures a Controller.
type Config struct {
	Client kubernetes.Interface
	Pods   coreinformers.PodInformer
	Nodes  coreinformers.NodeInformer
	// TerminatedPodThreshold is how many terminated pods may remain; 0
	// or less disables that part.
	TerminatedPodThreshold int
	// Period between runs (default DefaultPeriod).
	Period time.Duration
	// Quarantine before pods of a missing node go (default
	// DefaultQuarantine).
	Quarantine time.Duration
	// Clock (default the real one).
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller is the pod garbage collector.
type Controller struct {
	client     kubernetes.Interface
	pods       corelisters.PodLister
	nodes      corelisters.NodeLister
	synced     []cache.InformerSynced
	threshold  int
	period     time.Duration
	quarantine time.Duration
	clock      clock.Clock
	log        *slog.Logger
	// missingSince records when each missing node was first noticed;
	// only the run loop touches it.
	missingSince map[string]time.Time
}

// New builds a Controller.
func New(cfg Config) *Controller {
	if cfg.Period <= 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Quarantine <= 0 {
		cfg.Quarantine = DefaultQuarantine
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	// Listers register the informers with the factory.
	return &Controller{
		client: cfg.Client, pods: cfg.Pods.Lister(), nodes: cfg.Nodes.Lister(),
		synced:    []cache.InformerSynced{cfg.Pods.Informer().HasSynced, cfg.Nodes.Informer().HasSynced},
		threshold: cfg.TerminatedPodThreshold, period: cfg.Period, quarantine: cfg.Quarantine,
		clock: cfg.Clock, log: cfg.Logger, missingSince: map[string]time.Time{},
	}
}

// Run collects every period until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.log.Info("Starting controller")
	defer c.log.Info("Stopped controller")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	for {
		if err := c.gc(ctx); err != nil && ctx.Err() == nil {
			c.log.Info("Pod garbage collection incomplete, will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.clock.After(c.period):
		}
	}
}

// gc runs one collection pass.
func (c *Controller) gc(ctx context.Context) error {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	var errs []error
	if c.threshold > 0 {
		errs = append(errs, c.gcTerminated(ctx, pods))
	}
	errs = append(errs, c.gcTerminatingOutOfService(ctx, pods, nodes), c.gcOrphaned(ctx, pods, nodes), c.gcUnscheduledTerminating(ctx, pods))
	return errors.Join(errs...)
}

func terminated(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func evicted(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed && pod.Status.Reason == "Evicted"
}

// gcTerminated deletes the terminated pods over the threshold: evicted
// ones first, then by age, oldest first (name breaks ties).
func (c *Controller) gcTerminated(ctx context.Context, pods []*corev1.Pod) error {
	var done []*corev1.Pod
	for _, p := range pods {
		if terminated(p) {
			done = append(done, p)
		}
	}
	n := len(done) - c.threshold
	if n <= 0 {
		return nil
	}
	slices.SortFunc(done, func(a, b *corev1.Pod) int {
		if ea, eb := evicted(a), evicted(b); ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
		}
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	c.log.Info("Garbage collecting terminated pods", "count", n)
	var errs []error
	for _, p := range done[:n] {
		errs = append(errs, c.markFailedAndDelete(ctx, p, nil))
	}
	return errors.Join(errs...)
}

// gcTerminatingOutOfService deletes terminating pods on not-ready nodes
// tainted out-of-service (the operator says the node is down for good).
func (c *Controller) gcTerminatingOutOfService(ctx context.Context, pods []*corev1.Pod, nodes []*corev1.Node) error {
	out := sets.New[string]()
	for _, n := range nodes {
		if !nodeReady(n) && slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeOutOfService }) {
			out.Insert(n.Name)
		}
	}
	var errs []error
	for _, p := range pods {
		if p.DeletionTimestamp != nil && out.Has(p.Spec.NodeName) {
			errs = append(errs, c.markFailedAndDelete(ctx, p, nil))
		}
	}
	return errors.Join(errs...)
}

// gcOrphaned deletes pods bound to nodes that are gone: missing from the
// cache for the quarantine and confirmed absent by a live GET.
func (c *Controller) gcOrphaned(ctx context.Context, pods []*corev1.Pod, nodes []*corev1.Node) error {
	existing := sets.New[string]()
	for _, n := range nodes {
		existing.Insert(n.Name)
	}
	now := c.clock.Now()
	wanted := sets.New[string]()
	for _, p := range pods {
		if p.Spec.NodeName == "" || existing.Has(p.Spec.NodeName) {
			continue
		}
		wanted.Insert(p.Spec.NodeName)
		if _, ok := c.missingSince[p.Spec.NodeName]; !ok {
			c.missingSince[p.Spec.NodeName] = now
		}
	}
	gone := sets.New[string]()
	var errs []error
	for name, since := range c.missingSince {
		if !wanted.Has(name) {
			delete(c.missingSince, name)
			continue
		}
		if now.Sub(since) < c.quarantine {
			continue
		}
		_, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			gone.Insert(name)
		case err != nil:
			errs = append(errs, fmt.Errorf("get node %s: %w", name, err))
		default:
			delete(c.missingSince, name)
		}
	}
	for _, p := range pods {
		if !gone.Has(p.Spec.NodeName) {
			continue
		}
		c.log.Info("Deleting pod of a deleted node", "pod", p.Namespace+"/"+p.Name, "node", p.Spec.NodeName)
		errs = append(errs, c.markFailedAndDelete(ctx, p, &corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
			Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists",
		}))
	}
	return errors.Join(errs...)
}

// gcUnscheduledTerminating deletes terminating pods no node will ever
// finish.
func (c *Controller) gcUnscheduledTerminating(ctx context.Context, pods []*corev1.Pod) error {
	var errs []error
	for _, p := range pods {
		if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
			errs = append(errs, c.markFailedAndDelete(ctx, p, nil))
		}
	}
	return errors.Join(errs...)
}

// markFailedAndDelete moves a pod that has not finished to Failed (adding
// cond, if any) and then deletes it with no grace period. A pod already
// gone is not an error.
func (c *Controller) markFailedAndDelete(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition) error {
	key := pod.Namespace + "/" + pod.Name
	if !terminated(pod) {
		p := pod.DeepCopy()
		p.Status.Phase = corev1.PodFailed
		if cond != nil {
			setCondition(&p.Status, *cond, c.clock.Now())
		}
		_, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("mark pod %s failed: %w", key, err)
		}
	}
	c.log.Info("Force deleting pod", "pod", key)
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, *metav1.NewDeleteOptions(0))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", key, err)
	}
	return nil
}

func setCondition(st *corev1.PodStatus, cond corev1.PodCondition, now time.Time) {
	cond.LastTransitionTime = metav1.NewTime(now)
	for i := range st.Conditions {
		if st.Conditions[i].Type == cond.Type {
			if st.Conditions[i].Status == cond.Status {
				cond.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = cond
			return
		}
	}
	st.Conditions = append(st.Conditions, cond)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
