package gc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// Index names on every monitor's informer.
const (
	indexUID   = "uid"
	indexOwner = "ownerUID"
)

// ignoredResources are never collected, as upstream's defaults.
var ignoredResources = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

var indexers = cache.Indexers{
	indexUID: func(obj any) ([]string, error) {
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return nil, nil
		}
		return []string{string(m.UID)}, nil
	},
	indexOwner: func(obj any) ([]string, error) {
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return nil, nil
		}
		out := make([]string, 0, len(m.OwnerReferences))
		for _, r := range m.OwnerReferences {
			out = append(out, string(r.UID))
		}
		return out, nil
	},
}

// monitor is the informer over one resource.
type monitor struct {
	gvr      schema.GroupVersionResource
	informer cache.SharedIndexInformer
	stop     chan struct{}
	done     chan struct{}
}

// handlerFactory returns the event handlers for a resource's informer.
type handlerFactory func(gvr schema.GroupVersionResource) cache.ResourceEventHandler

// monitors is the set of running monitors; it is safe for concurrent use.
type monitors struct {
	client   metadata.Interface
	handlers handlerFactory
	log      *slog.Logger

	mu      sync.RWMutex
	m       map[schema.GroupVersionResource]*monitor
	started bool // a first sync has run
}

// deletableResources returns the preferred version of every resource
// that supports delete, list and watch. Groups whose discovery failed
// are left out (their monitors keep running) and reported in failed.
func deletableResources(ctx context.Context, d discovery.DiscoveryInterface) (found sets.Set[schema.GroupVersionResource], failed sets.Set[schema.GroupVersion], err error) {
	lists, err := discovery.ServerPreferredResourcesWithContext(ctx, discovery.ToDiscoveryInterfaceWithContext(d))
	failed = sets.New[schema.GroupVersion]()
	if err != nil {
		gerr, ok := err.(*discovery.ErrGroupDiscoveryFailed)
		if !ok {
			return nil, nil, fmt.Errorf("discover resources: %w", err)
		}
		for gv := range gerr.Groups {
			failed.Insert(gv)
		}
	}
	found = sets.New[schema.GroupVersionResource]()
	for _, l := range discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"delete", "list", "watch"}}, lists) {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			gvr := gv.WithResource(r.Name)
			if !ignoredResources[gvr.GroupResource()] {
				found.Insert(gvr)
			}
		}
	}
	return found, failed, nil
}

// sync starts monitors for the resources in want that have none and stops
// those for resources no longer listed (except those whose group version
// failed discovery). It reports how many it started and stopped.
func (ms *monitors) sync(want sets.Set[schema.GroupVersionResource], failed sets.Set[schema.GroupVersion]) (added, removed int) {
	var stopping []*monitor
	// Wait for stopped monitors without the lock (see stopAll).
	defer func() {
		for _, m := range stopping {
			<-m.done
		}
	}()
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.m == nil {
		ms.m = map[schema.GroupVersionResource]*monitor{}
	}
	for gvr, m := range ms.m {
		if !want.Has(gvr) && !failed.Has(gvr.GroupVersion()) {
			close(m.stop)
			stopping = append(stopping, m)
			delete(ms.m, gvr)
			removed++
		}
	}
	for gvr := range want {
		if _, ok := ms.m[gvr]; ok {
			continue
		}
		m := ms.newMonitor(gvr)
		ms.m[gvr] = m
		go func() {
			defer close(m.done)
			m.informer.Run(m.stop)
		}()
		added++
	}
	ms.started = true
	return added, removed
}

// newMonitor builds the informer for gvr without starting it.
func (ms *monitors) newMonitor(gvr schema.GroupVersionResource) *monitor {
	inf := metadatainformer.NewFilteredMetadataInformer(ms.client, gvr, metav1.NamespaceAll, 0, indexers, nil).Informer()
	// AddEventHandler fails only on a stopped informer; this one has not
	// started.
	_, _ = inf.AddEventHandler(ms.handlers(gvr))
	return &monitor{gvr: gvr, informer: inf, stop: make(chan struct{}), done: make(chan struct{})}
}

// stopAll stops every monitor and waits for them. It waits without the
// lock: a stopping informer may still run a handler that takes it.
func (ms *monitors) stopAll() {
	ms.mu.Lock()
	stopping := make([]*monitor, 0, len(ms.m))
	for gvr, m := range ms.m {
		close(m.stop)
		stopping = append(stopping, m)
		delete(ms.m, gvr)
	}
	ms.mu.Unlock()
	for _, m := range stopping {
		<-m.done
	}
}

// synced reports whether discovery has run once and every monitor has
// filled its cache.
func (ms *monitors) synced() bool {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	if !ms.started {
		return false
	}
	for _, m := range ms.m {
		if !m.informer.HasSynced() {
			return false
		}
	}
	return true
}

// cached is an object seen by a monitor, with its resource.
type cached struct {
	gvr schema.GroupVersionResource
	obj *metav1.PartialObjectMetadata
}

// byIndex returns the cached objects of every resource whose index holds
// value.
func (ms *monitors) byIndex(index, value string) []cached {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	var out []cached
	for gvr, m := range ms.m {
		objs, err := m.informer.GetIndexer().ByIndex(index, value)
		if err != nil {
			continue
		}
		for _, o := range objs {
			if p, ok := o.(*metav1.PartialObjectMetadata); ok {
				out = append(out, cached{gvr: gvr, obj: p})
			}
		}
	}
	return out
}

// dependents returns the cached objects that name uid as an owner.
func (ms *monitors) dependents(uid string) []cached { return ms.byIndex(indexOwner, uid) }

// lookup returns the cached object with uid, if any.
func (ms *monitors) lookup(uid string) (cached, bool) {
	objs := ms.byIndex(indexUID, uid)
	if len(objs) == 0 {
		return cached{}, false
	}
	return objs[0], true
}
