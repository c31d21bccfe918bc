package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// syncState is what one sync knows about a Job.
type syncState struct {
	key  string
	job  *batchv1.Job // working copy; its status is what gets written
	pods []*corev1.Pod
	now  metav1.Time
	// completed holds an Indexed Job's succeeded indexes.
	completed indexSet
	// requeue is the earliest delay after which the Job must be synced
	// again (0: none).
	requeue time.Duration
}

func (s *syncState) requeueAfter(d time.Duration) {
	if d > 0 && (s.requeue == 0 || d < s.requeue) {
		s.requeue = d
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("job key %q: %w", key, err)
	}
	cached, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expectations.Forget(key)
		c.backoffs.forget(key)
		return c.releaseOrphans(ctx, ns, name, "")
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if err := c.releaseOrphans(ctx, ns, name, cached.UID); err != nil {
		return err
	}
	pods, err := c.podsOf(cached)
	if err != nil {
		return err
	}
	if isFinished(&cached.Status) || cached.DeletionTimestamp != nil {
		// Nothing more will be counted: let every pod go.
		return c.releaseAll(ctx, key, pods)
	}
	s := &syncState{key: key, job: cached.DeepCopy(), pods: pods, now: metav1.NewTime(c.clock.Now())}
	if isIndexed(s.job) {
		s.completed = parseIndexes(s.job.Status.CompletedIndexes, completions(s.job))
	}
	if err := c.trackFinishedPods(ctx, s); err != nil {
		return err
	}
	if err := c.reconcile(ctx, s); err != nil {
		return err
	}
	if !equality.Semantic.DeepEqual(s.job.Status, cached.Status) {
		if _, err := c.client.BatchV1().Jobs(ns).UpdateStatus(ctx, s.job, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of job %s: %w", key, err)
		}
	}
	if s.requeue > 0 {
		c.enqueueAfter(key, s.requeue)
	}
	return nil
}

// podsOf returns the pods job controls.
func (c *Controller) podsOf(job *batchv1.Job) ([]*corev1.Pod, error) {
	all, err := c.pods.Pods(job.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods of job %s/%s: %w", job.Namespace, job.Name, err)
	}
	var out []*corev1.Pod
	for _, p := range all {
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == job.UID {
			out = append(out, p)
		}
	}
	return out, nil
}

// releaseOrphans removes the tracking finalizer from pods that name a Job
// called name as controller but not the one with uid ("" when no such Job
// exists): their Job is gone and nobody will count them.
func (c *Controller) releaseOrphans(ctx context.Context, ns, name string, uid types.UID) error {
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list pods in %s: %w", ns, err)
	}
	var errs []error
	for _, p := range all {
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.Kind != "Job" || ref.Name != name || ref.UID == uid || !hasFinalizer(p) {
			continue
		}
		errs = append(errs, c.podControl.removeFinalizer(ctx, p.Namespace, p.Name, p.UID))
	}
	return errors.Join(errs...)
}

// releaseAll removes the tracking finalizer from every pod of a finished
// or deleted Job.
func (c *Controller) releaseAll(ctx context.Context, key string, pods []*corev1.Pod) error {
	var errs []error
	for _, p := range pods {
		if hasFinalizer(p) && !c.isReleased(key, p.UID) {
			if err := c.podControl.removeFinalizer(ctx, p.Namespace, p.Name, p.UID); err != nil {
				errs = append(errs, err)
				continue
			}
			c.markReleased(key, p.UID)
		}
	}
	return errors.Join(errs...)
}

