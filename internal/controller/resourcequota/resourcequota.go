package resourcequota

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers (upstream's).
const Name = "resourcequota"

// DefaultResyncPeriod is upstream's --resource-quota-sync-period: every
// quota is recomputed this often, which catches resources counted by
// listing rather than watching.
const DefaultResyncPeriod = 5 * time.Minute

const workers = 5

// watchedGroupResources are the count/<resource>.<group> resources
// counted from the shared informers (and so followed at once); others are
// listed through the dynamic client at each sync.
var watchedGroupResources = []schema.GroupVersionResource{
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "replicasets"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "apps", Version: "v1", Resource: "daemonsets"},
	{Group: "batch", Version: "v1", Resource: "jobs"},
	{Group: "batch", Version: "v1", Resource: "cronjobs"},
}

// Config configures a Controller.
type Config struct {
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	// Informers is the shared factory; New registers the informers of
	// every resource it watches.
	Informers informers.SharedInformerFactory
	// ResyncPeriod defaults to DefaultResyncPeriod.
	ResyncPeriod time.Duration
	// Clock; nil means the real clock.
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller keeps ResourceQuota status.
type Controller struct {
	client   kubernetes.Interface
	dynamic  dynamic.Interface
	quotas   corelisters.ResourceQuotaLister
	pods     corelisters.PodLister
	services corelisters.ServiceLister
	cms      corelisters.ConfigMapLister
	secrets  corelisters.SecretLister
	pvcs     corelisters.PersistentVolumeClaimLister
	rcs      corelisters.ReplicationControllerLister
	generic  map[string]cache.GenericLister // "resource.group" → lister
	resync   time.Duration
	clock    clock.Clock
	log      *slog.Logger
	runner   *controller.Runner
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("resourcequota: Client and Informers are required")
	}
	if cfg.ResyncPeriod <= 0 {
		cfg.ResyncPeriod = DefaultResyncPeriod
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	core := cfg.Informers.Core().V1()
	c := &Controller{
		client: cfg.Client, dynamic: cfg.Dynamic, quotas: core.ResourceQuotas().Lister(), pods: core.Pods().Lister(),
		services: core.Services().Lister(), cms: core.ConfigMaps().Lister(), secrets: core.Secrets().Lister(),
		pvcs: core.PersistentVolumeClaims().Lister(), rcs: core.ReplicationControllers().Lister(),
		generic: map[string]cache.GenericLister{}, resync: cfg.ResyncPeriod, clock: cfg.Clock, log: cfg.Logger,
	}
	synced := []cache.InformerSynced{}
	watch := func(inf cache.SharedIndexInformer, changed func(old, cur any) bool) error {
		synced = append(synced, inf.HasSynced)
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: c.enqueueNamespace,
			UpdateFunc: func(old, cur any) {
				if changed == nil || changed(old, cur) {
					c.enqueueNamespace(cur)
				}
			},
			DeleteFunc: c.enqueueNamespace,
		})
		return err
	}
	errs := []error{
		watch(core.Pods().Informer(), podChanged),
		watch(core.Services().Informer(), specChanged),
		watch(core.ConfigMaps().Informer(), never), watch(core.Secrets().Informer(), never),
		watch(core.PersistentVolumeClaims().Informer(), specChanged), watch(core.ReplicationControllers().Informer(), never),
	}
	for _, gvr := range watchedGroupResources {
		gi, err := cfg.Informers.ForResource(gvr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.generic[gvr.Resource+"."+gvr.Group] = gi.Lister()
		errs = append(errs, watch(gi.Informer(), never))
	}
	qi := core.ResourceQuotas().Informer()
	synced = append(synced, qi.HasSynced)
	_, err := qi.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueQuota,
		UpdateFunc: func(old, cur any) {
			o, n := old.(*corev1.ResourceQuota), cur.(*corev1.ResourceQuota)
			if !apiequality.Semantic.DeepEqual(o.Spec, n.Spec) || !equal(n.Spec.Hard, n.Status.Hard) {
				c.enqueueQuota(cur)
			}
		},
	})
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("resourcequota informers: %w", err)
	}
	c.runner = controller.NewRunner(controller.RunnerConfig{Name: Name, Sync: c.sync, Synced: synced, Logger: cfg.Logger})
	return c, nil
}

