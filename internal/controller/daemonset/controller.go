package daemonset

import (
	"context"
	"fmt"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder records events; nil drops them.
	Recorder record.EventRecorder
	// Logger; nil discards.
	Logger *slog.Logger
	// Clock measures minReadySeconds and expectations; nil means the
	// real clock.
	Clock clock.PassiveClock
}

// Controller keeps the pods and revisions of DaemonSets.
type Controller struct {
	client       kubernetes.Interface
	dsLister     appslisters.DaemonSetLister
	podLister    corelisters.PodLister
	nodeLister   corelisters.NodeLister
	revLister    appslisters.ControllerRevisionLister
	recorder     record.EventRecorder
	clock        clock.PassiveClock
	log          *slog.Logger
	expectations *controller.Expectations
	runner       *controller.Runner
	// syncHandler is sync; tests may replace it.
	syncHandler controller.SyncFunc
}

// New returns a Controller whose handlers are registered on
// cfg.Informers; Run starts it.
func New(cfg Config) (*Controller, error) {
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
	dss := cfg.Informers.Apps().V1().DaemonSets()
	pods := cfg.Informers.Core().V1().Pods()
	nodes := cfg.Informers.Core().V1().Nodes()
	revs := cfg.Informers.Apps().V1().ControllerRevisions()
	c := &Controller{
		client:       cfg.Client,
		dsLister:     dss.Lister(),
		podLister:    pods.Lister(),
		nodeLister:   nodes.Lister(),
		revLister:    revs.Lister(),
		recorder:     cfg.Recorder,
		clock:        cfg.Clock,
		log:          cfg.Logger,
		expectations: controller.NewExpectations(cfg.Clock),
	}
	c.syncHandler = c.sync
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name,
		Sync: func(ctx context.Context, key string) error { return c.syncHandler(ctx, key) },
		Synced: []cache.InformerSynced{dss.Informer().HasSynced, pods.Informer().HasSynced,
			nodes.Informer().HasSynced, revs.Informer().HasSynced},
		Logger: cfg.Logger,
	})
	if _, err := dss.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.runner.EnqueueObject,
		UpdateFunc: func(_, cur any) { c.runner.EnqueueObject(cur) },
		DeleteFunc: c.deleteDaemonSet,
	}); err != nil {
		return nil, fmt.Errorf("watch daemonsets: %w", err)
	}
	podEvents := controller.DependentEvents[*appsv1.DaemonSet]{
		Owners: controller.Owners[*appsv1.DaemonSet]{
			Kind: controllerKind,
			Get:  func(ns, name string) (*appsv1.DaemonSet, error) { return c.dsLister.DaemonSets(ns).Get(name) },
			List: func(ns string) ([]*appsv1.DaemonSet, error) {
				return c.dsLister.DaemonSets(ns).List(labels.Everything())
			},
			Selector: func(ds *appsv1.DaemonSet) *metav1.LabelSelector { return ds.Spec.Selector },
		},
		Enqueue: c.runner.Enqueue,
		Created: c.expectations.CreationObserved,
		Deleted: func(key string, pod metav1.Object) {
			c.expectations.DeletionObserved(key, pod.GetNamespace()+"/"+pod.GetName())
		},
		MinReadySeconds: func(ds *appsv1.DaemonSet) int32 { return ds.Spec.MinReadySeconds },
		EnqueueAfter:    c.runner.EnqueueAfter,
	}
	if _, err := pods.Informer().AddEventHandler(podEvents.Handler()); err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.enqueueAll() },
		UpdateFunc: c.updateNode,
		DeleteFunc: func(any) { c.enqueueAll() },
	}); err != nil {
		return nil, fmt.Errorf("watch nodes: %w", err)
	}
	return c, nil
}

// Run runs workers workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.runner.Run(ctx, workers) }

func (c *Controller) deleteDaemonSet(obj any) {
	key, err := controller.KeyOf(obj)
	if err != nil {
		return
	}
	c.expectations.Forget(key)
	c.runner.Enqueue(key)
}

func (c *Controller) enqueueAll() {
	all, err := c.dsLister.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range all {
		c.runner.Enqueue(ds.Namespace + "/" + ds.Name)
	}
}

// updateNode enqueues every DaemonSet when something placement depends
// on changed; heartbeats alone change nothing.
func (c *Controller) updateNode(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Node)
	cur, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 || old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if labels.Equals(old.Labels, cur.Labels) && equality.Semantic.DeepEqual(old.Spec.Taints, cur.Spec.Taints) &&
		old.Spec.Unschedulable == cur.Spec.Unschedulable {
		return
	}
	c.enqueueAll()
}
