package persistentvolume

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name for --disable-controllers (upstream's).
const Name = "persistentvolume-binder"

// Component is the source of the controller's events (upstream's).
const Component = "persistentvolume-controller"

// SyncPeriod is how often every claim and volume is synced again even
// without a change (upstream's --pvclaimbinder-sync-period default).
const SyncPeriod = 15 * time.Second

// workers per queue.
const workers = 2

// Config configures a Controller.
type Config struct {
	Client  kubernetes.Interface
	Volumes coreinformers.PersistentVolumeInformer
	Claims  coreinformers.PersistentVolumeClaimInformer
	Classes storageinformers.StorageClassInformer
	// Nodes resolve a claim's selected node for node affinity; Pods name
	// the unscheduled pods a delayed claim waits for.
	Nodes coreinformers.NodeInformer
	Pods  coreinformers.PodInformer
	// Recorder records events on claims and volumes. Required.
	Recorder record.EventRecorder
	// Clock stamps lastPhaseTransitionTime; nil means the real clock.
	Clock clock.PassiveClock
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller binds claims to volumes; see the package documentation.
type Controller struct {
	client   kubernetes.Interface
	volumes  corelisters.PersistentVolumeLister
	claims   corelisters.PersistentVolumeClaimLister
	classes  storagelisters.StorageClassLister
	nodes    corelisters.NodeLister
	pods     corelisters.PodLister
	recorder record.EventRecorder
	clock    clock.PassiveClock
	log      *slog.Logger

	claimRunner  *controller.Runner
	volumeRunner *controller.Runner
	// syncClaimHandler and syncVolumeHandler are test seams.
	syncClaimHandler  controller.SyncFunc
	syncVolumeHandler controller.SyncFunc
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Volumes == nil || cfg.Claims == nil || cfg.Classes == nil || cfg.Nodes == nil || cfg.Pods == nil || cfg.Recorder == nil {
		return nil, errors.New("persistentvolume-binder: Client, informers and Recorder are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	c := &Controller{
		client: cfg.Client, volumes: cfg.Volumes.Lister(), claims: cfg.Claims.Lister(), classes: cfg.Classes.Lister(),
		nodes: cfg.Nodes.Lister(), pods: cfg.Pods.Lister(), recorder: cfg.Recorder, clock: cfg.Clock, log: cfg.Logger,
	}
	c.syncClaimHandler, c.syncVolumeHandler = c.syncClaim, c.syncVolume
	synced := []cache.InformerSynced{
		cfg.Volumes.Informer().HasSynced, cfg.Claims.Informer().HasSynced, cfg.Classes.Informer().HasSynced,
		cfg.Nodes.Informer().HasSynced, cfg.Pods.Informer().HasSynced,
	}
	c.claimRunner = controller.NewRunner(controller.RunnerConfig{
		Name: Name + "-claims", Synced: synced, Logger: cfg.Logger,
		Sync: func(ctx context.Context, key string) error { return c.syncClaimHandler(ctx, key) },
	})
	c.volumeRunner = controller.NewRunner(controller.RunnerConfig{
		Name: Name + "-volumes", Synced: synced, Logger: cfg.Logger,
		Sync: func(ctx context.Context, key string) error { return c.syncVolumeHandler(ctx, key) },
	})
	if _, err := cfg.Volumes.Informer().AddEventHandlerWithResyncPeriod(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addVolume,
		UpdateFunc: func(_, cur any) { c.addVolume(cur) },
		DeleteFunc: c.deleteVolume,
	}, SyncPeriod); err != nil {
		return nil, err
	}
	if _, err := cfg.Claims.Informer().AddEventHandlerWithResyncPeriod(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.claimRunner.EnqueueObject,
		UpdateFunc: func(_, cur any) { c.claimRunner.EnqueueObject(cur) },
		DeleteFunc: c.deleteClaim,
	}, SyncPeriod); err != nil {
		return nil, err
	}
	if _, err := cfg.Classes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addClass,
		UpdateFunc: func(_, cur any) { c.addClass(cur) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Descriptor describes the controller for the Manager.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		f := cc.Informers
		c, err := New(Config{
			Client: cc.Client, Volumes: f.Core().V1().PersistentVolumes(), Claims: f.Core().V1().PersistentVolumeClaims(),
			Classes: f.Storage().V1().StorageClasses(), Nodes: f.Core().V1().Nodes(), Pods: f.Core().V1().Pods(),
			Recorder: cc.Recorder(Component), Logger: cc.Logger,
		})
		if err != nil {
			return nil, err
		}
		return c.Run, nil
	}}
}

// Run syncs claims and volumes until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { c.claimRunner.Run(ctx, workers) })
	wg.Go(func() { c.volumeRunner.Run(ctx, workers) })
	wg.Wait()
}

// addVolume enqueues the volume; a free Available volume also enqueues
// the unbound claims, which may now match it (upstream waits for the
// periodic sync).
func (c *Controller) addVolume(obj any) {
	c.volumeRunner.EnqueueObject(obj)
	v, ok := obj.(*corev1.PersistentVolume)
	if ok && v.Spec.ClaimRef == nil && v.Status.Phase == corev1.VolumeAvailable {
		c.enqueueUnboundClaims(func(cl *corev1.PersistentVolumeClaim) bool { return claimClass(cl) == volumeClass(v) })
	}
}

// deleteVolume enqueues the claim the volume was bound to, which is now
// Lost.
func (c *Controller) deleteVolume(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if v, ok := obj.(*corev1.PersistentVolume); ok && v.Spec.ClaimRef != nil {
		c.claimRunner.Enqueue(v.Spec.ClaimRef.Namespace + "/" + v.Spec.ClaimRef.Name)
	}
}

// deleteClaim enqueues the volumes bound to the deleted claim, which are
// now Released.
func (c *Controller) deleteClaim(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	cl, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return
	}
	if cl.Spec.VolumeName != "" {
		c.volumeRunner.Enqueue(cl.Spec.VolumeName)
	}
	vols, err := c.volumes.List(labels.Everything())
	if err != nil {
		return // listing a cache does not fail; the periodic sync catches up regardless
	}
	for _, v := range vols {
		if r := v.Spec.ClaimRef; r != nil && r.Namespace == cl.Namespace && r.Name == cl.Name {
			c.volumeRunner.Enqueue(v.Name)
		}
	}
}

// addClass enqueues the unbound claims of the class.
func (c *Controller) addClass(obj any) {
	sc, ok := obj.(*storagev1.StorageClass)
	if !ok {
		return
	}
	c.enqueueUnboundClaims(func(cl *corev1.PersistentVolumeClaim) bool { return claimClass(cl) == sc.Name })
}

func (c *Controller) enqueueUnboundClaims(match func(*corev1.PersistentVolumeClaim) bool) {
	claims, err := c.claims.List(labels.Everything())
	if err != nil {
		return // listing a cache does not fail; the periodic sync catches up regardless
	}
	for _, cl := range claims {
		if _, done := cl.Annotations[AnnBindCompleted]; !done && cl.Spec.VolumeName == "" && match(cl) {
			c.claimRunner.EnqueueObject(cl)
		}
	}
}
