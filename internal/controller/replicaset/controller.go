package replicaset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// burstReplicas caps the pods one sync creates or deletes, as upstream's
// default --replicaset-sync burst.
const burstReplicas = 500

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder records events; nil drops them.
	Recorder record.EventRecorder
	// Logger; nil discards.
	Logger *slog.Logger
	// Clock; nil means the real clock.
	Clock clock.Clock
}

// Controller keeps the pods of ReplicaSets (or of ReplicationControllers:
// one Controller manages one kind).
type Controller struct {
	kind         workload
	client       kubernetes.Interface
	podLister    corelisters.PodLister
	podControl   PodControl
	expectations *controller.Expectations
	recorder     record.EventRecorder
	clock        clock.Clock
	log          *slog.Logger
	runner       *controller.Runner
	// burst caps creations and deletions per sync.
	burst int
	// syncHandler is sync; tests may replace it.
	syncHandler controller.SyncFunc
}

// NewReplicaSets returns the controller of apps/v1 ReplicaSets.
func NewReplicaSets(cfg Config) (*Controller, error) {
	return newController(cfg, replicaSetWorkload(cfg.Client, cfg.Informers))
}

// NewReplicationControllers returns the controller of v1
// ReplicationControllers.
func NewReplicationControllers(cfg Config) (*Controller, error) {
	return newController(cfg, replicationControllerWorkload(cfg.Client, cfg.Informers))
}

func newController(cfg Config, kind workload) (*Controller, error) {
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
	pods := cfg.Informers.Core().V1().Pods()
	c := &Controller{
		kind:         kind,
		client:       cfg.Client,
		podLister:    pods.Lister(),
		podControl:   clientPodControl{client: cfg.Client, recorder: cfg.Recorder},
		expectations: controller.NewExpectations(cfg.Clock),
		recorder:     cfg.Recorder,
		clock:        cfg.Clock,
		log:          cfg.Logger,
		burst:        burstReplicas,
	}
	c.syncHandler = c.sync
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name:   kind.gvk.Kind,
		Sync:   func(ctx context.Context, key string) error { return c.syncHandler(ctx, key) },
		Synced: []cache.InformerSynced{kind.informer.HasSynced, pods.Informer().HasSynced},
		Logger: cfg.Logger,
	})
	if _, err := kind.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addOwner,
		UpdateFunc: c.updateOwner,
		DeleteFunc: c.deleteOwner,
	}); err != nil {
		return nil, fmt.Errorf("watch %s: %w", kind.gvk.Kind, err)
	}
	podEvents := controller.DependentEvents[*appsv1.ReplicaSet]{
		Owners: controller.Owners[*appsv1.ReplicaSet]{
			Kind:     kind.gvk,
			Get:      kind.get,
			List:     kind.list,
			Selector: func(rs *appsv1.ReplicaSet) *metav1.LabelSelector { return rs.Spec.Selector },
		},
		Enqueue: c.runner.Enqueue,
		Created: c.expectations.CreationObserved,
		Deleted: func(key string, pod metav1.Object) {
			c.expectations.DeletionObserved(key, keyOf(pod.GetNamespace(), pod.GetName()))
		},
		MinReadySeconds: func(rs *appsv1.ReplicaSet) int32 { return rs.Spec.MinReadySeconds },
		EnqueueAfter:    c.runner.EnqueueAfter,
	}
	if _, err := pods.Informer().AddEventHandler(podEvents.Handler()); err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	return c, nil
}

// Run runs workers workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.runner.Run(ctx, workers) }

func keyOf(namespace, name string) string { return namespace + "/" + name }

func (c *Controller) addOwner(obj any) {
	if rs, ok := c.kind.convert(obj); ok {
		c.runner.Enqueue(keyOf(rs.Namespace, rs.Name))
	}
}

func (c *Controller) updateOwner(oldObj, newObj any) {
	oldRS, ok1 := c.kind.convert(oldObj)
	newRS, ok2 := c.kind.convert(newObj)
	if !ok1 || !ok2 {
		return
	}
	if oldRS.UID != newRS.UID {
		// Deleted and recreated under the same name between two events.
		c.deleteOwner(cache.DeletedFinalStateUnknown{Key: keyOf(oldRS.Namespace, oldRS.Name), Obj: oldObj})
		c.addOwner(newObj)
		return
	}
	if replicas(oldRS) != replicas(newRS) {
		c.log.Debug("Replicas changed", "key", keyOf(newRS.Namespace, newRS.Name), "old", replicas(oldRS), "new", replicas(newRS))
	}
	c.runner.Enqueue(keyOf(newRS.Namespace, newRS.Name))
}

func (c *Controller) deleteOwner(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	rs, ok := c.kind.convert(obj)
	if !ok {
		return
	}
	key := keyOf(rs.Namespace, rs.Name)
	c.expectations.Forget(key)
	c.runner.Enqueue(key)
}

