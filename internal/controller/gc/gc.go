package gc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers.
const Name = "garbage-collector"

const (
	// DefaultWorkers is upstream's --concurrent-gc-syncs.
	DefaultWorkers = 20
	// DefaultResyncPeriod is how often discovery is read again even
	// without a CRD change.
	DefaultResyncPeriod = 30 * time.Second
	// notSyncedRetry is how soon an item is retried while a new
	// resource's informer fills its cache.
	notSyncedRetry = time.Second
	// absentCacheSize bounds the remembered absent owners.
	absentCacheSize = 4096
)

var crdResource = schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}

// Descriptor returns how the controller manager builds the collector.
// restConfig gives the configuration of the metadata client the
// collector's informers use (the manager's Context carries only typed and
// dynamic clients).
func Descriptor(restConfig func() (*rest.Config, error)) controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(c controller.Context) (controller.RunFunc, error) {
		rc, err := restConfig()
		if err != nil {
			return nil, err
		}
		rc = rest.CopyConfig(rc)
		rc.UserAgent = "skiff-controller-manager/garbage-collector"
		md, err := metadata.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("metadata client: %w", err)
		}
		ctl := New(Config{Metadata: md, Discovery: c.Client.Discovery(), Logger: c.Logger})
		return func(ctx context.Context) { ctl.Run(ctx, DefaultWorkers) }, nil
	}}
}

// Config configures a Controller.
type Config struct {
	// Metadata reads, watches, patches and deletes objects of any
	// resource.
	Metadata metadata.Interface
	// Discovery lists the resources to watch.
	Discovery discovery.DiscoveryInterface
	// Mapper maps ownerReference kinds to resources; nil builds one over
	// Discovery (reset on every discovery resync).
	Mapper meta.RESTMapper
	// ResyncPeriod between discovery reads (default DefaultResyncPeriod).
	ResyncPeriod time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller is the garbage collector.
type Controller struct {
	md        metadata.Interface
	discovery discovery.DiscoveryInterface
	mapper    meta.RESTMapper
	resync    time.Duration
	log       *slog.Logger
	runner    *controller.Runner
	monitors  *monitors
	// hasSynced reports whether the caches are filled (a test seam).
	hasSynced func() bool
	// rediscover asks for a discovery resync (CRDs changed).
	rediscover chan struct{}

	absentMu sync.Mutex
	absent   map[string]bool
}

// New builds a Controller; it starts nothing.
func New(cfg Config) *Controller {
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	if cfg.ResyncPeriod <= 0 {
		cfg.ResyncPeriod = DefaultResyncPeriod
	}
	if cfg.Mapper == nil {
		cfg.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cfg.Discovery))
	}
	c := &Controller{
		md: cfg.Metadata, discovery: cfg.Discovery, mapper: cfg.Mapper, resync: cfg.ResyncPeriod,
		log: cfg.Logger, rediscover: make(chan struct{}, 1), absent: map[string]bool{},
	}
	c.monitors = &monitors{client: cfg.Metadata, handlers: c.handlers, log: cfg.Logger}
	c.hasSynced = c.monitors.synced
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Logger: cfg.Logger, Synced: []cache.InformerSynced{c.monitors.synced},
	})
	return c
}

// Run watches the discovered resources and collects garbage with workers
// workers until ctx ends; it returns after every informer has stopped.
func (c *Controller) Run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	wg.Go(func() { c.discoverLoop(ctx) })
	c.runner.Run(ctx, workers)
	wg.Wait()
	c.monitors.stopAll()
}

// discoverLoop keeps the monitors in line with discovery: at start, when
// CRDs change and every resync period.
func (c *Controller) discoverLoop(ctx context.Context) {
	t := time.NewTicker(c.resync)
	defer t.Stop()
	for {
		if err := c.resyncMonitors(ctx); err != nil && ctx.Err() == nil {
			c.log.Info("Resource discovery failed, will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.rediscover:
		}
	}
}

func (c *Controller) resyncMonitors(ctx context.Context) error {
	if r, ok := c.mapper.(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
	want, failed, err := deletableResources(ctx, c.discovery)
	if err != nil {
		return err
	}
	if added, removed := c.monitors.sync(want, failed); added+removed > 0 {
		c.log.Info("Monitoring resources", "resources", want.Len(), "added", added, "removed", removed)
	}
	return nil
}

// handlers returns the event handlers of gvr's informer.
func (c *Controller) handlers(gvr schema.GroupVersionResource) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
				c.observe(gvr, nil, m)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*metav1.PartialObjectMetadata)
			n, ok2 := newObj.(*metav1.PartialObjectMetadata)
			if ok1 && ok2 && o.ResourceVersion != n.ResourceVersion {
				c.observe(gvr, o, n)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
				c.observeDeletion(gvr, m)
			}
		},
	}
}

