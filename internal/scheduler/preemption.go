package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// listPDBs returns the PodDisruptionBudgets of the informer cache.
func (s *Scheduler) listPDBs() []*policyv1.PodDisruptionBudget {
	l, err := s.pdbs.List(labels.Everything())
	if err != nil {
		return nil
	}
	return l
}

// preempt evicts victims from node for preemptor, as upstream does:
// each victim first gets the DisruptionTarget=True condition (reason
// PreemptionByScheduler) through pods/status, is then deleted with its
// grace period, and gets a Preempted event. Pods nominated to node with
// a lower priority lose their nomination. Victims already gone are not
// an error.
func (s *Scheduler) preempt(ctx context.Context, preemptor *v1.Pod, node string, victims, clearNominated []*v1.Pod) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	msg := fmt.Sprintf("%s: preempting to accommodate a higher priority pod", orDefault(preemptor.Spec.SchedulerName))
	for _, victim := range victims {
		wg.Go(func() {
			if err := s.evict(ctx, victim, msg); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			s.recorder.Eventf(victim, v1.EventTypeNormal, "Preempted", "Preempted by pod %v on node %v", preemptor.UID, node)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, p := range clearNominated {
		s.nominator.delete(p.UID)
		patch := []byte(`{"status":{"nominatedNodeName":null}}`)
		if _, err := s.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil && !apierrors.IsNotFound(err) {
			s.log.Info("Could not clear a nominated node", "pod", p.Namespace+"/"+p.Name, "err", err)
		}
	}
	return nil
}

func (s *Scheduler) evict(ctx context.Context, victim *v1.Pod, msg string) error {
	pods := s.client.CoreV1().Pods(victim.Namespace)
	if !hasCondition(victim, v1.DisruptionTarget, v1.PodReasonPreemptionByScheduler) {
		cond := v1.PodCondition{Type: v1.DisruptionTarget, Status: v1.ConditionTrue, Reason: v1.PodReasonPreemptionByScheduler,
			Message: msg, LastTransitionTime: metav1.NewTime(s.clock.Now())}
		patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []v1.PodCondition{cond}}})
		if err != nil {
			return err
		}
		if _, err := pods.Patch(ctx, victim.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("mark victim %s/%s: %w", victim.Namespace, victim.Name, err)
		}
	}
	uid := victim.UID
	err := pods.Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete victim %s/%s: %w", victim.Namespace, victim.Name, err)
	}
	return nil
}

func hasCondition(pod *v1.Pod, t v1.PodConditionType, reason string) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t && c.Status == v1.ConditionTrue && c.Reason == reason {
			return true
		}
	}
	return false
}
