package tokencleaner

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/auth/bootstraptoken"
	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers.
const Name = "tokencleaner"

// Descriptor returns the controller's registry entry.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(c controller.Context) (controller.RunFunc, error) {
		ctl, err := New(Config{Client: c.Client, Secrets: c.Informers.Core().V1().Secrets(), Logger: c.Logger})
		if err != nil {
			return nil, err
		}
		return ctl.Run, nil
	}}
}

// Config configures a Controller.
type Config struct {
	Client  kubernetes.Interface
	Secrets coreinformers.SecretInformer
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller deletes expired bootstrap token Secrets.
type Controller struct {
	client kubernetes.Interface
	lister corelisters.SecretLister
	now    func() time.Time
	log    *slog.Logger
	runner *controller.Runner
}

// New builds a Controller and registers its event handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	c := &Controller{client: cfg.Client, lister: cfg.Secrets.Lister(), now: cfg.Now, log: cfg.Logger}
	inf := cfg.Secrets.Informer()
	c.runner = controller.NewRunner(controller.RunnerConfig{Name: Name, Sync: c.sync, Synced: []cache.InformerSynced{inf.HasSynced}, Logger: cfg.Logger})
	if _, err := inf.AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: isToken,
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    c.runner.EnqueueObject,
			UpdateFunc: func(_, obj any) { c.runner.EnqueueObject(obj) },
		},
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run cleans until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.runner.Run(ctx, 1) }

// isToken reports whether obj is a bootstrap token Secret.
func isToken(obj any) bool {
	s, ok := obj.(*corev1.Secret)
	return ok && s.Namespace == bootstraptoken.SecretNamespace && s.Type == bootstraptoken.SecretType
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	s, err := c.lister.Secrets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	exp := bootstraptoken.Expires(s)
	if exp.IsZero() || s.DeletionTimestamp != nil {
		return nil
	}
	if left := exp.Sub(c.now()); left > 0 {
		return controller.RequeueAfter(left, fmt.Errorf("token %s expires at %s", name, exp.Format(time.RFC3339)))
	}
	uid := s.UID
	err = c.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete expired bootstrap token %s/%s: %w", ns, name, err)
	}
	c.log.Info("Deleted an expired bootstrap token", "secret", key)
	return nil
}