// observe enqueues what an added or changed object may require: the
// object itself when it is being deleted with a propagation finalizer or
// when one of its owners is unknown to the caches or deleting in the
// foreground, its dependents when it starts a foreground deletion, and
// owners deleting in the foreground when its references change.
func (c *Controller) observe(gvr schema.GroupVersionResource, old, m *metav1.PartialObjectMetadata) {
	if gvr.GroupResource() == crdResource {
		select {
		case c.rediscover <- struct{}{}:
		default:
		}
	}
	self := itemOf(gvr, m)
	if deletingDependents(m) || orphaning(m) {
		c.runner.Enqueue(self.key())
		if deletingDependents(m) && (old == nil || !deletingDependents(old)) {
			for _, d := range c.monitors.dependents(string(m.UID)) {
				c.runner.Enqueue(itemOf(d.gvr, d.obj).key())
			}
		}
	}
	for _, r := range m.OwnerReferences {
		owner, ok := c.monitors.lookup(string(r.UID))
		if !ok || deletingDependents(owner.obj) {
			c.runner.Enqueue(self.key())
		}
	}
	if old != nil && (!slices.Equal(refUIDs(old), refUIDs(m)) || old.DeletionTimestamp == nil && m.DeletionTimestamp != nil ||
		!sameBlocking(old, m)) {
		c.enqueueWaitingOwners(old)
	}
}

// observeDeletion enqueues the dependents of a deleted object, and its
// owners deleting in the foreground (it may have been the last blocking
// dependent).
func (c *Controller) observeDeletion(gvr schema.GroupVersionResource, m *metav1.PartialObjectMetadata) {
	if gvr.GroupResource() == crdResource {
		select {
		case c.rediscover <- struct{}{}:
		default:
		}
	}
	for _, d := range c.monitors.dependents(string(m.UID)) {
		c.runner.Enqueue(itemOf(d.gvr, d.obj).key())
	}
	c.enqueueWaitingOwners(m)
}

func (c *Controller) enqueueWaitingOwners(m *metav1.PartialObjectMetadata) {
	for _, r := range m.OwnerReferences {
		if owner, ok := c.monitors.lookup(string(r.UID)); ok && deletingDependents(owner.obj) {
			c.runner.Enqueue(itemOf(owner.gvr, owner.obj).key())
		}
	}
}

func refUIDs(m *metav1.PartialObjectMetadata) []types.UID {
	out := make([]types.UID, 0, len(m.OwnerReferences))
	for _, r := range m.OwnerReferences {
		out = append(out, r.UID)
	}
	return out
}

func sameBlocking(a, b *metav1.PartialObjectMetadata) bool {
	for _, r := range a.OwnerReferences {
		if blocks(a, r.UID) != blocks(b, r.UID) {
			return false
		}
	}
	return true
}

// sync examines one item; see the package documentation.
func (c *Controller) sync(ctx context.Context, key string) error {
	it, err := parseKey(key)
	if err != nil {
		return nil //nolint:nilerr // a malformed key can never succeed
	}
	if !c.hasSynced() {
		return controller.RequeueAfter(notSyncedRetry, errors.New("informers not synced"))
	}
	latest, err := c.md.Resource(it.gvr).Namespace(it.namespace).Get(ctx, it.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", it, err)
	}
	if latest.UID != it.uid {
		// The object was replaced; the new one is its own item.
		return nil
	}
	switch {
	case orphaning(latest):
		return c.orphanDependents(ctx, it, latest)
	case deletingDependents(latest):
		return c.processDeletingDependents(ctx, it, latest)
	case latest.DeletionTimestamp != nil:
		return nil
	case len(latest.OwnerReferences) == 0:
		return nil
	}
	return c.attemptToDelete(ctx, it, latest)
}