// trackFinishedPods counts the pods that finished since the last sync
// with upstream's protocol: record them in uncountedTerminatedPods (or, for
// an Indexed Job's successes, in completedIndexes) and write the status,
// then remove their finalizers, then move them into the counters.
func (c *Controller) trackFinishedPods(ctx context.Context, s *syncState) error {
	job, st := s.job, &s.job.Status
	if st.UncountedTerminatedPods == nil {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	unc := st.UncountedTerminatedPods
	indexed := isIndexed(job)
	var (
		release    []*corev1.Pod
		newlyDone  []finishedPod
		policyFail *policyMatch
		flush      bool
	)
	for _, p := range s.pods {
		if !hasFinalizer(p) || c.isReleased(s.key, p.UID) {
			continue
		}
		counted := slices.Contains(unc.Succeeded, p.UID) || slices.Contains(unc.Failed, p.UID)
		switch {
		case counted:
			release = append(release, p)
		case p.Status.Phase == corev1.PodSucceeded:
			release = append(release, p)
			if indexed {
				ix := completionIndex(p)
				if ix < 0 || ix >= completions(job) || s.completed[ix] {
					continue
				}
				s.completed[ix] = true
				st.CompletedIndexes = s.completed.String()
			} else {
				unc.Succeeded = append(unc.Succeeded, p.UID)
			}
			flush = true
			newlyDone = append(newlyDone, finishedPod{at: finishTime(p, s.now.Time)})
		case isFailed(job, p):
			release = append(release, p)
			if job.Spec.Suspend != nil && *job.Spec.Suspend {
				continue // deleted because the Job is suspended: not a failure
			}
			m := matchFailurePolicy(job, p)
			if m != nil && m.action == batchv1.PodFailurePolicyActionIgnore {
				continue
			}
			if m != nil && m.action == batchv1.PodFailurePolicyActionFailJob && policyFail == nil {
				policyFail = m
			}
			unc.Failed = append(unc.Failed, p.UID)
			flush = true
			newlyDone = append(newlyDone, finishedPod{at: finishTime(p, s.now.Time), failed: true})
		}
	}
	if policyFail != nil && findCondition(st, batchv1.JobFailureTarget) == nil && findCondition(st, batchv1.JobSuccessCriteriaMet) == nil {
		setCondition(st, batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonPodFailurePolicy, policyFail.message, s.now, false)
		flush = true
	}
	if flush {
		updated, err := c.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("record finished pods of job %s: %w", s.key, err)
		}
		c.backoffs.observe(s.key, newlyDone)
		s.job = updated.DeepCopy()
		st = &s.job.Status
		if st.UncountedTerminatedPods == nil {
			st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
		}
		unc = st.UncountedTerminatedPods
	}
	var errs []error
	for _, p := range release {
		if err := c.podControl.removeFinalizer(ctx, p.Namespace, p.Name, p.UID); err != nil {
			errs = append(errs, err)
			continue
		}
		c.markReleased(s.key, p.UID)
	}
	// Move into the counters every uncounted pod that is no longer held.
	held := map[types.UID]bool{}
	for _, p := range s.pods {
		if hasFinalizer(p) && !c.isReleased(s.key, p.UID) {
			held[p.UID] = true
		}
	}
	keep := func(uids []types.UID, counter *int32) []types.UID {
		var out []types.UID
		for _, u := range uids {
			if held[u] {
				out = append(out, u)
			} else {
				*counter++
			}
		}
		return out
	}
	unc.Succeeded = keep(unc.Succeeded, &st.Succeeded)
	unc.Failed = keep(unc.Failed, &st.Failed)
	if indexed {
		st.Succeeded = int32(len(s.completed))
	}
	return errors.Join(errs...)
}

