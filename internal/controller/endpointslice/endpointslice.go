package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiff/skiff/internal/controller"
	"github.com/skiff/skiff/internal/controller/serviceendpoint"
)

// Name is the controller's name in --disable-controllers.
const Name = "endpointslice"

// DefaultWorkers is upstream's --concurrent-service-endpoint-syncs.
const DefaultWorkers = 5

// staleRetry is how soon a sync that found the cache behind its own
// writes runs again.
const staleRetry = 100 * time.Millisecond

// Descriptor returns how the controller manager builds the controller.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: Name, New: newFromContext}
}

func newFromContext(c controller.Context) (controller.RunFunc, error) {
	ctl := New(Config{
		Client:         c.Client,
		Services:       c.Informers.Core().V1().Services(),
		Pods:           c.Informers.Core().V1().Pods(),
		Nodes:          c.Informers.Core().V1().Nodes(),
		EndpointSlices: c.Informers.Discovery().V1().EndpointSlices(),
		Recorder:       c.Recorder("endpoint-slice-controller"),
		Logger:         c.Logger,
	})
	return func(ctx context.Context) { ctl.Run(ctx, DefaultWorkers) }, nil
}

// Config configures a Controller.
type Config struct {
	Client         kubernetes.Interface
	Services       coreinformers.ServiceInformer
	Pods           coreinformers.PodInformer
	Nodes          coreinformers.NodeInformer
	EndpointSlices discoveryinformers.EndpointSliceInformer
	// Recorder receives Events about Services; nil drops them.
	Recorder record.EventRecorder
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller keeps the EndpointSlices of selector Services.
type Controller struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	recorder record.EventRecorder
	runner   *controller.Runner
	// podEvents wakes the Services a pod change concerns.
	podEvents serviceendpoint.PodEvents
	triggers  *serviceendpoint.TriggerTimes
	tracker   *tracker
}

// New builds a Controller and registers its event handlers.
func New(cfg Config) *Controller {
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
	c := &Controller{
		client:   cfg.Client,
		services: cfg.Services.Lister(),
		pods:     cfg.Pods.Lister(),
		nodes:    cfg.Nodes.Lister(),
		slices:   cfg.EndpointSlices.Lister(),
		recorder: cfg.Recorder,
		triggers: serviceendpoint.NewTriggerTimes(),
		tracker:  newTracker(),
	}
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{
			cfg.Services.Informer().HasSynced, cfg.Pods.Informer().HasSynced,
			cfg.Nodes.Informer().HasSynced, cfg.EndpointSlices.Informer().HasSynced,
		},
	})
	c.podEvents = serviceendpoint.PodEvents{Services: c.services, Enqueue: c.runner.Enqueue}
	// Handler registration errors only happen once the informer has
	// stopped, which cannot be the case before the manager starts it.
	_, _ = cfg.Services.Informer().AddEventHandler(c.runner.ObjectHandler())
	_, _ = cfg.Pods.Informer().AddEventHandler(c.podEvents.Handler())
	_, _ = cfg.EndpointSlices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueSlice,
		UpdateFunc: func(_, obj any) { c.enqueueSlice(obj) },
		DeleteFunc: c.deleteSlice,
	})
	_, _ = cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: c.updateNode,
	})
	return c
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.runner.Run(ctx, workers) }

// updateNode resyncs the Services of the node's pods when its zone
// changes.
func (c *Controller) updateNode(oldObj, newObj any) {
	oldNode, newNode := oldObj.(*corev1.Node), newObj.(*corev1.Node)
	if oldNode.Labels[corev1.LabelTopologyZone] == newNode.Labels[corev1.LabelTopologyZone] {
		return
	}
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return
	}
	for _, pod := range pods {
		if pod.Spec.NodeName == newNode.Name {
			c.podEvents.Add(pod)
		}
	}
}

func (c *Controller) enqueueSlice(obj any) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.Labels[discoveryv1.LabelManagedBy] != ManagedBy || s.Labels[discoveryv1.LabelServiceName] == "" {
		return
	}
	c.runner.Enqueue(s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName])
}

func (c *Controller) deleteSlice(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	if name := s.Labels[discoveryv1.LabelServiceName]; name != "" {
		c.tracker.observedDeletion(s.Namespace+"/"+name, s)
	}
	c.enqueueSlice(s)
}

func (c *Controller) zoneOf(node string) string {
	n, err := c.nodes.Get(node)
	if err != nil {
		return ""
	}
	return n.Labels[corev1.LabelTopologyZone]
}

// sync makes the EndpointSlices of the Service named key match its pods.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil //nolint:nilerr // a malformed key can never succeed
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The garbage collector deletes the slices the Service owned.
		c.triggers.Forget(key)
		c.tracker.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get service %s: %w", key, err)
	}
	if len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if svc.DeletionTimestamp != nil {
		return nil
	}
	sel := labels.SelectorFromValidatedSet(map[string]string{
		discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: ManagedBy,
	})
	cached, err := c.slices.EndpointSlices(ns).List(sel)
	if err != nil {
		return fmt.Errorf("list endpointslices of service %s: %w", key, err)
	}
	if c.tracker.stale(key, cached) {
		return controller.RequeueAfter(staleRetry, errors.New("endpointslice cache is behind the controller's writes"))
	}
	existing := cached[:0:0]
	for _, s := range cached {
		if s.DeletionTimestamp == nil {
			existing = append(existing, s)
		}
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return fmt.Errorf("list pods of service %s: %w", key, err)
	}
	triggerTime := c.triggers.Compute(key, svc, pods)
	p := planSlices(svc, existing, desiredGroups(svc, pods, c.zoneOf), triggerTime)
	return c.apply(ctx, key, svc, p)
}

// apply writes a plan: creations first, then updates, then deletions, so
// that no endpoint is missing from every slice at any point.
func (c *Controller) apply(ctx context.Context, key string, svc *corev1.Service, p plan) error {
	api := c.client.DiscoveryV1().EndpointSlices(svc.Namespace)
	var errs []error
	for _, s := range p.create {
		got, err := api.Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			errs = append(errs, fmt.Errorf("create endpointslice for service %s: %w", key, err))
			continue
		}
		c.tracker.wrote(key, got)
	}
	for _, s := range p.update {
		got, err := api.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("update endpointslice %s/%s: %w", s.Namespace, s.Name, err))
			continue
		}
		c.tracker.wrote(key, got)
	}
	for _, s := range p.delete {
		uid := s.UID
		err := api.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete endpointslice %s/%s: %w", s.Namespace, s.Name, err))
			continue
		}
		c.tracker.deleted(key, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}})
	}
	if err := errors.Join(errs...); err != nil {
		c.recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices", "Error updating Endpoint Slices for Service %s: %v", key, err)
		return err
	}
	return nil
}
