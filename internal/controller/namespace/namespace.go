package namespace

import (
	"context"
	"errors"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers.
const Name = "namespace"

// Upstream's timings.
const (
	// DefaultDeletionDelay lets in-flight creations in a namespace land
	// before it is emptied.
	DefaultDeletionDelay = 5 * time.Second
	// resyncPeriod re-examines namespaces being deleted.
	resyncPeriod = 5 * time.Minute
	// DefaultWorkers is upstream's --concurrent-namespace-syncs.
	DefaultWorkers = 10
)

// Config configures a Controller.
type Config struct {
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	Namespaces coreinformers.NamespaceInformer
	// Discover lists the server's preferred namespaced resources; nil
	// asks Client's discovery client each time.
	Discover func(ctx context.Context) ([]*metav1.APIResourceList, error)
	// DeletionDelay is how long after a namespace is seen deleting it is
	// first processed (default DefaultDeletionDelay; negative means none).
	DeletionDelay time.Duration
	// Workers is the number of namespaces emptied at once (default
	// DefaultWorkers).
	Workers int
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller empties and finalizes namespaces being deleted.
type Controller struct {
	runner  *controller.Runner
	lister  corelisters.NamespaceLister
	deleter *deleter
	delay   time.Duration
	workers int
}

// New builds a Controller and registers its namespace event handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	if cfg.Discover == nil {
		d := cfg.Client.Discovery()
		cfg.Discover = func(ctx context.Context) ([]*metav1.APIResourceList, error) {
			return discovery.ServerPreferredNamespacedResourcesWithContext(ctx, discovery.ToDiscoveryInterfaceWithContext(d))
		}
	}
	switch {
	case cfg.DeletionDelay == 0:
		cfg.DeletionDelay = DefaultDeletionDelay
	case cfg.DeletionDelay < 0:
		cfg.DeletionDelay = 0
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	c := &Controller{
		lister:  cfg.Namespaces.Lister(),
		delay:   cfg.DeletionDelay,
		workers: cfg.Workers,
		deleter: &deleter{
			namespaces: cfg.Client.CoreV1().Namespaces(), pods: cfg.Client.CoreV1(), dynamic: cfg.Dynamic,
			discover: cfg.Discover, now: cfg.Now, log: cfg.Logger, unsupported: map[opKey]bool{},
		},
	}
	inf := cfg.Namespaces.Informer()
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Synced: []cache.InformerSynced{inf.HasSynced}, Logger: cfg.Logger,
		// Upstream's limiter: retries back off from 5ms to at most a minute.
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, time.Minute),
	})
	_, err := inf.AddEventHandlerWithResyncPeriod(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addNamespace,
		UpdateFunc: c.updateNamespace,
	}, resyncPeriod)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Run empties namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.runner.Run(ctx, c.workers) }

func (c *Controller) addNamespace(obj any) { c.enqueue(obj) }

func (c *Controller) updateNamespace(_, obj any) { c.enqueue(obj) }

// enqueue queues namespaces being deleted, after the deletion delay.
func (c *Controller) enqueue(obj any) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok || ns.DeletionTimestamp.IsZero() {
		return
	}
	c.runner.EnqueueAfter(ns.Name, c.delay)
}

// sync empties the namespace named key. Content that needs time (pods
// terminating, objects held by finalizers) retries after half the
// estimate, as upstream does.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, err := c.lister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	err = c.deleter.delete(ctx, ns.Name)
	var rem *remainingError
	if errors.As(err, &rem) {
		return controller.RequeueAfter(time.Duration(rem.estimate/2+1)*time.Second, err)
	}
	return err
}