// sync makes the pods of the object named by key match its spec and
// writes its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // a malformed key never becomes valid
	}
	log := c.log.With("key", key)
	cached, err := c.kind.get(namespace, name)
	if apierrors.IsNotFound(err) {
		c.expectations.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	rs := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		log.Info("Invalid selector", "err", err)
		return nil
	}
	needsSync := c.expectations.Satisfied(key) && rs.DeletionTimestamp == nil

	all, err := c.podLister.Pods(namespace).List(labels.Everything())
	if err != nil {
		return err
	}
	pods, err := c.claimPods(ctx, rs, selector, filterActivePods(all))
	if err != nil {
		return err
	}

	var manageErr error
	if needsSync {
		manageErr = c.manageReplicas(ctx, rs, pods, all)
	}
	st := calculateStatus(rs, pods, manageErr, c.clock.Now())
	updated, err := c.writeStatus(ctx, rs, st)
	if err != nil {
		return errors.Join(manageErr, err)
	}
	if manageErr == nil && updated.Spec.MinReadySeconds > 0 &&
		updated.Status.ReadyReplicas == replicas(updated) && updated.Status.AvailableReplicas != replicas(updated) {
		c.runner.EnqueueAfter(key, time.Duration(updated.Spec.MinReadySeconds)*time.Second)
	}
	return manageErr
}

// claimPods returns the active pods rs controls after adopting matching
// orphans and releasing owned pods that no longer match.
func (c *Controller) claimPods(ctx context.Context, rs *appsv1.ReplicaSet, selector labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	claimer := controller.Claimer[*corev1.Pod]{
		Owner: rs,
		Ref:   c.controllerRef(rs),
		What:  "pod",
		Match: func(pod *corev1.Pod) bool { return selector.Matches(labels.Set(pod.Labels)) },
		Patch: func(ctx context.Context, pod *corev1.Pod, patch []byte) (*corev1.Pod, error) {
			return pod, c.podControl.PatchPod(ctx, pod.Namespace, pod.Name, patch)
		},
		// Adopt only if the live object is still this one, as upstream.
		GetLive: func(ctx context.Context) (metav1.Object, error) { return c.kind.getLive(ctx, rs.Namespace, rs.Name) },
	}
	return claimer.Claim(ctx, pods)
}

func (c *Controller) controllerRef(rs *appsv1.ReplicaSet) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{
		APIVersion: c.kind.gvk.GroupVersion().String(), Kind: c.kind.gvk.Kind,
		Name: rs.Name, UID: rs.UID, Controller: &t, BlockOwnerDeletion: &t,
	}
}

// manageReplicas creates or deletes pods so that rs has spec.replicas
// active pods, at most c.burst per call. pods are the claimed active pods,
// all every pod of the namespace (for co-location ranks).
func (c *Controller) manageReplicas(ctx context.Context, rs *appsv1.ReplicaSet, pods, all []*corev1.Pod) error {
	key := keyOf(rs.Namespace, rs.Name)
	diff := len(pods) - int(replicas(rs))
	obj := c.kind.eventObject(rs)
	switch {
	case diff < 0:
		n := min(-diff, c.burst)
		c.expectations.ExpectCreations(key, n)
		ref := c.controllerRef(rs)
		created, err := slowStartBatch(n, 1, func() error {
			err := c.podControl.CreatePod(ctx, rs.Namespace, &rs.Spec.Template, obj, &ref)
			if err != nil && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // the namespace is going away; nothing to retry
			}
			return err
		})
		for range n - created {
			c.expectations.CreationObserved(key)
		}
		return err
	case diff > 0:
		n := min(diff, c.burst)
		victims := podsToDelete(pods, c.relatedPods(rs, all), n, c.clock.Now())
		podKeys := make([]string, len(victims))
		for i, p := range victims {
			podKeys[i] = keyOf(p.Namespace, p.Name)
		}
		c.expectations.ExpectDeletions(key, podKeys)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for i, p := range victims {
			wg.Go(func() {
				err := c.podControl.DeletePod(ctx, p.Namespace, p.Name, obj)
				if err == nil {
					return
				}
				c.expectations.DeletionObserved(key, podKeys[i])
				if !apierrors.IsNotFound(err) {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return nil
}

// relatedPods returns the active pods controlled by rs or by objects that
// share rs's controller (the other ReplicaSets of its Deployment).
func (c *Controller) relatedPods(rs *appsv1.ReplicaSet, all []*corev1.Pod) []*corev1.Pod {
	owners := map[types.UID]bool{rs.UID: true}
	if parent := metav1.GetControllerOf(rs); parent != nil {
		if siblings, err := c.kind.list(rs.Namespace); err == nil {
			for _, s := range siblings {
				if p := metav1.GetControllerOf(s); p != nil && p.UID == parent.UID {
					owners[s.UID] = true
				}
			}
		}
	}
	var out []*corev1.Pod
	for _, p := range all {
		if ref := metav1.GetControllerOf(p); ref != nil && owners[ref.UID] && isPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// slowStartBatch calls fn count times in batches of growing size
// (initial, then doubling), the calls of one batch in parallel. It stops
// after the first batch in which any call fails, so that a systematic
// failure (quota, admission) costs few calls, and returns how many calls
// succeeded with the errors of the failing batch.
func slowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining, successes := count, 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for range batch {
			wg.Go(func() {
				if err := fn(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		successes += batch - len(errs)
		if len(errs) > 0 {
			return successes, errs[0]
		}
		remaining -= batch
	}
	return successes, nil
}
