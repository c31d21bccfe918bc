package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// finalizerToken is the spec finalizer this controller owns.
const finalizerToken = corev1.FinalizerKubernetes

// finalizerEstimateSeconds is how long objects held by finalizers are
// assumed to need (upstream's default).
const finalizerEstimateSeconds int64 = 15

// errContentRemaining is wrapped by the error a deletion pass returns when
// objects are still on their way out.
var errContentRemaining = errors.New("some content remains in the namespace")

// remainingError says objects remain and roughly how long they will take.
type remainingError struct {
	// estimate is in seconds.
	estimate int64
}

func (e *remainingError) Error() string {
	return fmt.Sprintf("%v, estimate %d seconds before it is removed", errContentRemaining, e.estimate)
}

func (e *remainingError) Unwrap() error { return errContentRemaining }

// operation is a collection verb some resources lack.
type operation string

const (
	opList             operation = "list"
	opDeleteCollection operation = "deletecollection"
)

type opKey struct {
	op  operation
	gvr schema.GroupVersionResource
}

// deleter empties one namespace per call to delete. It is safe for
// concurrent use by several workers.
type deleter struct {
	namespaces corev1client.NamespaceInterface
	pods       corev1client.PodsGetter
	dynamic    dynamic.Interface
	discover   func(ctx context.Context) ([]*metav1.APIResourceList, error)
	now        func() time.Time
	log        *slog.Logger

	mu sync.Mutex
	// unsupported remembers operations the server refused with 404 or
	// 405 although discovery listed the resource.
	unsupported map[opKey]bool
}

// delete moves namespace name one step toward removal. It returns nil when
// the namespace is gone, not being deleted, or finalized; a
// *remainingError when objects remain that need time; another error to be
// retried with backoff.
func (d *deleter) delete(ctx context.Context, name string) error {
	ns, err := d.namespaces.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	if ns.DeletionTimestamp == nil {
		return nil
	}
	ns, err = d.retryOnConflict(ctx, ns, d.markTerminating)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark namespace %s terminating: %w", name, err)
	}
	if ns.DeletionTimestamp.IsZero() || !hasFinalizer(ns) {
		return nil
	}
	estimate, err := d.deleteAllContent(ctx, ns)
	if err != nil {
		return err
	}
	if estimate > 0 {
		return &remainingError{estimate: estimate}
	}
	if _, err := d.retryOnConflict(ctx, ns, d.finalize); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	return nil
}

func hasFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == finalizerToken {
			return true
		}
	}
	return false
}

// retryOnConflict calls fn with the latest namespace until it does not
// fail with a conflict; a namespace recreated meanwhile (new UID) is an
// error.
func (d *deleter) retryOnConflict(ctx context.Context, ns *corev1.Namespace, fn func(context.Context, *corev1.Namespace) (*corev1.Namespace, error)) (*corev1.Namespace, error) {
	for {
		out, err := fn(ctx, ns)
		if !apierrors.IsConflict(err) {
			return out, err
		}
		prev := ns
		if ns, err = d.namespaces.Get(ctx, prev.Name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
		if ns.UID != prev.UID {
			return nil, fmt.Errorf("namespace %s: uid has changed across retries", prev.Name)
		}
	}
}

// markTerminating sets status.phase Terminating if the API server has not.
func (d *deleter) markTerminating(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, error) {
	if ns.DeletionTimestamp.IsZero() || ns.Status.Phase == corev1.NamespaceTerminating {
		return ns, nil
	}
	upd := &corev1.Namespace{ObjectMeta: ns.ObjectMeta, Spec: ns.Spec, Status: ns.Status}
	upd.Status.Phase = corev1.NamespaceTerminating
	return d.namespaces.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
}

// finalize removes this controller's token from spec.finalizers through
// the finalize subresource.
func (d *deleter) finalize(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, error) {
	upd := &corev1.Namespace{ObjectMeta: ns.ObjectMeta, Spec: ns.Spec}
	upd.Spec.Finalizers = nil
	for _, f := range ns.Spec.Finalizers {
		if f != finalizerToken {
			upd.Spec.Finalizers = append(upd.Spec.Finalizers, f)
		}
	}
	if upd.Spec.Finalizers == nil {
		upd.Spec.Finalizers = []corev1.FinalizerName{}
	}
	out, err := d.namespaces.Finalize(ctx, upd, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return out, nil
	}
	return out, err
}

// deleteAllContent deletes every deletable namespaced resource in ns,
// records the outcome in ns's conditions, and returns an estimate in
// seconds of how long the remaining content needs (0: nothing left).
// Discovery failures are not fatal: what was discovered is still deleted.
func (d *deleter) deleteAllContent(ctx context.Context, ns *corev1.Namespace) (int64, error) {
	var errs []error
	conds := &conditions{now: metav1.NewTime(d.now())}
	lists, err := d.discover(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("discover resources: %w", err))
		conds.discoveryFailed(err)
	}
	resources, gvErrs := deletableResources(lists)
	if gvErrs != nil {
		errs = append(errs, gvErrs)
		conds.groupVersionFailed(gvErrs)
	}
	left := remaining{byResource: map[schema.GroupVersionResource]int{}, byFinalizer: map[string]int{}}
	var estimate int64
	for _, r := range resources {
		res, err := d.deleteResource(ctx, r, ns.Name, ns.DeletionTimestamp.Time)
		if err != nil {
			errs = append(errs, err)
			conds.deleteFailed(err)
		}
		estimate = max(estimate, res.estimate)
		if res.remaining > 0 {
			left.byResource[r.gvr] = res.remaining
			for f, n := range res.byFinalizer {
				left.byFinalizer[f] += n
			}
		}
	}
	conds.content(left)
	// Always written when changed: a condition that failed earlier must
	// say so once it clears.
	if conds.apply(&ns.Status) {
		if _, err := d.namespaces.UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			d.log.Info("Cannot update namespace conditions", "namespace", ns.Name, "err", err)
		}
	}
	return estimate, errors.Join(errs...)
}

