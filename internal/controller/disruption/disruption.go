package disruption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	policyinformers "k8s.io/client-go/informers/policy/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers (upstream's).
const Name = "disruption"

// DeletionTimeout is how long an entry of status.disruptedPods may wait
// for its pod to be deleted before it counts as healthy again.
const DeletionTimeout = 2 * time.Minute

const workers = 2

// Config configures a Controller.
type Config struct {
	Client       kubernetes.Interface
	PDBs         policyinformers.PodDisruptionBudgetInformer
	Pods         coreinformers.PodInformer
	ReplicaSets  appsinformers.ReplicaSetInformer
	Deployments  appsinformers.DeploymentInformer
	StatefulSets appsinformers.StatefulSetInformer
	RCs          coreinformers.ReplicationControllerInformer
	Recorder     record.EventRecorder
	// Clock; nil means the real clock.
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller keeps PodDisruptionBudget status.
type Controller struct {
	client kubernetes.Interface
	pdbs   policylisters.PodDisruptionBudgetLister
	pods   corelisters.PodLister
	rss    appslisters.ReplicaSetLister
	deps   appslisters.DeploymentLister
	sss    appslisters.StatefulSetLister
	rcs    corelisters.ReplicationControllerLister
	rec    record.EventRecorder
	clock  clock.Clock
	log    *slog.Logger
	runner *controller.Runner
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.PDBs == nil || cfg.Pods == nil || cfg.ReplicaSets == nil || cfg.Deployments == nil || cfg.StatefulSets == nil || cfg.RCs == nil {
		return nil, errors.New("disruption: Client and every informer are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	cfg.Recorder = controller.RecorderOrDrop(cfg.Recorder)
	c := &Controller{
		client: cfg.Client, pdbs: cfg.PDBs.Lister(), pods: cfg.Pods.Lister(), rss: cfg.ReplicaSets.Lister(),
		deps: cfg.Deployments.Lister(), sss: cfg.StatefulSets.Lister(), rcs: cfg.RCs.Lister(),
		rec: cfg.Recorder, clock: cfg.Clock, log: cfg.Logger,
	}
	c.runner = controller.NewRunner(controller.RunnerConfig{
		Name: Name, Sync: c.sync, Logger: cfg.Logger,
		Synced: []cache.InformerSynced{
			cfg.PDBs.Informer().HasSynced, cfg.Pods.Informer().HasSynced, cfg.ReplicaSets.Informer().HasSynced,
			cfg.Deployments.Informer().HasSynced, cfg.StatefulSets.Informer().HasSynced, cfg.RCs.Informer().HasSynced,
		},
	})
	if _, err := cfg.PDBs.Informer().AddEventHandler(c.runner.ObjectHandler()); err != nil {
		return nil, fmt.Errorf("pdb informer: %w", err)
	}
	if _, err := cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueuePodPDBs,
		UpdateFunc: func(old, cur any) {
			c.enqueuePodPDBs(cur)
			if !apiequality.Semantic.DeepEqual(old.(*corev1.Pod).Labels, cur.(*corev1.Pod).Labels) {
				c.enqueuePodPDBs(old)
			}
		},
		DeleteFunc: c.enqueuePodPDBs,
	}); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	return c, nil
}

// Descriptor describes the controller for the Manager.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		f := cc.Informers
		c, err := New(Config{
			Client: cc.Client, PDBs: f.Policy().V1().PodDisruptionBudgets(), Pods: f.Core().V1().Pods(),
			ReplicaSets: f.Apps().V1().ReplicaSets(), Deployments: f.Apps().V1().Deployments(),
			StatefulSets: f.Apps().V1().StatefulSets(), RCs: f.Core().V1().ReplicationControllers(),
			Recorder: cc.Recorder("controllermanager"), Logger: cc.Logger,
		})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { c.runner.Run(ctx, workers) }, nil
	}}
}

// enqueuePodPDBs enqueues the budgets whose selector matches pod.
func (c *Controller) enqueuePodPDBs(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	pdbs, err := c.pdbs.PodDisruptionBudgets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, pdb := range pdbs {
		if sel, err := selectorOf(pdb); err == nil && sel.Matches(labels.Set(pod.Labels)) {
			c.runner.EnqueueObject(pdb)
		}
	}
}

// selectorOf is pdb's pod selector: a nil selector matches nothing, an
// empty one every pod (policy/v1).
func selectorOf(pdb *policyv1.PodDisruptionBudget) (labels.Selector, error) {
	if pdb.Spec.Selector == nil {
		return labels.Nothing(), nil
	}
	return metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
}