// Descriptor describes the controller for the Manager.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		c, err := New(Config{Client: cc.Client, Dynamic: cc.Dynamic, Informers: cc.Informers, Logger: cc.Logger})
		if err != nil {
			return nil, err
		}
		return c.Run, nil
	}}
}

// Run syncs quotas, and every quota each resync period, until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.runner.Run(ctx, workers)
	}()
	defer func() { <-done }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.clock.After(c.resync):
		}
		qs, err := c.quotas.List(labels.Everything())
		if err != nil {
			continue
		}
		for _, q := range qs {
			c.runner.EnqueueObject(q)
		}
	}
}

func never(_, _ any) bool { return false }

func specChanged(old, cur any) bool {
	switch o := old.(type) {
	case *corev1.Service:
		return !apiequality.Semantic.DeepEqual(o.Spec, cur.(*corev1.Service).Spec)
	case *corev1.PersistentVolumeClaim:
		return !apiequality.Semantic.DeepEqual(o.Spec, cur.(*corev1.PersistentVolumeClaim).Spec)
	}
	return true
}

// podChanged reports whether an update may change what the pod counts.
func podChanged(old, cur any) bool {
	o, n := old.(*corev1.Pod), cur.(*corev1.Pod)
	return o.Status.Phase != n.Status.Phase || (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) ||
		!apiequality.Semantic.DeepEqual(o.Spec, n.Spec)
}

func (c *Controller) enqueueQuota(obj any) { c.runner.EnqueueObject(obj) }

// enqueueNamespace enqueues every quota of obj's namespace.
func (c *Controller) enqueueNamespace(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	qs, err := c.quotas.ResourceQuotas(m.GetNamespace()).List(labels.Everything())
	if err != nil {
		return
	}
	for _, q := range qs {
		c.runner.EnqueueObject(q)
	}
}

// sync recomputes the status of the quota named key.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	rq, err := c.quotas.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	used, uerr := c.usage(ctx, rq)
	st := corev1.ResourceQuotaStatus{Hard: rq.Spec.Hard.DeepCopy(), Used: mask(used, rq.Spec.Hard)}
	if st.Hard == nil {
		st.Hard = corev1.ResourceList{}
	}
	if equal(st.Hard, rq.Status.Hard) && equal(st.Used, rq.Status.Used) {
		return uerr
	}
	q := rq.DeepCopy()
	q.Status = st
	if _, err := c.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		return errors.Join(uerr, fmt.Errorf("update status of resourcequota %s: %w", key, err))
	}
	return uerr
}

