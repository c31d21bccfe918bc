//go:build integration

package integration

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/config"
)

func TestJobCompletionsAndParallelism(t *testing.T) {
	t.Parallel()
	c := newBatchCluster(t, "jobs", 3, nil)
	ctx := ctxT(t)
	aw := watchActive(t, ctx, c.cs, c.ns)
	if _, err := c.cs.BatchV1().Jobs(c.ns).Create(ctx, newJob(c.ns, "five", 5, 2, "sh", "-c", "sleep 0.3"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := waitJobCondition(t, ctx, c.cs, c.ns, "five", batchv1.JobComplete)
	if got := aw.max(); got > 2 || got == 0 {
		t.Errorf("at most %d pods were active at once, want 2", got)
	}
	st := j.Status
	if st.Succeeded != 5 || st.Failed != 0 || st.Active != 0 || st.CompletionTime == nil || st.StartTime == nil {
		t.Errorf("status = %+v", st)
	}
	if sc := jobCondition(j, batchv1.JobSuccessCriteriaMet); sc == nil || sc.Reason != "CompletionsReached" {
		t.Errorf("SuccessCriteriaMet = %+v", sc)
	}
	if c := jobCondition(j, batchv1.JobComplete); c.Reason != "CompletionsReached" || c.Message != "Reached expected number of succeeded pods" {
		t.Errorf("Complete = %+v", c)
	}
	pods, err := c.cs.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 5 {
		t.Errorf("%d pods, want 5: %s", len(pods.Items), describePods(pods.Items))
	}
	for _, p := range pods.Items {
		if len(p.Finalizers) != 0 || p.Status.Phase != corev1.PodSucceeded || p.Labels["batch.kubernetes.io/job-name"] != "five" {
			t.Errorf("pod %s: phase %s finalizers %v labels %v", p.Name, p.Status.Phase, p.Finalizers, p.Labels)
		}
	}
	out, _ := kubectl(t, c.srv, false, "-n", c.ns, "get", "job", "five", "--no-headers")
	if f := strings.Fields(out); len(f) < 3 || f[1] != "Complete" || f[2] != "5/5" {
		t.Errorf("kubectl get job: %q, want STATUS Complete and COMPLETIONS 5/5", out)
	}
	eventually(t, wait, "Completed event", func() (bool, error) {
		return hasEvent(ctx, c.cs, c.ns, "five", "Completed", "Job completed")
	})
	if ok, err := hasEvent(ctx, c.cs, c.ns, "five", "SuccessfulCreate", "Created pod: five-"); !ok {
		t.Error(err)
	}
}

func TestJobIndexed(t *testing.T) {
	t.Parallel()
	c := newBatchCluster(t, "indexed", 2, nil)
	ctx := ctxT(t)
	j := newJob(c.ns, "idx", 4, 2, "sh", "-c", "sleep 0.2")
	mode := batchv1.IndexedCompletion
	j.Spec.CompletionMode = &mode
	if _, err := c.cs.BatchV1().Jobs(c.ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j = waitJobCondition(t, ctx, c.cs, c.ns, "idx", batchv1.JobComplete)
	if j.Status.CompletedIndexes != "0-3" || j.Status.Succeeded != 4 {
		t.Errorf("completedIndexes %q succeeded %d, want 0-3 and 4", j.Status.CompletedIndexes, j.Status.Succeeded)
	}
	pods, err := c.cs.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var indexes []string
	for _, p := range pods.Items {
		ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		indexes = append(indexes, ix)
		if p.Labels[batchv1.JobCompletionIndexAnnotation] != ix || p.Spec.Hostname != "idx-"+ix || !strings.HasPrefix(p.Name, "idx-"+ix+"-") {
			t.Errorf("pod %s: index %q label %q hostname %q", p.Name, ix, p.Labels[batchv1.JobCompletionIndexAnnotation], p.Spec.Hostname)
		}
		env := p.Spec.Containers[0].Env
		if len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" || env[0].ValueFrom == nil || env[0].ValueFrom.FieldRef == nil {
			t.Errorf("pod %s env = %+v", p.Name, env)
		}
	}
	slices.Sort(indexes)
	if fmt.Sprint(indexes) != "[0 1 2 3]" {
		t.Errorf("indexes of pods = %v, want each of 0..3 once", indexes)
	}
}

func TestJobBackoffLimitExceeded(t *testing.T) {
	t.Parallel()
	c := newBatchCluster(t, "backoff", 2, func(cfg *config.Server) { cfg.JobBackoff = 50 * time.Millisecond })
	ctx := ctxT(t)
	j := newJob(c.ns, "fails", 1, 1, "sh", "-c", "exit 1")
	limit := int32(2)
	j.Spec.BackoffLimit = &limit
	if _, err := c.cs.BatchV1().Jobs(c.ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j = waitJobCondition(t, ctx, c.cs, c.ns, "fails", batchv1.JobFailed)
	f := jobCondition(j, batchv1.JobFailed)
	if f.Reason != "BackoffLimitExceeded" || f.Message != "Job has reached the specified backoff limit" {
		t.Errorf("Failed condition = %+v", f)
	}
	if ft := jobCondition(j, batchv1.JobFailureTarget); ft == nil || ft.Reason != "BackoffLimitExceeded" {
		t.Errorf("FailureTarget = %+v", ft)
	}
	if j.Status.Failed != 3 || j.Status.Succeeded != 0 || j.Status.Active != 0 || j.Status.CompletionTime != nil {
		t.Errorf("status = %+v, want 3 failed", j.Status)
	}
	eventually(t, wait, "BackoffLimitExceeded event", func() (bool, error) {
		return hasEvent(ctx, c.cs, c.ns, "fails", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
	})
	out, _ := kubectl(t, c.srv, false, "-n", c.ns, "get", "job", "fails", "--no-headers")
	if fs := strings.Fields(out); len(fs) < 3 || fs[1] != "Failed" || fs[2] != "0/1" {
		t.Errorf("kubectl get job: %q", out)
	}
}

func TestJobActiveDeadline(t *testing.T) {
	t.Parallel()
	c := newBatchCluster(t, "deadline", 2, nil)
	ctx := ctxT(t)
	j := newJob(c.ns, "slow", 2, 2) // no command: runs until deleted
	ads := int64(2)
	j.Spec.ActiveDeadlineSeconds = &ads
	if _, err := c.cs.BatchV1().Jobs(c.ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "2 running pods", func() (bool, error) {
		got, err := c.cs.BatchV1().Jobs(c.ns).Get(ctx, "slow", metav1.GetOptions{})
		return err == nil && got.Status.Active == 2 && got.Status.Ready != nil && *got.Status.Ready == 2, err
	})
	j = waitJobCondition(t, ctx, c.cs, c.ns, "slow", batchv1.JobFailed)
	if f := jobCondition(j, batchv1.JobFailed); f.Reason != "DeadlineExceeded" || f.Message != "Job was active longer than specified deadline" {
		t.Errorf("Failed condition = %+v", f)
	}
	if j.Status.Active != 0 || j.Status.Terminating == nil || *j.Status.Terminating != 0 {
		t.Errorf("status = %+v", j.Status)
	}
	eventually(t, wait, "pods stopped", func() (bool, error) {
		pods, err := activePods(ctx, c.cs, c.ns, "")
		return err == nil && len(pods) == 0, fmt.Errorf("active pods: %s", describePods(pods))
	})
}

func TestJobPodFailurePolicyAndTTL(t *testing.T) {
	t.Parallel()
	c := newBatchCluster(t, "policy", 2, nil)
	ctx := ctxT(t)
	j := newJob(c.ns, "policy", 3, 1, "sh", "-c", "exit 42")
	ttl := int32(0)
	j.Spec.TTLSecondsAfterFinished = &ttl
	j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
		Action:      batchv1.PodFailurePolicyActionFailJob,
		OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
	}}}
	created, err := c.cs.BatchV1().Jobs(c.ns).Create(ctx, j, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The Job fails on the first pod, then the TTL controller deletes it
	// and the garbage collector its pod.
	var reason, message string
	eventually(t, batchWait, "job failed by policy, then deleted", func() (bool, error) {
		got, err := c.cs.BatchV1().Jobs(c.ns).Get(ctx, "policy", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if f := jobCondition(got, batchv1.JobFailed); f != nil {
			reason, message = f.Reason, f.Message
		}
		return false, fmt.Errorf("status %+v", got.Status)
	})
	if reason != "" && (reason != "PodFailurePolicy" || !strings.Contains(message, "failed with exit code 42 matching FailJob rule at index 0")) {
		t.Errorf("Failed condition reason %q message %q", reason, message)
	}
	eventually(t, wait, "PodFailurePolicy event", func() (bool, error) {
		return hasEvent(ctx, c.cs, c.ns, "policy", "PodFailurePolicy", "failed with exit code 42 matching FailJob rule at index 0")
	})
	eventually(t, wait, "pods of the deleted job gone", func() (bool, error) {
		pods, err := c.cs.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/controller-uid=" + string(created.UID)})
		return err == nil && len(pods.Items) == 0, err
	})
}