// resource is a deletable namespaced resource and its collection verbs.
type resource struct {
	gvr                          schema.GroupVersionResource
	canList, canDeleteCollection bool
}

// deletableResources picks the namespaced resources whose verbs include
// delete, subresources aside; it returns the group versions it could not
// parse as one error.
func deletableResources(lists []*metav1.APIResourceList) ([]resource, error) {
	var out []resource
	var errs []error
	seen := map[schema.GroupVersionResource]bool{}
	for _, l := range lists {
		if l == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range l.APIResources {
			if !r.Namespaced || strings.Contains(r.Name, "/") || !hasVerb(r.Verbs, "delete") {
				continue
			}
			gvr := gv.WithResource(r.Name)
			if seen[gvr] {
				continue
			}
			seen[gvr] = true
			out = append(out, resource{gvr: gvr, canList: hasVerb(r.Verbs, "list"),
				canDeleteCollection: hasVerb(r.Verbs, "deletecollection")})
		}
	}
	return out, errors.Join(errs...)
}

func hasVerb(verbs metav1.Verbs, v string) bool {
	for _, x := range verbs {
		if x == v {
			return true
		}
	}
	return false
}

// resourceResult is what one resource leaves behind.
type resourceResult struct {
	estimate    int64
	remaining   int
	byFinalizer map[string]int
}

// deleteResource deletes every object of r in namespace and reports what
// is left. Objects still present without a finalizer or a grace period to
// explain them are an error.
func (d *deleter) deleteResource(ctx context.Context, r resource, namespace string, deletedAt time.Time) (resourceResult, error) {
	estimate, err := d.estimate(ctx, r.gvr, namespace, deletedAt)
	if err != nil {
		return resourceResult{}, err
	}
	done, err := d.deleteCollection(ctx, r, namespace)
	if err != nil {
		return resourceResult{estimate: estimate}, err
	}
	if !done {
		if err := d.deleteEach(ctx, r, namespace); err != nil {
			return resourceResult{estimate: estimate}, err
		}
	}
	list, ok, err := d.list(ctx, r, namespace)
	if err != nil || !ok {
		return resourceResult{estimate: estimate}, err
	}
	res := resourceResult{estimate: estimate, remaining: len(list.Items), byFinalizer: map[string]int{}}
	for _, item := range list.Items {
		for _, f := range item.GetFinalizers() {
			res.byFinalizer[f]++
		}
	}
	switch {
	case estimate > 0 || len(list.Items) == 0:
		return res, nil
	case len(res.byFinalizer) > 0:
		res.estimate = finalizerEstimateSeconds
		return res, nil
	default:
		return res, fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", namespace, r.gvr)
	}
}

// estimate returns how long pods in namespace may take to terminate
// gracefully, in seconds, counted from the namespace's deletion; other
// resources go at once.
func (d *deleter) estimate(ctx context.Context, gvr schema.GroupVersionResource, namespace string, deletedAt time.Time) (int64, error) {
	if gvr.GroupResource() != (schema.GroupResource{Resource: "pods"}) {
		return 0, nil
	}
	pods, err := d.pods.Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	var est int64
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g > est {
			est = *g
		}
	}
	if d.now().Sub(deletedAt) >= time.Duration(est)*time.Second {
		return 0, nil
	}
	return est, nil
}

func (d *deleter) supported(op operation, r resource) bool {
	if op == opList && !r.canList || op == opDeleteCollection && !r.canDeleteCollection {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.unsupported[opKey{op, r.gvr}]
}

func (d *deleter) setUnsupported(op operation, r resource) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unsupported[opKey{op, r.gvr}] = true
}

// backgroundDeletion lets the garbage collector remove dependents after
// their owners, without the orphan finalizer.
func backgroundDeletion() metav1.DeleteOptions {
	p := metav1.DeletePropagationBackground
	return metav1.DeleteOptions{PropagationPolicy: &p}
}

// deleteCollection reports whether the server deleted the collection in
// one call; false without error means list + delete is needed.
func (d *deleter) deleteCollection(ctx context.Context, r resource, namespace string) (bool, error) {
	if !d.supported(opDeleteCollection, r) {
		return false, nil
	}
	err := d.dynamic.Resource(r.gvr).Namespace(namespace).DeleteCollection(ctx, backgroundDeletion(), metav1.ListOptions{})
	if err == nil {
		return true, nil
	}
	if apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err) {
		d.setUnsupported(opDeleteCollection, r)
		return false, nil
	}
	return true, err // API errors name the resource; upstream shows them as is
}

// list returns the objects of r in namespace; ok is false when the
// resource cannot be listed.
func (d *deleter) list(ctx context.Context, r resource, namespace string) (_ *unstructured.UnstructuredList, ok bool, _ error) {
	if !d.supported(opList, r) {
		return nil, false, nil
	}
	l, err := d.dynamic.Resource(r.gvr).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err == nil {
		return l, true, nil
	}
	if apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err) {
		d.setUnsupported(opList, r)
		return nil, false, nil
	}
	return nil, true, err
}

// deleteEach lists r in namespace and deletes the objects one by one.
func (d *deleter) deleteEach(ctx context.Context, r resource, namespace string) error {
	list, ok, err := d.list(ctx, r, namespace)
	if err != nil || !ok {
		return err
	}
	c := d.dynamic.Resource(r.gvr).Namespace(namespace)
	for _, item := range list.Items {
		err := c.Delete(ctx, item.GetName(), backgroundDeletion())
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
			return err
		}
	}
	return nil
}
