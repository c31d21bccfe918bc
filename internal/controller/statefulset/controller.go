package statefulset

import (
	"context"
	"fmt"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
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

var controllerKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder records events; nil drops them.
	Recorder record.EventRecorder
	// Logger; nil discards.
	Logger *slog.Logger
	// Clock measures minReadySeconds; nil means the real clock.
	Clock clock.PassiveClock
}

// Controller keeps the pods, claims and revisions of StatefulSets.
type Controller struct {
	client    kubernetes.Interface
	setLister appslisters.StatefulSetLister
	podLister corelisters.PodLister
	pvcLister corelisters.PersistentVolumeClaimLister
	revLister appslisters.ControllerRevisionLister
	recorder  record.EventRecorder
	clock     clock.PassiveClock
	log       *slog.Logger
	runner    *controller.Runner
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
	sets := cfg.Informers.Apps().V1().StatefulSets()
	pods := cfg.Informers.Core().V1().Pods()
	pvcs := cfg.Informers.Core().V1().PersistentVolumeClaims()
	revs := cfg.Informers.Apps().V1().ControllerRevisions()
	c := &Controller{
		client:    cfg.Client,
		setLister: sets.Lister(),
		podLister: pods.Lister(),
		pvcLister: pvcs.Lister(),
		revLister: revs.Lister(),
		recorder:  cfg.Recorder,
		clock:     cfg.Clock,
		log:       cfg.Logger,
	}
	c.syncHandler = c.sync
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name,
		Sync: func(ctx context.Context, key string) error { return c.syncHandler(ctx, key) },
		Synced: []cache.InformerSynced{sets.Informer().HasSynced, pods.Informer().HasSynced,
			pvcs.Informer().HasSynced, revs.Informer().HasSynced},
		Logger: cfg.Logger,
	})
	if _, err := sets.Informer().AddEventHandler(c.runner.ObjectHandler()); err != nil {
		return nil, fmt.Errorf("watch statefulsets: %w", err)
	}
	podEvents := controller.DependentEvents[*appsv1.StatefulSet]{
		Owners: controller.Owners[*appsv1.StatefulSet]{
			Kind: controllerKind,
			Get:  func(ns, name string) (*appsv1.StatefulSet, error) { return c.setLister.StatefulSets(ns).Get(name) },
			List: func(ns string) ([]*appsv1.StatefulSet, error) {
				return c.setLister.StatefulSets(ns).List(labels.Everything())
			},
			Selector: func(set *appsv1.StatefulSet) *metav1.LabelSelector { return set.Spec.Selector },
		},
		Enqueue:         c.runner.Enqueue,
		MinReadySeconds: func(set *appsv1.StatefulSet) int32 { return set.Spec.MinReadySeconds },
		EnqueueAfter:    c.runner.EnqueueAfter,
	}
	if _, err := pods.Informer().AddEventHandler(podEvents.Handler()); err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	return c, nil
}

// Run runs workers workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.runner.Run(ctx, workers) }