// sync recomputes the status of the budget named key.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	pdb, err := c.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	err = c.trySync(ctx, pdb)
	if err == nil || apierrors.IsConflict(err) {
		return err
	}
	var re *controller.RequeueError
	if errors.As(err, &re) {
		return err
	}
	c.log.Info("Cannot compute disruption budget, allowing no disruption", "pdb", key, "err", err)
	if ferr := c.failSafe(ctx, pdb, err); ferr != nil {
		return ferr
	}
	return err
}

func (c *Controller) trySync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) error {
	sel, err := selectorOf(pdb)
	if err != nil {
		return fmt.Errorf("selector of pdb %s/%s: %w", pdb.Namespace, pdb.Name, err)
	}
	pods, err := c.pods.Pods(pdb.Namespace).List(sel)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		c.rec.Event(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	expected, desired, err := c.expectedPodCount(pdb, pods)
	if err != nil {
		c.rec.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return err
	}
	now := c.clock.Now()
	disrupted, recheck := disruptedPods(pods, pdb, now)
	healthy := countHealthy(pods, disrupted, now)
	if err := c.updateStatus(ctx, pdb, healthy, desired, expected, disrupted); err != nil {
		return err
	}
	if !recheck.IsZero() {
		return controller.RequeueAfter(recheck.Sub(now), fmt.Errorf("disrupted pods of pdb %s/%s expire", pdb.Namespace, pdb.Name))
	}
	return nil
}

// expectedPodCount returns how many pods the budget expects and how many
// of them must be healthy.
func (c *Controller) expectedPodCount(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (expected, desired int32, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		expected, err = c.expectedScale(pdb, pods)
		if err != nil {
			return 0, 0, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, err
		}
		desired = max(expected-int32(maxUnavailable), 0)
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		desired = pdb.Spec.MinAvailable.IntVal
		expected = int32(len(pods))
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.String:
		expected, err = c.expectedScale(pdb, pods)
		if err != nil {
			return 0, 0, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, err
		}
		desired = int32(minAvailable)
	}
	return expected, desired, nil
}

// expectedScale sums the scale of the distinct controllers of pods.
func (c *Controller) expectedScale(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (int32, error) {
	scales := map[types.UID]int32{}
	for _, pod := range pods {
		ref := metav1.GetControllerOf(pod)
		if ref == nil {
			err := fmt.Errorf("found no controller ref for pod %q", pod.Name)
			c.rec.Event(pdb, corev1.EventTypeWarning, "NoControllerRef", err.Error())
			return 0, err
		}
		if _, ok := scales[ref.UID]; ok {
			continue
		}
		uid, scale, ok := c.controllerScale(pod.Namespace, ref)
		if !ok {
			err := fmt.Errorf("found no controllers for pod %q", pod.Name)
			c.rec.Event(pdb, corev1.EventTypeWarning, "NoControllers", err.Error())
			return 0, err
		}
		scales[uid] = scale
	}
	var sum int32
	for _, s := range scales {
		sum += s
	}
	return sum, nil
}

// controllerScale finds the controller ref points to and returns its UID
// (a Deployment's for a ReplicaSet it owns) and replicas.
func (c *Controller) controllerScale(ns string, ref *metav1.OwnerReference) (types.UID, int32, bool) {
	replicas := func(p *int32) int32 {
		if p == nil {
			return 1
		}
		return *p
	}
	switch {
	case ref.Kind == "ReplicaSet" && groupOf(ref) == appsv1.GroupName:
		rs, err := c.rss.ReplicaSets(ns).Get(ref.Name)
		if err != nil || rs.UID != ref.UID {
			return "", 0, false
		}
		if dref := metav1.GetControllerOf(rs); dref != nil && dref.Kind == "Deployment" && groupOf(dref) == appsv1.GroupName {
			d, err := c.deps.Deployments(ns).Get(dref.Name)
			if err != nil || d.UID != dref.UID {
				return "", 0, false
			}
			return d.UID, replicas(d.Spec.Replicas), true
		}
		return rs.UID, replicas(rs.Spec.Replicas), true
	case ref.Kind == "StatefulSet" && groupOf(ref) == appsv1.GroupName:
		ss, err := c.sss.StatefulSets(ns).Get(ref.Name)
		if err != nil || ss.UID != ref.UID {
			return "", 0, false
		}
		return ss.UID, replicas(ss.Spec.Replicas), true
	case ref.Kind == "ReplicationController" && groupOf(ref) == "":
		rc, err := c.rcs.ReplicationControllers(ns).Get(ref.Name)
		if err != nil || rc.UID != ref.UID {
			return "", 0, false
		}
		return rc.UID, replicas(rc.Spec.Replicas), true
	}
	return "", 0, false
}

func groupOf(ref *metav1.OwnerReference) string {
	gv, err := schemaGroup(ref.APIVersion)
	if err != nil {
		return "?"
	}
	return gv
}

// disruptedPods returns the entries of status.disruptedPods still
// waiting for their pod to go, and the earliest time one expires (zero
// when none waits).
func disruptedPods(pods []*corev1.Pod, pdb *policyv1.PodDisruptionBudget, now time.Time) (map[string]metav1.Time, time.Time) {
	byName := make(map[string]*corev1.Pod, len(pods))
	for _, p := range pods {
		byName[p.Name] = p
	}
	out := map[string]metav1.Time{}
	var recheck time.Time
	for name, t := range pdb.Status.DisruptedPods {
		p, ok := byName[name]
		if !ok || p.DeletionTimestamp != nil {
			continue
		}
		expiry := t.Add(DeletionTimeout)
		if !now.Before(expiry) {
			continue
		}
		out[name] = t
		if recheck.IsZero() || expiry.Before(recheck) {
			recheck = expiry
		}
	}
	return out, recheck
}

// countHealthy counts the ready pods that are neither terminating nor
// awaiting a disruption.
func countHealthy(pods []*corev1.Pod, disrupted map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if t, ok := disrupted[p.Name]; ok && t.Add(DeletionTimeout).After(now) {
			continue
		}
		if podReady(p) {
			n++
		}
	}
	return n
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// setAllowedCondition sets the DisruptionAllowed condition from
// status.disruptionsAllowed.
func setAllowedCondition(pdb *policyv1.PodDisruptionBudget) {
	cond := metav1.Condition{
		Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
		Reason: policyv1.InsufficientPodsReason, ObservedGeneration: pdb.Status.ObservedGeneration,
	}
	if pdb.Status.DisruptionsAllowed > 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	if pdb.Status.Conditions == nil {
		pdb.Status.Conditions = []metav1.Condition{}
	}
	meta.SetStatusCondition(&pdb.Status.Conditions, cond)
}

// calculateStatus returns pdb's status from the counts.
func calculateStatus(pdb *policyv1.PodDisruptionBudget, healthy, desired, expected int32, disrupted map[string]metav1.Time) policyv1.PodDisruptionBudgetStatus {
	allowed := healthy - desired
	if expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	p := pdb.DeepCopy()
	p.Status = policyv1.PodDisruptionBudgetStatus{
		CurrentHealthy: healthy, DesiredHealthy: desired, ExpectedPods: expected, DisruptionsAllowed: allowed,
		DisruptedPods: disrupted, ObservedGeneration: pdb.Generation, Conditions: p.Status.Conditions,
	}
	setAllowedCondition(p)
	return p.Status
}

// updateStatus writes the status calculateStatus gives, unless it is
// already there.
func (c *Controller) updateStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, healthy, desired, expected int32, disrupted map[string]metav1.Time) error {
	st := calculateStatus(pdb, healthy, desired, expected, disrupted)
	if len(st.DisruptedPods) == 0 && len(pdb.Status.DisruptedPods) == 0 {
		st.DisruptedPods = pdb.Status.DisruptedPods
	}
	if apiequality.Semantic.DeepEqual(st, pdb.Status) {
		return nil
	}
	p := pdb.DeepCopy()
	p.Status = st
	if _, err := c.client.PolicyV1().PodDisruptionBudgets(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of pdb %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// failSafe allows no disruption when the budget cannot be computed.
func (c *Controller) failSafe(ctx context.Context, pdb *policyv1.PodDisruptionBudget, cause error) error {
	p := pdb.DeepCopy()
	p.Status.DisruptionsAllowed = 0
	if p.Status.Conditions == nil {
		p.Status.Conditions = []metav1.Condition{}
	}
	meta.SetStatusCondition(&p.Status.Conditions, metav1.Condition{
		Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.SyncFailedReason,
		Message: cause.Error(), ObservedGeneration: p.Status.ObservedGeneration,
	})
	if apiequality.Semantic.DeepEqual(p.Status, pdb.Status) {
		return nil
	}
	if _, err := c.client.PolicyV1().PodDisruptionBudgets(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of pdb %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// schemaGroup returns the group of an apiVersion ("apps/v1" → "apps",
// "v1" → "").
func schemaGroup(apiVersion string) (string, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return "", err
	}
	return gv.Group, nil
}
