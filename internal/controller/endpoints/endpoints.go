package endpoints

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiff/skiff/internal/controller"
	"github.com/skiff/skiff/internal/controller/serviceendpoint"
)

// Name is the controller's name in --disable-controllers.
const Name = "endpoints"

// DefaultWorkers is upstream's --concurrent-endpoint-syncs.
const DefaultWorkers = 5

// Annotations the controller maintains, as upstream's.
const (
	// AnnotationTriggerTime holds the time of the earliest change (pod
	// readiness or Service creation) the current subsets reflect.
	AnnotationTriggerTime = corev1.EndpointsLastChangeTriggerTime
	// AnnotationOverCapacity says the addresses were cut at 1000.
	AnnotationOverCapacity = corev1.EndpointsOverCapacity
	// annotationLeader marks Endpoints used as leader-election locks,
	// which are never cleaned up as leftovers.
	annotationLeader = "control-plane.alpha.kubernetes.io/leader"
)

// Descriptor returns how the controller manager builds the controller.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: Name, New: newFromContext}
}

func newFromContext(c controller.Context) (controller.RunFunc, error) {
	ctl := New(Config{
		Client:    c.Client,
		Services:  c.Informers.Core().V1().Services(),
		Pods:      c.Informers.Core().V1().Pods(),
		Endpoints: c.Informers.Core().V1().Endpoints(),
		Recorder:  c.Recorder("endpoint-controller"),
		Logger:    c.Logger,
	})
	return func(ctx context.Context) { ctl.Run(ctx, DefaultWorkers) }, nil
}

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Services  coreinformers.ServiceInformer
	Pods      coreinformers.PodInformer
	Endpoints coreinformers.EndpointsInformer
	// Recorder receives Events about Services; nil drops them.
	Recorder record.EventRecorder
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller keeps one Endpoints object per selector Service.
type Controller struct {
	client    kubernetes.Interface
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	recorder  record.EventRecorder
	log       *slog.Logger
	runner    *controller.Runner
	// podEvents wakes the Services a pod change concerns.
	podEvents serviceendpoint.PodEvents
	triggers  *serviceendpoint.TriggerTimes
	synced    []cache.InformerSynced
}

// New builds a Controller and registers its event handlers.
func New(cfg Config) *Controller {
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
	c := &Controller{
		client:    cfg.Client,
		services:  cfg.Services.Lister(),
		pods:      cfg.Pods.Lister(),
		endpoints: cfg.Endpoints.Lister(),
		recorder:  cfg.Recorder,
		log:       cfg.Logger,
		triggers:  serviceendpoint.NewTriggerTimes(),
		synced: []cache.InformerSynced{
			cfg.Services.Informer().HasSynced, cfg.Pods.Informer().HasSynced, cfg.Endpoints.Informer().HasSynced,
		},
	}
	c.runner = controller.NewRunner(controller.RunnerConfig{Name: Name, Sync: c.sync, Synced: c.synced, Logger: cfg.Logger})
	c.podEvents = serviceendpoint.PodEvents{Services: c.services, Enqueue: c.runner.Enqueue}
	// Handler registration errors only happen once the informer has
	// stopped, which cannot be the case before the manager starts it.
	_, _ = cfg.Services.Informer().AddEventHandler(c.runner.ObjectHandler())
	_, _ = cfg.Pods.Informer().AddEventHandler(c.podEvents.Handler())
	_, _ = cfg.Endpoints.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: c.runner.EnqueueObject,
	})
	return c
}

// Run enqueues leftover Endpoints once the caches are filled (their
// Services may have gone while no controller ran), then runs workers
// until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	go func() {
		if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
			return
		}
		c.enqueueLeftovers()
	}()
	c.runner.Run(ctx, workers)
}

func (c *Controller) enqueueLeftovers() {
	eps, err := c.endpoints.List(labels.Everything())
	if err != nil {
		c.log.Error("List endpoints", "err", err)
		return
	}
	for _, ep := range eps {
		if _, ok := ep.Annotations[annotationLeader]; ok {
			continue
		}
		c.runner.EnqueueObject(ep)
	}
}

// sync makes the Endpoints of the Service named key match its pods.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil //nolint:nilerr // a malformed key can never succeed
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.triggers.Forget(key)
		err := c.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpoints %s: %w", key, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get service %s: %w", key, err)
	}
	if len(svc.Spec.Selector) == 0 {
		// The user manages the Endpoints of a Service without a selector.
		return nil
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return fmt.Errorf("list pods for service %s: %w", key, err)
	}
	subsets, truncated := truncate(desiredSubsets(svc, pods), maxAddresses)
	triggerTime := c.triggers.Compute(key, svc, pods)

	cur, err := c.endpoints.Endpoints(ns).Get(name)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("get endpoints %s: %w", key, err)
	}
	wantLabels := endpointsLabels(svc)
	if exists && equality.Semantic.DeepEqual(cur.Subsets, subsets) &&
		maps.Equal(cur.Labels, wantLabels) && (cur.Annotations[AnnotationOverCapacity] != "") == truncated {
		return nil
	}

	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if exists {
		ep = cur.DeepCopy()
	}
	ep.Subsets = subsets
	ep.Labels = wantLabels
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	if triggerTime.IsZero() {
		delete(ep.Annotations, AnnotationTriggerTime)
	} else {
		ep.Annotations[AnnotationTriggerTime] = triggerTime.UTC().Format(time.RFC3339Nano)
	}
	if truncated {
		ep.Annotations[AnnotationOverCapacity] = "truncated"
	} else {
		delete(ep.Annotations, AnnotationOverCapacity)
	}
	if len(ep.Annotations) == 0 {
		ep.Annotations = nil
	}

	if exists {
		_, err = c.client.CoreV1().Endpoints(ns).Update(ctx, ep, metav1.UpdateOptions{})
	} else {
		_, err = c.client.CoreV1().Endpoints(ns).Create(ctx, ep, metav1.CreateOptions{})
	}
	switch {
	case err == nil:
		return nil
	case !exists && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		// The namespace is going away with the Service in it.
		return nil
	case exists:
		c.recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Failed to update endpoint %s: %v", key, err)
		return fmt.Errorf("update endpoints %s: %w", key, err)
	default:
		c.recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToCreateEndpoint", "Failed to create endpoint for service %s: %v", key, err)
		return fmt.Errorf("create endpoints %s: %w", key, err)
	}
}

// endpointsLabels returns the labels of svc's Endpoints: the Service's,
// plus service.kubernetes.io/headless on headless Services.
func endpointsLabels(svc *corev1.Service) map[string]string {
	out := make(map[string]string, len(svc.Labels)+1)
	maps.Copy(out, svc.Labels)
	delete(out, corev1.IsHeadlessService)
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[corev1.IsHeadlessService] = ""
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
