package statefulset

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
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
	if _, err := sets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.runner.EnqueueObject,
		UpdateFunc: func(_, cur any) { c.runner.EnqueueObject(cur) },
		DeleteFunc: c.runner.EnqueueObject,
	}); err != nil {
		return nil, fmt.Errorf("watch statefulsets: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	return c, nil
}

// Run runs workers workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.runner.Run(ctx, workers) }

func (c *Controller) resolveControllerRef(namespace string, ref *metav1.OwnerReference) *appsv1.StatefulSet {
	if ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return nil
	}
	set, err := c.setLister.StatefulSets(namespace).Get(ref.Name)
	if err != nil || set.UID != ref.UID {
		return nil
	}
	return set
}

// enqueueSelecting enqueues the sets whose selector matches the orphan
// pod, so that they may adopt it.
func (c *Controller) enqueueSelecting(pod *corev1.Pod) {
	sets, err := c.setLister.StatefulSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, set := range sets {
		sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		c.runner.Enqueue(pod.Namespace + "/" + set.Name)
	}
}

func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if set := c.resolveControllerRef(pod.Namespace, ref); set != nil {
			c.runner.Enqueue(pod.Namespace + "/" + set.Name)
		}
		return
	}
	c.enqueueSelecting(pod)
}

func (c *Controller) updatePod(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	cur, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == cur.ResourceVersion {
		return
	}
	oldRef, curRef := metav1.GetControllerOf(old), metav1.GetControllerOf(cur)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if set := c.resolveControllerRef(old.Namespace, oldRef); set != nil {
			c.runner.Enqueue(old.Namespace + "/" + set.Name)
		}
	}
	if curRef != nil {
		set := c.resolveControllerRef(cur.Namespace, curRef)
		if set == nil {
			return
		}
		key := cur.Namespace + "/" + set.Name
		c.runner.Enqueue(key)
		if !podReady(old) && podReady(cur) && set.Spec.MinReadySeconds > 0 {
			c.runner.EnqueueAfter(key, time.Duration(set.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if !labels.Equals(old.Labels, cur.Labels) || oldRef != nil {
		c.enqueueSelecting(cur)
	}
}

func (c *Controller) deletePod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if set := c.resolveControllerRef(pod.Namespace, ref); set != nil {
			c.runner.Enqueue(pod.Namespace + "/" + set.Name)
		}
	}
}
