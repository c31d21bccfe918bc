//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/controller/cronjob"
)

// newCronCluster starts a cluster whose CronJob controller runs on a fake
// clock set to now.
func newCronCluster(t *testing.T, ns string) (*workloadCluster, *clocktesting.FakeClock) {
	t.Helper()
	fc := clocktesting.NewFakeClock(time.Now())
	c := newBatchCluster(t, ns, 2, func(cfg *config.Server) { cfg.ControllerClock = fc })
	return c, fc
}

// newCronJob returns an every-minute CronJob whose pods run command (none:
// until deleted).
func newCronJob(ns, name string, policy batchv1.ConcurrencyPolicy, command ...string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.CronJobSpec{
			Schedule:          "* * * * *",
			ConcurrencyPolicy: policy,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "tick", Image: "busybox", Command: command}},
			}}}},
		},
	}
}

// liveJobs returns the names of the Jobs in ns that are not being deleted.
func liveJobs(ctx context.Context, c *workloadCluster) ([]string, error) {
	l, err := c.cs.BatchV1().Jobs(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, j := range l.Items {
		if j.DeletionTimestamp == nil {
			out = append(out, j.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// waitJobs waits until the live Jobs of ns are exactly want and the
// CronJob's status.active names exactly active.
func waitJobs(t *testing.T, ctx context.Context, c *workloadCluster, cj string, want, active []string) *batchv1.CronJob {
	t.Helper()
	var got *batchv1.CronJob
	eventually(t, wait, fmt.Sprintf("jobs %v, active %v", want, active), func() (bool, error) {
		names, err := liveJobs(ctx, c)
		if err != nil {
			return false, err
		}
		if got, err = c.cs.BatchV1().CronJobs(c.ns).Get(ctx, cj, metav1.GetOptions{}); err != nil {
			return false, err
		}
		var act []string
		for _, r := range got.Status.Active {
			act = append(act, r.Name)
		}
		slices.Sort(act)
		return slices.Equal(names, want) && slices.Equal(act, active), fmt.Errorf("jobs %v, active %v", names, act)
	})
	return got
}

// minuteAfter returns the first whole minute after t.
func minuteAfter(t time.Time) time.Time { return t.Truncate(time.Minute).Add(time.Minute) }

func TestCronJobForbid(t *testing.T) {
	t.Parallel()
	c, fc := newCronCluster(t, "forbid")
	ctx := ctxT(t)
	cj, err := c.cs.BatchV1().CronJobs(c.ns).Create(ctx, newCronJob(c.ns, "tick", batchv1.ForbidConcurrent), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := minuteAfter(cj.CreationTimestamp.Time)
	fc.SetTime(first.Add(time.Second))
	j1 := cronjob.JobName("tick", first)
	got := waitJobs(t, ctx, c, "tick", []string{j1}, []string{j1})
	if got.Status.LastScheduleTime == nil || !got.Status.LastScheduleTime.Time.Equal(first) {
		t.Errorf("lastScheduleTime = %v, want %v", got.Status.LastScheduleTime, first)
	}
	if want := fmt.Sprintf("tick-%d", first.Unix()/60); j1 != want {
		t.Errorf("job name %q, want %q", j1, want)
	}
	job, err := c.cs.BatchV1().Jobs(c.ns).Get(ctx, j1, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(job); ref == nil || ref.Kind != "CronJob" || ref.UID != cj.UID {
		t.Errorf("job owner = %+v", job.OwnerReferences)
	}
	if job.Annotations[cronjob.ScheduledTimestampAnnotation] == "" {
		t.Errorf("job annotations = %v", job.Annotations)
	}

	// The next minute passes while the first Job still runs: Forbid skips it.
	second := first.Add(time.Minute)
	fc.SetTime(second.Add(time.Second))
	eventually(t, wait, "JobAlreadyActive event", func() (bool, error) {
		return hasEvent(ctx, c.cs, c.ns, "tick", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
	})
	waitJobs(t, ctx, c, "tick", []string{j1}, []string{j1})

	// Once the running Job is gone, the skipped start is made up for.
	if err := c.cs.BatchV1().Jobs(c.ns).Delete(ctx, j1, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	j2 := cronjob.JobName("tick", second)
	got = waitJobs(t, ctx, c, "tick", []string{j2}, []string{j2})
	if !got.Status.LastScheduleTime.Time.Equal(second) {
		t.Errorf("lastScheduleTime = %v, want %v", got.Status.LastScheduleTime, second)
	}
}

func TestCronJobReplace(t *testing.T) {
	t.Parallel()
	c, fc := newCronCluster(t, "replace")
	ctx := ctxT(t)
	cj, err := c.cs.BatchV1().CronJobs(c.ns).Create(ctx, newCronJob(c.ns, "tick", batchv1.ReplaceConcurrent), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := minuteAfter(cj.CreationTimestamp.Time)
	fc.SetTime(first.Add(time.Second))
	j1 := cronjob.JobName("tick", first)
	waitJobs(t, ctx, c, "tick", []string{j1}, []string{j1})
	eventually(t, wait, "first job running", func() (bool, error) {
		j, err := c.cs.BatchV1().Jobs(c.ns).Get(ctx, j1, metav1.GetOptions{})
		return err == nil && j.Status.Active == 1, err
	})

	second := first.Add(time.Minute)
	fc.SetTime(second.Add(time.Second))
	j2 := cronjob.JobName("tick", second)
	waitJobs(t, ctx, c, "tick", []string{j2}, []string{j2})
	eventually(t, wait, "SuccessfulDelete event", func() (bool, error) {
		return hasEvent(ctx, c.cs, c.ns, "tick", "SuccessfulDelete", "Deleted job "+j1)
	})
	// The replaced Job's pod goes away with it.
	eventually(t, wait, "replaced job and its pods gone", func() (bool, error) {
		pods, err := c.cs.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + j1})
		if err != nil {
			return false, err
		}
		_, jerr := c.cs.BatchV1().Jobs(c.ns).Get(ctx, j1, metav1.GetOptions{})
		return len(pods.Items) == 0 && jerr != nil, fmt.Errorf("pods %s, job err %v", describePods(pods.Items), jerr)
	})
}

func TestCronJobCreateJobFrom(t *testing.T) {
	t.Parallel()
	c, fc := newCronCluster(t, "manual")
	ctx := ctxT(t)
	cj := newCronJob(c.ns, "report", batchv1.ForbidConcurrent, "true")
	suspend := true
	cj.Spec.Suspend = &suspend
	cj, err := c.cs.BatchV1().CronJobs(c.ns).Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := kubectl(t, c.srv, false, "-n", c.ns, "create", "job", "by-hand", "--from=cronjob/report")
	if !strings.Contains(out, "job.batch/by-hand created") {
		t.Errorf("kubectl create job: %q", out)
	}
	j := waitJobCondition(t, ctx, c.cs, c.ns, "by-hand", batchv1.JobComplete)
	if j.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" {
		t.Errorf("annotations = %v", j.Annotations)
	}
	if ref := metav1.GetControllerOf(j); ref == nil || ref.UID != cj.UID {
		t.Errorf("owner = %+v", j.OwnerReferences)
	}
	// A suspended CronJob starts nothing on its own, however much time
	// passes; the manual Job counts for lastSuccessfulTime.
	fc.SetTime(minuteAfter(cj.CreationTimestamp.Time).Add(3 * time.Minute))
	eventually(t, wait, "lastSuccessfulTime", func() (bool, error) {
		got, err := c.cs.BatchV1().CronJobs(c.ns).Get(ctx, "report", metav1.GetOptions{})
		return err == nil && got.Status.LastSuccessfulTime != nil, err
	})
	names, err := liveJobs(ctx, c)
	if err != nil || !slices.Equal(names, []string{"by-hand"}) {
		t.Errorf("jobs = %v (%v), want only by-hand", names, err)
	}
	got, err := c.cs.BatchV1().CronJobs(c.ns).Get(ctx, "report", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.LastScheduleTime != nil || len(got.Status.Active) != 0 {
		t.Errorf("status = %+v", got.Status)
	}
}
