package scheduler

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Annotations the volume binder writes, as upstream's.
const (
	annSelectedNode      = "volume.kubernetes.io/selected-node"
	annBoundByController = "pv.kubernetes.io/bound-by-controller"
)

// volumePollInterval is how often BindVolumes looks at the claims it
// waits for (in the informer cache: no API request).
const volumePollInterval = 50 * time.Millisecond

// volumes implements framework.Volumes over the scheduler's informers
// and client.
type volumes struct {
	client  kubernetes.Interface
	clock   clock.WithTicker
	claims  corelisters.PersistentVolumeClaimLister
	pvs     corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
}

// newVolumes registers the PVC, PV and StorageClass informers on f and
// reports their changes to onEvent (to move unschedulable pods back).
func newVolumes(client kubernetes.Interface, clk clock.WithTicker, f informers.SharedInformerFactory, onEvent func(framework.ClusterEvent)) (*volumes, error) {
	v := &volumes{client: client, clock: clk,
		claims:  f.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:     f.Core().V1().PersistentVolumes().Lister(),
		classes: f.Storage().V1().StorageClasses().Lister(),
	}
	handler := func(kind string) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { onEvent(framework.ClusterEvent{Resource: kind, ActionType: framework.Add}) },
			UpdateFunc: func(any, any) { onEvent(framework.ClusterEvent{Resource: kind, ActionType: framework.Update}) },
			DeleteFunc: func(any) { onEvent(framework.ClusterEvent{Resource: kind, ActionType: framework.Delete}) },
		}
	}
	for kind, inf := range map[string]cache.SharedIndexInformer{
		framework.KindPVC:          f.Core().V1().PersistentVolumeClaims().Informer(),
		framework.KindPV:           f.Core().V1().PersistentVolumes().Informer(),
		framework.KindStorageClass: f.Storage().V1().StorageClasses().Informer(),
	} {
		if _, err := inf.AddEventHandler(handler(kind)); err != nil {
			return nil, fmt.Errorf("%s handler: %w", kind, err)
		}
	}
	return v, nil
}

func notFoundNil[T any](obj *T, err error) (*T, error) {
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

func (v *volumes) PersistentVolumeClaim(ns, name string) (*v1.PersistentVolumeClaim, error) {
	return notFoundNil(v.claims.PersistentVolumeClaims(ns).Get(name))
}

func (v *volumes) PersistentVolume(name string) (*v1.PersistentVolume, error) {
	return notFoundNil(v.pvs.Get(name))
}

func (v *volumes) PersistentVolumes() ([]*v1.PersistentVolume, error) {
	return v.pvs.List(labels.Everything())
}

func (v *volumes) StorageClass(name string) (*storagev1.StorageClass, error) {
	return notFoundNil(v.classes.Get(name))
}

// BindVolumes implements framework.VolumeBinder.
func (v *volumes) BindVolumes(ctx context.Context, pod *v1.Pod, node string, b framework.VolumeBindings, claims []*v1.PersistentVolumeClaim) error {
	byKey := map[string]*v1.PersistentVolumeClaim{}
	for _, c := range claims {
		byKey[c.Namespace+"/"+c.Name] = c
	}
	for key, pvName := range b.Static {
		claim := byKey[key]
		pv, err := v.client.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get volume %s: %w", pvName, err)
		}
		if r := pv.Spec.ClaimRef; r != nil {
			if r.Namespace != claim.Namespace || r.Name != claim.Name || (r.UID != "" && r.UID != claim.UID) {
				return fmt.Errorf("volume %s is bound to claim %s/%s meanwhile", pvName, r.Namespace, r.Name)
			}
			continue
		}
		pv.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
			Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID, ResourceVersion: claim.ResourceVersion}
		if pv.Annotations == nil {
			pv.Annotations = map[string]string{}
		}
		pv.Annotations[annBoundByController] = "yes"
		if _, err := v.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("bind volume %s to claim %s: %w", pvName, key, err)
		}
	}
	for _, c := range b.Provision {
		claim, err := v.client.CoreV1().PersistentVolumeClaims(c.Namespace).Get(ctx, c.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get claim %s/%s: %w", c.Namespace, c.Name, err)
		}
		if claim.Annotations[annSelectedNode] == node {
			continue
		}
		if claim.Annotations == nil {
			claim.Annotations = map[string]string{}
		}
		claim.Annotations[annSelectedNode] = node
		if _, err := v.client.CoreV1().PersistentVolumeClaims(c.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("select node %s for claim %s/%s: %w", node, c.Namespace, c.Name, err)
		}
	}
	provision := map[string]bool{}
	for _, c := range b.Provision {
		provision[c.Namespace+"/"+c.Name] = true
	}
	return v.waitBound(ctx, pod, node, claims, provision)
}

// waitBound polls the claim cache until every claim is bound. A claim to
// provision whose selected-node annotation, once seen, is removed (its
// provisioner gave up on the node) fails the binding, so the pod is
// scheduled again.
func (v *volumes) waitBound(ctx context.Context, pod *v1.Pod, node string, claims []*v1.PersistentVolumeClaim, provision map[string]bool) error {
	t := v.clock.NewTicker(volumePollInterval)
	defer t.Stop()
	selected := map[string]bool{}
	for {
		done := true
		for _, c := range claims {
			cur, err := v.PersistentVolumeClaim(c.Namespace, c.Name)
			if err != nil {
				return err
			}
			if cur == nil {
				return fmt.Errorf("persistentvolumeclaim %q not found", c.Name)
			}
			if cur.Spec.VolumeName != "" && cur.Status.Phase == v1.ClaimBound {
				continue
			}
			done = false
			key := c.Namespace + "/" + c.Name
			if provision[key] {
				if cur.Annotations[annSelectedNode] == node {
					selected[key] = true
				} else if selected[key] {
					return fmt.Errorf("claim %s: provisioning on node %s failed (selected-node annotation removed)", key, node)
				}
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s/%s: timed out waiting for its volumes to be bound: %w", pod.Namespace, pod.Name, ctx.Err())
		case <-t.C():
		}
	}
}
