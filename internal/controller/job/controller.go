package job

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name for --disable-controllers (upstream's).
const Name = "job"

// Upstream's defaults for the pod re-creation back-off.
const (
	DefaultBackoffBase = 10 * time.Second
	DefaultBackoffMax  = 6 * time.Minute
)

// trackingFinalizer keeps a finished pod until the controller has counted
// it.
const trackingFinalizer = batchv1.JobTrackingFinalizer

// Config configures a Controller.
type Config struct {
	Client kubernetes.Interface
	Jobs   batchinformers.JobInformer
	Pods   coreinformers.PodInformer
	// Recorder records events on Jobs; nil discards them.
	Recorder record.EventRecorder
	// Clock measures deadlines and back-offs; nil means the real clock.
	Clock clock.PassiveClock
	// BackoffBase is the delay before the first re-creation after a
	// failure, doubled for each further failure up to BackoffMax. Zero
	// means DefaultBackoffBase; a zero BackoffMax keeps upstream's ratio
	// (36 times the base, 6m for 10s).
	BackoffBase, BackoffMax time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller is the Job controller.
type Controller struct {
	client   kubernetes.Interface
	jobs     batchlisters.JobLister
	pods     corelisters.PodLister
	recorder record.EventRecorder
	clock    clock.PassiveClock
	log      *slog.Logger
	runner   *controller.Runner

	backoffBase, backoffMax time.Duration

	// podControl creates and deletes pods; tests replace it.
	podControl podControl
	// enqueueAfter schedules a key again; tests replace it.
	enqueueAfter func(key string, d time.Duration)

	expectations *controller.Expectations
	backoffs     *backoffStore

	mu sync.Mutex
	// released holds, per job key, the UIDs of pods whose finalizer this
	// controller removed but whose update the informer has not shown yet,
	// so that they are not counted twice.
	released map[string]map[types.UID]bool
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Jobs == nil || cfg.Pods == nil {
		return nil, fmt.Errorf("job controller: Client, Jobs and Pods are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = cfg.BackoffBase * (DefaultBackoffMax / DefaultBackoffBase)
	}
	c := &Controller{
		client:       cfg.Client,
		jobs:         cfg.Jobs.Lister(),
		pods:         cfg.Pods.Lister(),
		recorder:     cfg.Recorder,
		clock:        cfg.Clock,
		log:          cfg.Logger,
		backoffBase:  cfg.BackoffBase,
		backoffMax:   cfg.BackoffMax,
		podControl:   clientPodControl{client: cfg.Client, recorder: cfg.Recorder},
		expectations: controller.NewExpectations(cfg.Clock),
		backoffs:     newBackoffStore(),
		released:     map[string]map[types.UID]bool{},
	}
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.Jobs.Informer().HasSynced, cfg.Pods.Informer().HasSynced},
	})
	c.enqueueAfter = c.runner.EnqueueAfter
	if _, err := cfg.Jobs.Informer().AddEventHandler(c.runner.ObjectHandler()); err != nil {
		return nil, fmt.Errorf("job informer: %w", err)
	}
	if _, err := cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	return c, nil
}

// Run syncs Jobs with workers workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.runner.Run(ctx, workers) }

// jobKeyOf returns the key of the Job controlling pod, or "".
func jobKeyOf(pod *corev1.Pod) string {
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "Job" {
		return ""
	}
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != batchv1.GroupName {
		return ""
	}
	return pod.Namespace + "/" + ref.Name
}

func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := jobKeyOf(pod)
	if key == "" {
		return
	}
	c.expectations.CreationObserved(key)
	if pod.DeletionTimestamp != nil {
		c.expectations.DeletionObserved(key, podKey(pod))
	}
	c.runner.Enqueue(key)
}

func (c *Controller) updatePod(old, cur any) {
	oldPod, ok1 := old.(*corev1.Pod)
	pod, ok2 := cur.(*corev1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == pod.ResourceVersion {
		return
	}
	if oldKey := jobKeyOf(oldPod); oldKey != "" && oldKey != jobKeyOf(pod) {
		c.runner.Enqueue(oldKey)
	}
	key := jobKeyOf(pod)
	if key == "" {
		return
	}
	if pod.DeletionTimestamp != nil {
		c.expectations.DeletionObserved(key, podKey(pod))
	}
	if !hasFinalizer(pod) {
		c.forgetReleased(key, pod.UID)
	}
	c.runner.Enqueue(key)
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, isTomb := obj.(cache.DeletedFinalStateUnknown)
		if !isTomb {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	key := jobKeyOf(pod)
	if key == "" {
		return
	}
	c.expectations.DeletionObserved(key, podKey(pod))
	c.forgetReleased(key, pod.UID)
	c.runner.Enqueue(key)
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func (c *Controller) markReleased(key string, uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.released[key]
	if m == nil {
		m = map[types.UID]bool{}
		c.released[key] = m
	}
	m[uid] = true
}

func (c *Controller) forgetReleased(key string, uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.released[key]; m != nil {
		delete(m, uid)
		if len(m) == 0 {
			delete(c.released, key)
		}
	}
}

func (c *Controller) isReleased(key string, uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.released[key][uid]
}
