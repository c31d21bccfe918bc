package ttlafterfinished

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name for --disable-controllers (upstream's).
const Name = "ttl-after-finished"

// workers is upstream's --concurrent-ttl-after-finished-syncs default.
const workers = 5

// Config configures a Controller.
type Config struct {
	Client kubernetes.Interface
	Jobs   batchinformers.JobInformer
	// Clock; nil means the real clock.
	Clock clock.WithDelayedExecution
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller deletes finished Jobs whose TTL has run out.
type Controller struct {
	client kubernetes.Interface
	jobs   batchlisters.JobLister
	clock  clock.WithDelayedExecution
	log    *slog.Logger
	runner *controller.Runner

	mu     sync.Mutex
	timers map[string]clock.Timer
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Jobs == nil {
		return nil, fmt.Errorf("ttl-after-finished controller: Client and Jobs are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	c := &Controller{client: cfg.Client, jobs: cfg.Jobs.Lister(), clock: cfg.Clock, log: cfg.Logger, timers: map[string]clock.Timer{}}
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Logger: cfg.Logger, Synced: []cache.InformerSynced{cfg.Jobs.Informer().HasSynced},
	})
	enqueue := func(obj any) {
		if j, ok := obj.(*batchv1.Job); ok && needsCleanup(j) {
			c.runner.EnqueueObject(j)
		}
	}
	if _, err := cfg.Jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, cur any) { enqueue(cur) },
	}); err != nil {
		return nil, fmt.Errorf("job informer: %w", err)
	}
	return c, nil
}

// Descriptor describes the controller for the Manager; clk nil means the
// real clock.
func Descriptor(clk clock.WithDelayedExecution) controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		c, err := New(Config{Client: cc.Client, Jobs: cc.Informers.Batch().V1().Jobs(), Clock: clk, Logger: cc.Logger})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { c.Run(ctx, workers) }, nil
	}}
}

// Run syncs Jobs with workers workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, t := range c.timers {
			t.Stop()
		}
	}()
	c.runner.Run(ctx, workers)
}

// needsCleanup reports whether j has a TTL, is finished and is not being
// deleted.
func needsCleanup(j *batchv1.Job) bool {
	return j.Spec.TTLSecondsAfterFinished != nil && j.DeletionTimestamp == nil && !finishTime(j).IsZero()
}

// finishTime is when j turned Complete or Failed, or zero.
func finishTime(j *batchv1.Job) time.Time {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			if j.Status.CompletionTime != nil && c.Type == batchv1.JobComplete {
				return j.Status.CompletionTime.Time
			}
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// remaining returns how long j still has to live (<= 0: expired).
func remaining(j *batchv1.Job, now time.Time) time.Duration {
	return finishTime(j).Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second).Sub(now)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("job key %q: %w", key, err)
	}
	j, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if !needsCleanup(j) {
		return nil
	}
	if left := remaining(j, c.clock.Now()); left > 0 {
		c.wakeAfter(key, left)
		return nil
	}
	// The cache may be stale: check the TTL on the live object.
	fresh, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if !needsCleanup(fresh) {
		return nil
	}
	if left := remaining(fresh, c.clock.Now()); left > 0 {
		c.wakeAfter(key, left)
		return nil
	}
	bg := metav1.DeletePropagationBackground
	err = c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &fresh.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete expired job %s: %w", key, err)
	}
	c.log.Info("Deleted expired job", "job", key)
	return nil
}

func (c *Controller) wakeAfter(key string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.timers[key]; ok {
		t.Stop()
	}
	c.timers[key] = c.clock.AfterFunc(d, func() {
		c.mu.Lock()
		delete(c.timers, key)
		c.mu.Unlock()
		c.runner.Enqueue(key)
	})
}
