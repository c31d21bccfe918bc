package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

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
const Name = "serviceaccount"

// DefaultName is the ServiceAccount every namespace gets.
const DefaultName = "default"

// Config configures a Controller.
type Config struct {
	Client          kubernetes.Interface
	Namespaces      coreinformers.NamespaceInformer
	ServiceAccounts coreinformers.ServiceAccountInformer
	// Names are the ServiceAccounts to keep in every active namespace
	// (default: just DefaultName).
	Names []string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller keeps the configured ServiceAccounts in every namespace.
type Controller struct {
	client   kubernetes.Interface
	names    []string
	nsLister corelisters.NamespaceLister
	saLister corelisters.ServiceAccountLister
	runner   *controller.Runner
}

// New builds a Controller and registers its event handlers.
func New(cfg Config) (*Controller, error) {
	if len(cfg.Names) == 0 {
		cfg.Names = []string{DefaultName}
	}
	c := &Controller{
		client:   cfg.Client,
		names:    cfg.Names,
		nsLister: cfg.Namespaces.Lister(),
		saLister: cfg.ServiceAccounts.Lister(),
	}
	nsInf, saInf := cfg.Namespaces.Informer(), cfg.ServiceAccounts.Informer()
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Synced: []cache.InformerSynced{nsInf.HasSynced, saInf.HasSynced}, Logger: cfg.Logger,
	})
	if _, err := nsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addNamespace,
		UpdateFunc: c.updateNamespace,
	}); err != nil {
		return nil, err
	}
	if _, err := saInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: c.deleteServiceAccount,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run keeps ServiceAccounts in place until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.runner.Run(ctx, 1) }

func (c *Controller) addNamespace(obj any) { c.runner.EnqueueObject(obj) }

func (c *Controller) updateNamespace(_, obj any) { c.runner.EnqueueObject(obj) }

// deleteServiceAccount queues the namespace of a deleted ServiceAccount
// we manage, so that it is created again.
func (c *Controller) deleteServiceAccount(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return
	}
	for _, n := range c.names {
		if sa.Name == n {
			c.runner.Enqueue(sa.Namespace)
			return
		}
	}
}

// sync creates the missing ServiceAccounts of namespace key.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, err := c.nsLister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.Status.Phase != corev1.NamespaceActive {
		return nil
	}
	var errs []error
	for _, name := range c.names {
		_, err := c.saLister.ServiceAccounts(ns.Name).Get(name)
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns.Name}}
		_, err = c.client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{})
		switch {
		case err == nil, apierrors.IsAlreadyExists(err):
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			// The namespace started terminating after the lister saw it.
		default:
			errs = append(errs, fmt.Errorf("create serviceaccount %s/%s: %w", ns.Name, name, err))
		}
	}
	return errors.Join(errs...)
}
