package rootcacert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers.
const Name = "root-ca-cert-publisher"

// Upstream's names and wording.
const (
	// ConfigMapName is the ConfigMap published in every namespace.
	ConfigMapName = "kube-root-ca.crt"
	// DataKey holds the PEM bundle.
	DataKey = "ca.crt"
	// DescriptionAnnotation explains the ConfigMap to users.
	DescriptionAnnotation = "kubernetes.io/description"
	// Description is the DescriptionAnnotation's value.
	Description = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// ErrNoCA is returned by New without a CA bundle.
var ErrNoCA = errors.New("root CA bundle is empty")

// Config configures a Controller.
type Config struct {
	Client     kubernetes.Interface
	Namespaces coreinformers.NamespaceInformer
	ConfigMaps coreinformers.ConfigMapInformer
	// RootCA is the PEM bundle of the CA that signed the API server's
	// serving certificate.
	RootCA []byte
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller publishes the root CA ConfigMap in every namespace.
type Controller struct {
	client   kubernetes.Interface
	data     map[string]string
	nsLister corelisters.NamespaceLister
	cmLister corelisters.ConfigMapLister
	runner   *controller.Runner
}

// New builds a Controller and registers its event handlers.
func New(cfg Config) (*Controller, error) {
	if len(cfg.RootCA) == 0 {
		return nil, ErrNoCA
	}
	c := &Controller{
		client:   cfg.Client,
		data:     map[string]string{DataKey: string(cfg.RootCA)},
		nsLister: cfg.Namespaces.Lister(),
		cmLister: cfg.ConfigMaps.Lister(),
	}
	nsInf, cmInf := cfg.Namespaces.Informer(), cfg.ConfigMaps.Informer()
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Synced: []cache.InformerSynced{nsInf.HasSynced, cmInf.HasSynced}, Logger: cfg.Logger,
	})
	if _, err := nsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addNamespace,
		UpdateFunc: c.updateNamespace,
	}); err != nil {
		return nil, err
	}
	if _, err := cmInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: c.updateConfigMap,
		DeleteFunc: c.deleteConfigMap,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run publishes until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.runner.Run(ctx, 1) }

func (c *Controller) addNamespace(obj any) { c.runner.EnqueueObject(obj) }

func (c *Controller) updateNamespace(_, obj any) { c.runner.EnqueueObject(obj) }

func (c *Controller) updateConfigMap(_, obj any) { c.enqueueConfigMap(obj) }

func (c *Controller) deleteConfigMap(obj any) { c.enqueueConfigMap(obj) }

// enqueueConfigMap queues the namespace of our ConfigMap, whatever
// happened to it.
func (c *Controller) enqueueConfigMap(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == ConfigMapName {
		c.runner.Enqueue(cm.Namespace)
	}
}

// sync creates or repairs the ConfigMap in namespace key.
func (c *Controller) sync(ctx context.Context, key string) error {
	// A namespace that is gone or terminating refuses new content; the
	// API server would say so, this saves the round trip.
	ns, err := c.nsLister.Get(key)
	if apierrors.IsNotFound(err) || err == nil && ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	if err != nil {
		return err
	}
	cm, err := c.cmLister.ConfigMaps(key).Get(ConfigMapName)
	if apierrors.IsNotFound(err) {
		_, err := c.client.CoreV1().ConfigMaps(key).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Annotations: map[string]string{DescriptionAnnotation: Description}},
			Data:       maps.Clone(c.data),
		}, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) ||
			apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		return fmt.Errorf("create configmap %s/%s: %w", key, ConfigMapName, err)
	}
	if err != nil {
		return err
	}
	if maps.Equal(cm.Data, c.data) && cm.Annotations[DescriptionAnnotation] != "" {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = maps.Clone(c.data)
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[DescriptionAnnotation] = Description
	if _, err := c.client.CoreV1().ConfigMaps(key).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update configmap %s/%s: %w", key, ConfigMapName, err)
	}
	return nil
}
