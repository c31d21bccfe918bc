package deployment

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

var deploymentKind = appsv1.SchemeGroupVersion.WithKind("Deployment")

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

// Controller rolls Deployments out through ReplicaSets.
type Controller struct {
	client    kubernetes.Interface
	dLister   appslisters.DeploymentLister
	rsLister  appslisters.ReplicaSetLister
	podLister corelisters.PodLister
	recorder  record.EventRecorder
	clock     clock.Clock
	log       *slog.Logger
	runner    *controller.Runner
	owners    controller.Owners[*appsv1.Deployment]
	// syncHandler is sync; tests may replace it.
	syncHandler controller.SyncFunc
}

// New returns a Controller registered on cfg.Informers.
func New(cfg Config) (*Controller, error) {
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
	ds := cfg.Informers.Apps().V1().Deployments()
	rss := cfg.Informers.Apps().V1().ReplicaSets()
	pods := cfg.Informers.Core().V1().Pods()
	c := &Controller{
		client: cfg.Client, dLister: ds.Lister(), rsLister: rss.Lister(), podLister: pods.Lister(),
		recorder: cfg.Recorder, clock: cfg.Clock, log: cfg.Logger,
	}
	c.owners = controller.Owners[*appsv1.Deployment]{
		Kind: deploymentKind,
		Get:  func(ns, name string) (*appsv1.Deployment, error) { return c.dLister.Deployments(ns).Get(name) },
		List: func(ns string) ([]*appsv1.Deployment, error) {
			return c.dLister.Deployments(ns).List(labels.Everything())
		},
		Selector: func(d *appsv1.Deployment) *metav1.LabelSelector { return d.Spec.Selector },
	}
	c.syncHandler = c.sync
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name:   "deployment",
		Sync:   func(ctx context.Context, key string) error { return c.syncHandler(ctx, key) },
		Synced: []cache.InformerSynced{ds.Informer().HasSynced, rss.Informer().HasSynced, pods.Informer().HasSynced},
		Logger: cfg.Logger,
	})
	if _, err := ds.Informer().AddEventHandler(c.runner.ObjectHandler()); err != nil {
		return nil, fmt.Errorf("watch deployments: %w", err)
	}
	// A ReplicaSet whose deletion began wakes its Deployment at once, as
	// a deleted one does.
	rsEvents := controller.DependentEvents[*appsv1.Deployment]{Owners: c.owners, Enqueue: c.runner.Enqueue}
	if _, err := rss.Informer().AddEventHandler(rsEvents.Handler()); err != nil {
		return nil, fmt.Errorf("watch replicasets: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	return c, nil
}

// Run runs workers workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.runner.Run(ctx, workers) }

func (c *Controller) enqueue(d *appsv1.Deployment) { c.runner.Enqueue(d.Namespace + "/" + d.Name) }

// deletePod wakes a Recreate Deployment waiting for its old pods to go.
func (c *Controller) deletePod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	rs, err := c.rsLister.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	dref := metav1.GetControllerOf(rs)
	if dref == nil {
		return
	}
	if d, ok := c.owners.Resolve(rs.Namespace, dref); ok && d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		c.enqueue(d)
	}
}

// sync moves the Deployment named by key one step through its rollout
// and writes its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.dLister.Deployments(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	d := cached.DeepCopy()
	if d.Spec.Selector == nil || (len(d.Spec.Selector.MatchLabels) == 0 && len(d.Spec.Selector.MatchExpressions) == 0) {
		c.recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			_, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			return err
		}
		return nil
	}
	rsList, err := c.claimReplicaSets(ctx, d)
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return c.syncStatusOnly(ctx, d, rsList)
	}
	if d, err = c.checkPausedConditions(ctx, d); err != nil {
		return err
	}
	if d.Spec.Paused {
		return c.syncScale(ctx, d, rsList)
	}
	scaling, err := c.isScalingEvent(ctx, d, rsList)
	if err != nil {
		return err
	}
	if scaling {
		return c.syncScale(ctx, d, rsList)
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return c.rolloutRecreate(ctx, d, rsList)
	}
	return c.rolloutRolling(ctx, d, rsList)
}

// claimReplicaSets returns the ReplicaSets d controls, adopting orphans
// its selector matches and releasing owned ones it no longer matches.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	all, err := c.rsLister.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has invalid label selector: %w", d.Namespace, d.Name, err)
	}
	rsClient := c.client.AppsV1().ReplicaSets(d.Namespace)
	claimer := controller.Claimer[*appsv1.ReplicaSet]{
		Owner: d,
		Ref:   controllerRef(d),
		What:  "replicaset",
		Match: func(rs *appsv1.ReplicaSet) bool { return selector.Matches(labels.Set(rs.Labels)) },
		// The patched ReplicaSet is claimed: it is the one this sync then
		// scales.
		Patch: func(ctx context.Context, rs *appsv1.ReplicaSet, patch []byte) (*appsv1.ReplicaSet, error) {
			return rsClient.Patch(ctx, rs.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		},
		// Adopt only if the live Deployment is still this one, as upstream.
		GetLive: func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		},
	}
	return claimer.Claim(ctx, all)
}

func controllerRef(d *appsv1.Deployment) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{
		APIVersion: deploymentKind.GroupVersion().String(), Kind: deploymentKind.Kind,
		Name: d.Name, UID: d.UID, Controller: &t, BlockOwnerDeletion: &t,
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain maps and API structs reach here
	}
	return b
}

// podsByReplicaSet returns d's pods grouped by the ReplicaSet (of rsList)
// controlling them.
func (c *Controller) podsByReplicaSet(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (map[types.UID][]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	pods, err := c.podLister.Pods(d.Namespace).List(selector)
	if err != nil {
		return nil, err
	}
	out := make(map[types.UID][]*corev1.Pod, len(rsList))
	for _, rs := range rsList {
		out[rs.UID] = nil
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			continue
		}
		if _, ok := out[ref.UID]; ok {
			out[ref.UID] = append(out[ref.UID], p)
		}
	}
	return out, nil
}
