package job

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons and messages, as upstream writes them.
const (
	reasonCompletionsReached = "CompletionsReached"
	msgCompletionsReached    = "Reached expected number of succeeded pods"
	msgBackoffLimitExceeded  = "Job has reached the specified backoff limit"
	msgDeadlineExceeded      = "Job was active longer than specified deadline"
	reasonSuspended          = "JobSuspended"
	reasonResumed            = "JobResumed"
)

// findCondition returns job's condition of type t, or nil.
func findCondition(st *batchv1.JobStatus, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// hasTrue reports whether st has condition t with status True.
func hasTrue(st *batchv1.JobStatus, t batchv1.JobConditionType) bool {
	c := findCondition(st, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// isFinished reports whether job is Complete or Failed.
func isFinished(st *batchv1.JobStatus) bool {
	return hasTrue(st, batchv1.JobComplete) || hasTrue(st, batchv1.JobFailed)
}

// setCondition makes st's condition t have status, reason and message; it
// reports whether anything changed. With onlyIfPresent a missing
// condition is not added (a False Suspended for a Job never suspended).
func setCondition(st *batchv1.JobStatus, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string, now metav1.Time, onlyIfPresent bool) bool {
	if c := findCondition(st, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == msg {
			return false
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message, c.LastProbeTime = status, reason, msg, now
		return true
	}
	if onlyIfPresent {
		return false
	}
	st.Conditions = append(st.Conditions, batchv1.JobCondition{
		Type: t, Status: status, Reason: reason, Message: msg, LastProbeTime: now, LastTransitionTime: now,
	})
	return true
}
