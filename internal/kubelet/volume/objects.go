package volume

import (
	"context"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// Objects fetches the API objects that volumes and environment variables
// refer to. A missing ConfigMap or Secret is reported as upstream's
// kubelet reports it (`configmap "x" not found`), an error for which
// apierrors.IsNotFound holds.
type Objects interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	PersistentVolumeClaim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error)
	PersistentVolume(ctx context.Context, name string) (*corev1.PersistentVolume, error)
	// ServiceAccountToken requests a token for the pod's service account.
	ServiceAccountToken(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) (string, error)
}

// DefaultObjectTTL is how long ClientObjects trusts a fetched ConfigMap
// or Secret. Upstream's kubelet propagates changes to mounted files
// within about a minute; a few seconds keeps that promise with one GET
// per object per period, however many pods refer to it.
const DefaultObjectTTL = 5 * time.Second

// ClientObjects is the Objects of a node agent: GETs through the API,
// with ConfigMaps and Secrets (found or not) cached for TTL so that the
// kubelet's frequent pod syncs do not turn into a GET each. Returned
// objects are shared: callers must not modify them.
type ClientObjects struct {
	Client kubernetes.Interface
	// TTL defaults to DefaultObjectTTL; Clock to the real clock.
	TTL   time.Duration
	Clock clock.PassiveClock

	mu    sync.Mutex
	cache map[cacheKey]cacheEntry
}

type cacheKey struct{ kind, namespace, name string }

type cacheEntry struct {
	obj     runtime.Object
	err     error
	fetched time.Time
}

// ConfigMap returns the ConfigMap namespace/name.
func (o *ClientObjects) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	obj, err := o.get(ctx, cacheKey{"configmap", namespace, name}, func() (runtime.Object, error) {
		return o.Client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.ConfigMap), nil
}

// Secret returns the Secret namespace/name.
func (o *ClientObjects) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	obj, err := o.get(ctx, cacheKey{"secret", namespace, name}, func() (runtime.Object, error) {
		return o.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Secret), nil
}

// PersistentVolumeClaim returns the claim namespace/name (not cached: it
// is read once, when the volume is set up).
func (o *ClientObjects) PersistentVolumeClaim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	return o.Client.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
}

// PersistentVolume returns the volume name.
func (o *ClientObjects) PersistentVolume(ctx context.Context, name string) (*corev1.PersistentVolume, error) {
	return o.Client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
}

// ServiceAccountToken requests a token bound to pod through the
// serviceaccounts/token subresource.
func (o *ClientObjects) ServiceAccountToken(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) (string, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &expirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if audience != "" {
		req.Spec.Audiences = []string{audience}
	}
	tr, err := o.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}

func (o *ClientObjects) get(ctx context.Context, key cacheKey, fetch func() (runtime.Object, error)) (runtime.Object, error) {
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = DefaultObjectTTL
	}
	now := clk.Now()
	o.mu.Lock()
	e, ok := o.cache[key]
	o.mu.Unlock()
	if ok && now.Sub(e.fetched) < ttl {
		return e.obj, e.err
	}
	obj, err := fetch()
	if apierrors.IsNotFound(err) {
		// Upstream's kubelet names the resource in the singular here.
		err = apierrors.NewNotFound(corev1.Resource(key.kind), key.name)
	} else if err != nil {
		return nil, err // not cached: the next sync retries
	}
	if ctx.Err() != nil {
		return obj, err
	}
	o.mu.Lock()
	if o.cache == nil {
		o.cache = map[cacheKey]cacheEntry{}
	}
	// Drop expired entries, so that objects no pod refers to any more do
	// not stay cached forever.
	for k, e := range o.cache {
		if now.Sub(e.fetched) >= ttl {
			delete(o.cache, k)
		}
	}
	o.cache[key] = cacheEntry{obj: obj, err: err, fetched: now}
	o.mu.Unlock()
	return obj, err
}
