package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// SyncFunc moves the object named by key (namespace/name, or name for
// cluster-scoped objects) one step toward its desired state. It must be
// idempotent: the Runner calls it again after an error, and whenever the
// key is enqueued again.
type SyncFunc func(ctx context.Context, key string) error

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Name names the controller in logs and queue metrics.
	Name string
	// Sync handles one key. Required.
	Sync SyncFunc
	// Synced are the informers whose caches must be filled before the
	// first sync.
	Synced []cache.InformerSynced
	// RateLimiter spaces retries of failed keys; nil means client-go's
	// default controller limiter (5ms doubling to 1000s, 10 qps overall).
	RateLimiter workqueue.TypedRateLimiter[string]
	// Logger, already naming the controller; nil discards.
	Logger *slog.Logger
}

// Runner is the canonical controller loop: event handlers enqueue keys,
// workers take them one at a time (a key is never synced by two workers
// at once) and call Sync; success forgets the key's failure history, an
// error retries it with backoff, and a *RequeueError retries it after a
// fixed delay.
type Runner struct {
	name   string
	queue  workqueue.TypedRateLimitingInterface[string]
	sync   SyncFunc
	synced []cache.InformerSynced
	log    *slog.Logger
}

// NewRunner returns a Runner; it panics if cfg.Sync is nil (a programmer
// error).
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Sync == nil {
		panic("controller: RunnerConfig.Sync is nil")
	}
	rl := cfg.RateLimiter
	if rl == nil {
		rl = workqueue.DefaultTypedControllerRateLimiter[string]()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{
		name:   cfg.Name,
		queue:  workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[string]{Name: cfg.Name}),
		sync:   cfg.Sync,
		synced: cfg.Synced,
		log:    log,
	}
}

// Enqueue adds key to the queue.
func (r *Runner) Enqueue(key string) { r.queue.Add(key) }

// EnqueueAfter adds key to the queue once d has passed.
func (r *Runner) EnqueueAfter(key string, d time.Duration) { r.queue.AddAfter(key, d) }

// EnqueueObject enqueues the key of obj, an API object or a
// cache.DeletedFinalStateUnknown tombstone.
func (r *Runner) EnqueueObject(obj any) {
	key, err := KeyOf(obj)
	if err != nil {
		r.log.Error("Cannot enqueue object", "err", err)
		return
	}
	r.queue.Add(key)
}

// ObjectHandler returns informer handlers that enqueue the key of every
// object added, updated or deleted: for a controller's own kind, whose
// every change may need a sync.
func (r *Runner) ObjectHandler() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    r.EnqueueObject,
		UpdateFunc: func(_, cur any) { r.EnqueueObject(cur) },
		DeleteFunc: r.EnqueueObject,
	}
}

// Len reports how many keys wait in the queue (for tests and metrics).
func (r *Runner) Len() int { return r.queue.Len() }

// KeyOf returns the namespace/name key of obj, unwrapping tombstones.
func KeyOf(obj any) (string, error) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return "", fmt.Errorf("key of %T: %w", obj, err)
	}
	return key, nil
}

// Run waits for the caches to sync, then runs workers workers until ctx
// ends. It returns after every worker has returned; the queue cannot be
// used again afterwards.
func (r *Runner) Run(ctx context.Context, workers int) {
	defer r.queue.ShutDown()
	r.log.Info("Starting controller", "workers", workers)
	defer r.log.Info("Stopped controller")
	if !cache.WaitForCacheSync(ctx.Done(), r.synced...) {
		return
	}
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for r.processNextItem(ctx) {
			}
		})
	}
	<-ctx.Done()
	r.queue.ShutDown()
	wg.Wait()
}

// processNextItem syncs one key; it reports false once the queue is shut
// down or ctx has ended.
func (r *Runner) processNextItem(ctx context.Context) bool {
	key, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(key)
	if ctx.Err() != nil {
		return false
	}
	err := r.sync(ctx, key)
	var re *RequeueError
	switch {
	case err == nil:
		r.queue.Forget(key)
	case errors.As(err, &re):
		r.log.Debug("Requeue", "key", key, "after", re.After, "reason", re.Err)
		r.queue.AddAfter(key, re.After)
	case ctx.Err() != nil:
		// Shutting down: the error is the cancellation, not the object's.
	default:
		r.log.Info("Sync failed, will retry", "key", key, "retries", r.queue.NumRequeues(key), "err", err)
		r.queue.AddRateLimited(key)
	}
	return true
}

// RequeueError asks the Runner to sync the key again after a fixed delay,
// without counting it as a failure for backoff (the object is fine, but
// the world needs time to catch up: content still being removed).
type RequeueError struct {
	// After is the delay before the key is synced again.
	After time.Duration
	// Err says why.
	Err error
}

// RequeueAfter returns a *RequeueError.
func RequeueAfter(d time.Duration, err error) error { return &RequeueError{After: d, Err: err} }

func (e *RequeueError) Error() string {
	return fmt.Sprintf("requeue after %v: %v", e.After, e.Err)
}

func (e *RequeueError) Unwrap() error { return e.Err }