// usage computes the usage of every resource rq.spec.hard names; a
// resource it cannot count keeps the value status.used has.
func (c *Controller) usage(ctx context.Context, rq *corev1.ResourceQuota) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for n, q := range rq.Status.Used {
		out[n] = q.DeepCopy()
	}
	reqs := scopeRequirements(rq)
	scoped := len(reqs) > 0
	ns := rq.Namespace
	sel := labels.Everything()
	var computed []corev1.ResourceList
	var errs []error
	need := func(pred func(corev1.ResourceName) bool) bool {
		for n := range rq.Spec.Hard {
			if pred(n) {
				return true
			}
		}
		return false
	}
	if need(podResource) {
		pods, err := c.pods.Pods(ns).List(sel)
		errs = append(errs, err)
		pu := podsUsage(pods, reqs, c.clock.Now())
		for n := range rq.Spec.Hard {
			if podResource(n) {
				if _, ok := pu[n]; !ok {
					pu[n] = resource.Quantity{Format: resource.DecimalSI}
				}
			}
		}
		computed = append(computed, pu)
	}
	count := func(names []corev1.ResourceName, n int) corev1.ResourceList {
		out := corev1.ResourceList{}
		for _, name := range names {
			out[name] = *resource.NewQuantity(int64(n), resource.DecimalSI)
		}
		return out
	}
	if need(func(n corev1.ResourceName) bool {
		return n == corev1.ResourceServices || n == countPrefix+"services" || n == corev1.ResourceServicesLoadBalancers || n == corev1.ResourceServicesNodePorts
	}) {
		svcs, err := c.services.Services(ns).List(sel)
		errs = append(errs, err)
		computed = append(computed, servicesUsage(svcs))
	}
	if need(func(n corev1.ResourceName) bool {
		return n == corev1.ResourceConfigMaps || n == countPrefix+"configmaps"
	}) {
		cms, err := c.cms.ConfigMaps(ns).List(sel)
		errs = append(errs, err)
		computed = append(computed, count([]corev1.ResourceName{corev1.ResourceConfigMaps, countPrefix + "configmaps"}, len(cms)))
	}
	if need(func(n corev1.ResourceName) bool { return n == corev1.ResourceSecrets || n == countPrefix+"secrets" }) {
		ss, err := c.secrets.Secrets(ns).List(sel)
		errs = append(errs, err)
		computed = append(computed, count([]corev1.ResourceName{corev1.ResourceSecrets, countPrefix + "secrets"}, len(ss)))
	}
	if need(func(n corev1.ResourceName) bool {
		return n == corev1.ResourcePersistentVolumeClaims || n == countPrefix+"persistentvolumeclaims" ||
			n == corev1.ResourceRequestsStorage || strings.Contains(string(n), storageClassSuffix)
	}) {
		pvcs, err := c.pvcs.PersistentVolumeClaims(ns).List(sel)
		errs = append(errs, err)
		pu := pvcsUsage(pvcs)
		for n := range rq.Spec.Hard {
			if _, ok := pu[n]; !ok && strings.Contains(string(n), storageClassSuffix) {
				pu[n] = resource.Quantity{Format: resource.DecimalSI}
			}
		}
		computed = append(computed, pu)
	}
	if need(func(n corev1.ResourceName) bool {
		return n == corev1.ResourceReplicationControllers || n == countPrefix+"replicationcontrollers"
	}) {
		rcs, err := c.rcs.ReplicationControllers(ns).List(sel)
		errs = append(errs, err)
		computed = append(computed, count([]corev1.ResourceName{corev1.ResourceReplicationControllers, countPrefix + "replicationcontrollers"}, len(rcs)))
	}
	if need(func(n corev1.ResourceName) bool {
		return n == corev1.ResourceQuotas || n == countPrefix+"resourcequotas"
	}) {
		qs, err := c.quotas.ResourceQuotas(ns).List(sel)
		errs = append(errs, err)
		computed = append(computed, count([]corev1.ResourceName{corev1.ResourceQuotas, countPrefix + "resourcequotas"}, len(qs)))
	}
	for n := range rq.Spec.Hard {
		gr, ok := strings.CutPrefix(string(n), countPrefix)
		if !ok || coreCounted[gr] {
			continue
		}
		k, err := c.countGeneric(ctx, ns, gr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		computed = append(computed, count([]corev1.ResourceName{n}, k))
	}
	for _, rl := range computed {
		for n, q := range rl {
			if scoped && !podResource(n) {
				// Only pods have scopes: a scoped quota counts no other
				// object, as upstream.
				q = resource.Quantity{Format: resource.DecimalSI}
			}
			out[n] = q
		}
	}
	return out, errors.Join(errs...)
}

// coreCounted are the core resources counted by their own evaluator.
var coreCounted = map[string]bool{
	"pods": true, "services": true, "configmaps": true, "secrets": true,
	"persistentvolumeclaims": true, "replicationcontrollers": true, "resourcequotas": true,
}

// countGeneric counts the objects of "resource.group" in ns.
func (c *Controller) countGeneric(ctx context.Context, ns, gr string) (int, error) {
	if l, ok := c.generic[gr]; ok {
		objs, err := l.ByNamespace(ns).List(labels.Everything())
		return len(objs), err
	}
	if c.dynamic == nil {
		return 0, fmt.Errorf("count %s: no dynamic client", gr)
	}
	res, group, _ := strings.Cut(gr, ".")
	version := "v1"
	var err error
	if group != "" {
		version, err = c.preferredVersion(group)
	}
	if err != nil {
		return 0, err
	}
	n := 0
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := c.dynamic.Resource(schema.GroupVersionResource{Group: group, Version: version, Resource: res}).Namespace(ns).List(ctx, opts)
		if err != nil {
			return 0, fmt.Errorf("count %s in %s: %w", gr, ns, err)
		}
		n += len(l.Items)
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			return n, nil
		}
	}
}

// preferredVersion asks discovery for group's preferred version.
func (c *Controller) preferredVersion(group string) (string, error) {
	groups, err := c.client.Discovery().ServerGroups()
	if err != nil {
		return "", fmt.Errorf("discover group %s: %w", group, err)
	}
	for _, g := range groups.Groups {
		if g.Name == group {
			return g.PreferredVersion.Version, nil
		}
	}
	return "", fmt.Errorf("group %s is not served", group)
}
