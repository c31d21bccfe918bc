package cronjob

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name for --disable-controllers (upstream's).
const Name = "cronjob"

// Config configures a Controller.
type Config struct {
	Client   kubernetes.Interface
	CronJobs batchinformers.CronJobInformer
	Jobs     batchinformers.JobInformer
	// Recorder records events on CronJobs; nil discards them.
	Recorder record.EventRecorder
	// Clock tells the time and runs the wake-up timers; nil means the
	// real clock.
	Clock clock.WithDelayedExecution
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller is the CronJob controller.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobs     batchlisters.JobLister
	recorder record.EventRecorder
	clock    clock.WithDelayedExecution
	log      *slog.Logger
	runner   *controller.Runner

	mu     sync.Mutex
	timers map[string]clock.Timer
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.CronJobs == nil || cfg.Jobs == nil {
		return nil, fmt.Errorf("cronjob controller: Client, CronJobs and Jobs are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
	c := &Controller{
		client: cfg.Client, cronJobs: cfg.CronJobs.Lister(), jobs: cfg.Jobs.Lister(),
		recorder: cfg.Recorder, clock: cfg.Clock, log: cfg.Logger, timers: map[string]clock.Timer{},
	}
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{cfg.CronJobs.Informer().HasSynced, cfg.Jobs.Informer().HasSynced},
	})
	if _, err := cfg.CronJobs.Informer().AddEventHandler(c.runner.ObjectHandler()); err != nil {
		return nil, fmt.Errorf("cronjob informer: %w", err)
	}
	if _, err := cfg.Jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueOwner,
		UpdateFunc: func(old, cur any) {
			c.enqueueOwner(old)
			c.enqueueOwner(cur)
		},
		DeleteFunc: c.enqueueOwner,
	}); err != nil {
		return nil, fmt.Errorf("job informer: %w", err)
	}
	return c, nil
}

// Run syncs CronJobs with workers workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.stopTimers()
	c.runner.Run(ctx, workers)
}

// enqueueOwner enqueues the CronJob controlling a Job.
func (c *Controller) enqueueOwner(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	if name := ownerName(job); name != "" {
		c.runner.Enqueue(job.Namespace + "/" + name)
	}
}

// ownerName returns the name of the CronJob controlling job, or "".
func ownerName(job *batchv1.Job) string {
	ref := metav1.GetControllerOf(job)
	if ref == nil || ref.Kind != "CronJob" {
		return ""
	}
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != batchv1.GroupName {
		return ""
	}
	return ref.Name
}

// wakeAfter syncs key again once d has passed on the controller's clock;
// a later call replaces an earlier one.
func (c *Controller) wakeAfter(key string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.timers[key]; ok {
		t.Stop()
	}
	c.timers[key] = c.clock.AfterFunc(d, func() { c.runner.Enqueue(key) })
}

func (c *Controller) cancelWake(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.timers[key]; ok {
		t.Stop()
		delete(c.timers, key)
	}
}

func (c *Controller) stopTimers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, t := range c.timers {
		t.Stop()
		delete(c.timers, k)
	}
}
