package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// policyMatch is the podFailurePolicy rule a failed pod matched.
type policyMatch struct {
	action  batchv1.PodFailurePolicyAction
	message string
}

// matchFailurePolicy returns the first rule of job's podFailurePolicy that
// the Failed pod matches, or nil (the failure then counts as usual).
func matchFailurePolicy(job *batchv1.Job, pod *corev1.Pod) *policyMatch {
	p := job.Spec.PodFailurePolicy
	if p == nil || pod.Status.Phase != corev1.PodFailed {
		return nil
	}
	for i, rule := range p.Rules {
		if r := rule.OnExitCodes; r != nil {
			if name, code, ok := matchExitCodes(r, pod); ok {
				return &policyMatch{action: rule.Action, message: fmt.Sprintf(
					"Container %s for pod %s/%s failed with exit code %d matching %v rule at index %d",
					name, pod.Namespace, pod.Name, code, rule.Action, i)}
			}
		}
		for _, pat := range rule.OnPodConditions {
			if cond, ok := matchCondition(pat, pod); ok {
				return &policyMatch{action: rule.Action, message: fmt.Sprintf(
					"Pod %s/%s has condition %v matching %v rule at index %d",
					pod.Namespace, pod.Name, cond, rule.Action, i)}
			}
		}
	}
	return nil
}

// matchExitCodes finds a terminated container (init containers first) with
// a non-zero exit code that r accepts.
func matchExitCodes(r *batchv1.PodFailurePolicyOnExitCodesRequirement, pod *corev1.Pod) (string, int32, bool) {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, s := range list {
			if r.ContainerName != nil && *r.ContainerName != s.Name {
				continue
			}
			t := s.State.Terminated
			if t == nil || t.ExitCode == 0 {
				continue
			}
			in := slices.Contains(r.Values, t.ExitCode)
			if (r.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
				return s.Name, t.ExitCode, true
			}
		}
	}
	return "", 0, false
}

func matchCondition(pat batchv1.PodFailurePolicyOnPodConditionsPattern, pod *corev1.Pod) (corev1.PodConditionType, bool) {
	want := pat.Status
	if want == "" {
		want = corev1.ConditionTrue
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == pat.Type && c.Status == want {
			return c.Type, true
		}
	}
	return "", false
}
