package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// TaintEvictionName is the taint eviction controller's name in
// --disable-controllers (upstream's).
const TaintEvictionName = "taint-eviction-controller"

// evictionWorkers is how many pods are synced at once.
const evictionWorkers = 8

// TaintEvictionConfig configures a TaintEviction controller.
type TaintEvictionConfig struct {
	Client   kubernetes.Interface
	Nodes    coreinformers.NodeInformer
	Pods     coreinformers.PodInformer
	Recorder record.EventRecorder
	// Clock; nil means the real clock.
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// TaintEviction deletes pods that do not tolerate their node's NoExecute
// taints, or whose tolerationSeconds have run out.
type TaintEviction struct {
	client kubernetes.Interface
	nodes  corelisters.NodeLister
	pods   corelisters.PodLister
	byNode cache.Indexer
	clock  clock.Clock
	rec    record.EventRecorder
	log    *slog.Logger
	runner *controller.Runner

	mu sync.Mutex
	// since is when each pod was first seen under NoExecute taints it
	// tolerates for a while.
	since map[string]time.Time
}

// NewTaintEviction builds a TaintEviction controller and registers its
// informer handlers.
func NewTaintEviction(cfg TaintEvictionConfig) (*TaintEviction, error) {
	if cfg.Client == nil || cfg.Nodes == nil || cfg.Pods == nil {
		return nil, errors.New("taint eviction: Client, Nodes and Pods are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
	if err := addNodeIndex(cfg.Pods.Informer()); err != nil {
		return nil, err
	}
	c := &TaintEviction{
		client: cfg.Client, nodes: cfg.Nodes.Lister(), pods: cfg.Pods.Lister(), byNode: cfg.Pods.Informer().GetIndexer(),
		clock: cfg.Clock, rec: cfg.Recorder, log: cfg.Logger, since: map[string]time.Time{},
	}
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: TaintEvictionName, Sync: c.sync, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Nodes.Informer().HasSynced, cfg.Pods.Informer().HasSynced},
	})
	if _, err := cfg.Pods.Informer().AddEventHandler(c.runner.ObjectHandler()); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	if _, err := cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueNodePods,
		UpdateFunc: func(old, cur any) {
			if !slices.EqualFunc(noExecute(old.(*corev1.Node)), noExecute(cur.(*corev1.Node)), func(a, b corev1.Taint) bool { return a.MatchTaint(&b) }) {
				c.enqueueNodePods(cur)
			}
		},
		DeleteFunc: c.enqueueNodePods,
	}); err != nil {
		return nil, fmt.Errorf("node informer: %w", err)
	}
	return c, nil
}

// TaintEvictionDescriptor describes the controller for the Manager; clk
// nil means the real clock.
func TaintEvictionDescriptor(clk clock.Clock) controller.Descriptor {
	return controller.Descriptor{Name: TaintEvictionName, New: func(cc controller.Context) (controller.RunFunc, error) {
		c, err := NewTaintEviction(TaintEvictionConfig{
			Client: cc.Client, Nodes: cc.Informers.Core().V1().Nodes(), Pods: cc.Informers.Core().V1().Pods(),
			Recorder: cc.Recorder("taint-eviction-controller"), Clock: clk, Logger: cc.Logger,
		})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { c.runner.Run(ctx, evictionWorkers) }, nil
	}}
}

func (c *TaintEviction) enqueueNodePods(obj any) {
	name := ""
	switch o := obj.(type) {
	case *corev1.Node:
		name = o.Name
	case cache.DeletedFinalStateUnknown:
		name = o.Key
	}
	pods, err := c.byNode.ByIndex(nodeIndex, name)
	if err != nil {
		return
	}
	for _, p := range pods {
		c.runner.EnqueueObject(p)
	}
}

// noExecute returns node's NoExecute taints.
func noExecute(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// tolerationTime returns how long pod may stay under taints: ok false
// when some taint is not tolerated at all, forever as math.MaxInt64
// nanoseconds when no toleration it uses has tolerationSeconds.
func tolerationTime(pod *corev1.Pod, taints []corev1.Taint) (time.Duration, bool) {
	least := time.Duration(math.MaxInt64)
	for i := range taints {
		tolerated := false
		for j := range pod.Spec.Tolerations {
			tol := &pod.Spec.Tolerations[j]
			if !tol.ToleratesTaint(klog.Background(), &taints[i], false) {
				continue
			}
			tolerated = true
			if tol.TolerationSeconds != nil {
				least = min(least, time.Duration(max(*tol.TolerationSeconds, 0))*time.Second)
			}
		}
		if !tolerated {
			return 0, false
		}
	}
	return least, true
}

// sync deletes the pod named key once its node's NoExecute taints say so.
func (c *TaintEviction) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && (pod.DeletionTimestamp != nil || pod.Spec.NodeName == "")) {
		c.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	var taints []corev1.Taint
	if node, err := c.nodes.Get(pod.Spec.NodeName); err == nil {
		taints = noExecute(node)
	}
	if len(taints) == 0 {
		if c.forget(key) {
			c.rec.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Cancelling deletion of Pod %s", key)
		}
		return nil
	}
	now := c.clock.Now()
	d, ok := tolerationTime(pod, taints)
	if ok {
		if d == time.Duration(math.MaxInt64) {
			c.forget(key)
			return nil
		}
		c.mu.Lock()
		start, seen := c.since[key]
		if !seen {
			start = now
			c.since[key] = now
		}
		c.mu.Unlock()
		if wait := start.Add(d).Sub(now); wait > 0 {
			return controller.RequeueAfter(wait, fmt.Errorf("pod %s tolerates the taints of node %s for %v", key, pod.Spec.NodeName, d))
		}
	}
	c.rec.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
	c.log.Info("Evicting pod from a tainted node", "pod", key, "node", pod.Spec.NodeName)
	if err := c.evict(ctx, pod, now); err != nil {
		return err
	}
	c.forget(key)
	return nil
}

// evict adds a DisruptionTarget condition to pod and deletes it.
func (c *TaintEviction) evict(ctx context.Context, pod *corev1.Pod, now time.Time) error {
	p := pod.DeepCopy()
	cond := corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now),
		Reason: "DeletionByTaintManager", Message: "Taint manager: deleting due to NoExecute taint",
	}
	i := slices.IndexFunc(p.Status.Conditions, func(c corev1.PodCondition) bool { return c.Type == corev1.DisruptionTarget })
	if i < 0 || p.Status.Conditions[i].Status != corev1.ConditionTrue {
		if i < 0 {
			p.Status.Conditions = append(p.Status.Conditions, cond)
		} else {
			p.Status.Conditions[i] = cond
		}
		_, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("mark pod %s/%s for eviction: %w", p.Namespace, p.Name, err)
		}
	}
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// forget drops key's start time and reports whether it had one.
func (c *TaintEviction) forget(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.since[key]
	delete(c.since, key)
	return ok
}