// reconcile decides whether the Job has met its success or failure
// criteria, creates and deletes pods, and fills in the status.
func (c *Controller) reconcile(ctx context.Context, s *syncState) error {
	job, st := s.job, &s.job.Status
	var active, terminating []*corev1.Pod
	for _, p := range s.pods {
		switch {
		case isActive(p):
			active = append(active, p)
		case isTerminating(p):
			terminating = append(terminating, p)
		}
	}
	deleted, created, err := 0, 0, error(nil)
	switch target := c.finishTarget(s, active); {
	case target != nil:
		if findCondition(st, target.Type) == nil {
			setCondition(st, target.Type, corev1.ConditionTrue, target.Reason, target.Message, s.now, false)
		}
		deleted, err = c.deletePods(ctx, s, active)
		uncounted := st.UncountedTerminatedPods != nil && len(st.UncountedTerminatedPods.Succeeded)+len(st.UncountedTerminatedPods.Failed) > 0
		if len(active) == 0 && len(terminating) == 0 && !uncounted {
			c.finish(s, target)
		}
	case job.Spec.Suspend != nil && *job.Spec.Suspend:
		if setCondition(st, batchv1.JobSuspended, corev1.ConditionTrue, reasonSuspended, "Job suspended", s.now, false) {
			c.recorder.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
		}
		deleted, err = c.deletePods(ctx, s, active)
	default:
		if setCondition(st, batchv1.JobSuspended, corev1.ConditionFalse, reasonResumed, "Job resumed", s.now, true) {
			c.recorder.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
			st.StartTime = &s.now
		}
		if st.StartTime == nil {
			st.StartTime = &s.now
		}
		if job.Spec.ActiveDeadlineSeconds != nil {
			left := st.StartTime.Add(time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second).Sub(s.now.Time)
			s.requeueAfter(left)
		}
		deleted, created, err = c.manage(ctx, s, active, len(terminating))
	}
	ready := int32(0)
	for _, p := range active {
		if isReady(p) {
			ready++
		}
	}
	st.Active = int32(len(active) - deleted + created)
	st.Ready = &ready
	nTerm := int32(len(terminating) + deleted)
	st.Terminating = &nTerm
	if st.UncountedTerminatedPods != nil && len(st.UncountedTerminatedPods.Succeeded) == 0 && len(st.UncountedTerminatedPods.Failed) == 0 {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	return err
}

// finishTarget returns the SuccessCriteriaMet or FailureTarget condition
// the Job has or now meets, or nil while it runs on.
func (c *Controller) finishTarget(s *syncState, active []*corev1.Pod) *batchv1.JobCondition {
	job, st := s.job, &s.job.Status
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobSuccessCriteriaMet} {
		if cond := findCondition(st, t); cond != nil && cond.Status == corev1.ConditionTrue {
			return cond
		}
	}
	failed := st.Failed
	if st.UncountedTerminatedPods != nil {
		failed += int32(len(st.UncountedTerminatedPods.Failed))
	}
	limit := int32(6)
	if job.Spec.BackoffLimit != nil {
		limit = *job.Spec.BackoffLimit
	}
	onFailure := job.Spec.Template.Spec.RestartPolicy == corev1.RestartPolicyOnFailure
	pastRestarts := onFailure && ((limit == 0 && restarts(active) > 0) || (limit > 0 && restarts(active) >= limit))
	if failed > limit || pastRestarts {
		return &batchv1.JobCondition{Type: batchv1.JobFailureTarget, Reason: batchv1.JobReasonBackoffLimitExceeded, Message: msgBackoffLimitExceeded}
	}
	if ads := job.Spec.ActiveDeadlineSeconds; ads != nil && st.StartTime != nil && !(job.Spec.Suspend != nil && *job.Spec.Suspend) {
		if !s.now.Time.Before(st.StartTime.Add(time.Duration(*ads) * time.Second)) {
			return &batchv1.JobCondition{Type: batchv1.JobFailureTarget, Reason: batchv1.JobReasonDeadlineExceeded, Message: msgDeadlineExceeded}
		}
	}
	succeeded := st.Succeeded
	if st.UncountedTerminatedPods != nil {
		succeeded += int32(len(st.UncountedTerminatedPods.Succeeded))
	}
	var done bool
	switch {
	case isIndexed(job):
		done = len(s.completed) >= completions(job)
	case job.Spec.Completions != nil:
		done = succeeded >= *job.Spec.Completions
	default:
		done = succeeded > 0 && len(active) == 0
	}
	if done {
		return &batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Reason: reasonCompletionsReached, Message: msgCompletionsReached}
	}
	return nil
}

// finish adds the terminal condition that target announced.
func (c *Controller) finish(s *syncState, target *batchv1.JobCondition) {
	st := &s.job.Status
	if target.Type == batchv1.JobSuccessCriteriaMet {
		setCondition(st, batchv1.JobComplete, corev1.ConditionTrue, target.Reason, target.Message, s.now, false)
		st.CompletionTime = &s.now
		c.recorder.Event(s.job, corev1.EventTypeNormal, "Completed", "Job completed")
		return
	}
	setCondition(st, batchv1.JobFailed, corev1.ConditionTrue, target.Reason, target.Message, s.now, false)
	c.recorder.Event(s.job, corev1.EventTypeWarning, target.Reason, target.Message)
}

// deletePods deletes pods and returns how many it deleted.
func (c *Controller) deletePods(ctx context.Context, s *syncState, pods []*corev1.Pod) (int, error) {
	if len(pods) == 0 {
		return 0, nil
	}
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = podKey(p)
	}
	c.expectations.ExpectDeletions(s.key, keys)
	var errs []error
	n := 0
	for _, p := range pods {
		if err := c.podControl.deletePod(ctx, s.job, p.Namespace, p.Name); err != nil {
			c.expectations.DeletionObserved(s.key, podKey(p))
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

// completions returns spec.completions, or 0 when unset.
func completions(job *batchv1.Job) int {
	if job.Spec.Completions == nil {
		return 0
	}
	return int(*job.Spec.Completions)
}