// attemptToDelete deletes the item if none of its owners is alive, or
// drops its references to owners that are gone or deleting in the
// foreground when another owner is alive.
func (c *Controller) attemptToDelete(ctx context.Context, it item, latest *metav1.PartialObjectMetadata) error {
	var solid, dangling, waiting []metav1.OwnerReference
	for _, r := range latest.OwnerReferences {
		gone, owner, err := c.ownerGone(ctx, it, r)
		if errors.Is(err, errClusterScopedWithNamespacedOwner) {
			c.log.Info("Ignoring invalid owner reference", "item", it.String(), "owner", r.Kind+"/"+r.Name)
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case gone:
			dangling = append(dangling, r)
		case deletingDependents(owner):
			waiting = append(waiting, r)
		default:
			solid = append(solid, r)
		}
	}
	switch {
	case len(solid) > 0:
		if len(dangling)+len(waiting) == 0 {
			return nil
		}
		drop := map[types.UID]bool{}
		for _, r := range append(dangling, waiting...) {
			drop[r.UID] = true
		}
		refs := slices.DeleteFunc(slices.Clone(latest.OwnerReferences), func(r metav1.OwnerReference) bool { return drop[r.UID] })
		c.log.Info("Removing references to owners that are gone or deleting", "item", it.String(), "owners", len(drop))
		return c.patchMeta(ctx, it, latest, map[string]any{"ownerReferences": refs})
	case len(waiting) > 0 && len(c.monitors.dependents(string(it.uid))) > 0:
		// An owner waits for this item, which has dependents of its own:
		// delete it in the foreground too. A dependent also deleting in
		// the foreground may be waiting for this item; unblock it first
		// so the two cannot wait for each other.
		for _, d := range c.monitors.dependents(string(it.uid)) {
			if deletingDependents(d.obj) {
				if err := c.unblockOwners(ctx, it, latest); err != nil {
					return err
				}
				break
			}
		}
		return c.deleteItem(ctx, it, latest, metav1.DeletePropagationForeground)
	default:
		policy := metav1.DeletePropagationBackground
		switch {
		case hasFinalizer(latest, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case hasFinalizer(latest, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		return c.deleteItem(ctx, it, latest, policy)
	}
}

var errClusterScopedWithNamespacedOwner = errors.New("cluster-scoped object with a namespaced owner")

// ownerGone reports whether the owner r of it no longer exists (or was
// replaced by an object with another UID), checked with a live GET; it
// returns the owner's metadata when it exists.
func (c *Controller) ownerGone(ctx context.Context, it item, r metav1.OwnerReference) (bool, *metav1.PartialObjectMetadata, error) {
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		return false, nil, fmt.Errorf("owner reference of %s: %w", it, err)
	}
	mapping, err := c.mapper.RESTMapping(gv.WithKind(r.Kind).GroupKind(), gv.Version)
	if err != nil {
		return false, nil, fmt.Errorf("resource of owner kind %s %s: %w", r.APIVersion, r.Kind, err)
	}
	namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	ns := ""
	if namespaced {
		if it.namespace == "" {
			return false, nil, errClusterScopedWithNamespacedOwner
		}
		ns = it.namespace
	}
	absentKey := string(r.UID) + "|" + ns
	if c.isAbsent(absentKey) {
		return true, nil, nil
	}
	owner, err := c.md.Resource(mapping.Resource).Namespace(ns).Get(ctx, r.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		c.markAbsent(absentKey)
		return true, nil, nil
	case err != nil:
		return false, nil, fmt.Errorf("get owner %s %s/%s of %s: %w", r.Kind, ns, r.Name, it, err)
	case owner.UID != r.UID:
		c.markAbsent(absentKey)
		return true, nil, nil
	}
	return false, owner, nil
}

func (c *Controller) isAbsent(k string) bool {
	c.absentMu.Lock()
	defer c.absentMu.Unlock()
	return c.absent[k]
}

func (c *Controller) markAbsent(k string) {
	c.absentMu.Lock()
	defer c.absentMu.Unlock()
	if len(c.absent) >= absentCacheSize {
		clear(c.absent)
	}
	c.absent[k] = true
}

// processDeletingDependents removes the foregroundDeletion finalizer of an
// owner once no dependent blocks it, and otherwise makes sure the
// blocking dependents are being deleted.
func (c *Controller) processDeletingDependents(ctx context.Context, it item, latest *metav1.PartialObjectMetadata) error {
	var blocking []cached
	for _, d := range c.monitors.dependents(string(it.uid)) {
		if blocks(d.obj, it.uid) {
			blocking = append(blocking, d)
		}
	}
	if len(blocking) == 0 {
		c.log.Info("Dependents deleted, removing the foreground finalizer", "item", it.String())
		return c.removeFinalizer(ctx, it, latest, metav1.FinalizerDeleteDependents)
	}
	for _, d := range blocking {
		if d.obj.DeletionTimestamp == nil {
			c.runner.Enqueue(itemOf(d.gvr, d.obj).key())
		}
	}
	return nil
}

// orphanDependents removes the references to the owner from all its
// dependents, then the orphan finalizer from the owner.
func (c *Controller) orphanDependents(ctx context.Context, it item, latest *metav1.PartialObjectMetadata) error {
	var errs []error
	for _, d := range c.monitors.dependents(string(it.uid)) {
		dep := itemOf(d.gvr, d.obj)
		cur, err := c.md.Resource(dep.gvr).Namespace(dep.namespace).Get(ctx, dep.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("get dependent %s: %w", dep, err))
			continue
		}
		if cur.UID != dep.uid {
			continue
		}
		refs := slices.DeleteFunc(slices.Clone(cur.OwnerReferences), func(r metav1.OwnerReference) bool { return r.UID == it.uid })
		if len(refs) == len(cur.OwnerReferences) {
			continue
		}
		if err := c.patchMeta(ctx, dep, cur, map[string]any{"ownerReferences": refs}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.log.Info("Dependents orphaned, removing the orphan finalizer", "item", it.String())
	return c.removeFinalizer(ctx, it, latest, metav1.FinalizerOrphanDependents)
}

// unblockOwners clears blockOwnerDeletion on every owner reference of the
// item.
func (c *Controller) unblockOwners(ctx context.Context, it item, latest *metav1.PartialObjectMetadata) error {
	refs := slices.Clone(latest.OwnerReferences)
	changed := false
	for i := range refs {
		if refs[i].BlockOwnerDeletion != nil && *refs[i].BlockOwnerDeletion {
			f := false
			refs[i].BlockOwnerDeletion = &f
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return c.patchMeta(ctx, it, latest, map[string]any{"ownerReferences": refs})
}

func (c *Controller) removeFinalizer(ctx context.Context, it item, latest *metav1.PartialObjectMetadata, f string) error {
	fins := slices.DeleteFunc(slices.Clone(latest.Finalizers), func(s string) bool { return s == f })
	if fins == nil {
		fins = []string{}
	}
	return c.patchMeta(ctx, it, latest, map[string]any{"finalizers": fins})
}

// patchMeta merge-patches fields of the item's metadata, conditional on
// the UID and resourceVersion read (a conflict retries the item).
func (c *Controller) patchMeta(ctx context.Context, it item, latest *metav1.PartialObjectMetadata, fields map[string]any) error {
	md := map[string]any{"uid": latest.UID, "resourceVersion": latest.ResourceVersion}
	for k, v := range fields {
		md[k] = v
	}
	data, err := json.Marshal(map[string]any{"metadata": md})
	if err != nil {
		return fmt.Errorf("patch %s: %w", it, err)
	}
	_, err = c.md.Resource(it.gvr).Namespace(it.namespace).Patch(ctx, it.name, types.MergePatchType, data, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch %s: %w", it, err)
	}
	return nil
}

// deleteItem deletes the item with policy, conditional on the UID and
// resourceVersion read, so that an item whose owners changed since is
// examined again rather than deleted.
func (c *Controller) deleteItem(ctx context.Context, it item, latest *metav1.PartialObjectMetadata, policy metav1.DeletionPropagation) error {
	c.log.Info("Deleting object", "item", it.String(), "propagationPolicy", policy)
	uid, rv := latest.UID, latest.ResourceVersion
	err := c.md.Resource(it.gvr).Namespace(it.namespace).Delete(ctx, it.name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		PropagationPolicy: &policy,
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", it, err)
	}
	return nil
}
