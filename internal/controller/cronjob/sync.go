package cronjob

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

// ScheduledTimestampAnnotation records on a created Job the time it was
// scheduled for, in the CronJob's time zone (upstream's annotation).
const ScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// maxMissed is how many missed schedule times upstream tolerates silently.
const maxMissed = 100

// nextSlack is added to a wake-up so that it lands after the schedule
// time rather than on it (upstream's 100ms).
const nextSlack = 100 * time.Millisecond

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("cronjob key %q: %w", key, err)
	}
	cached, err := c.cronJobs.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.cancelWake(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get cronjob %s: %w", key, err)
	}
	cj := cached.DeepCopy()
	all, err := c.jobs.Jobs(ns).List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list jobs of cronjob %s: %w", key, err)
	}
	var children []*batchv1.Job
	for _, j := range all {
		if ref := metav1.GetControllerOf(j); ref != nil && ref.UID == cj.UID {
			children = append(children, j)
		}
	}
	wake, syncErr := c.syncCronJob(ctx, cj, children)
	cleanErr := c.cleanupHistory(ctx, cj, children)
	if !equality.Semantic.DeepEqual(cj.Status, cached.Status) {
		if _, err := c.client.BatchV1().CronJobs(ns).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil {
			return errors.Join(syncErr, fmt.Errorf("update status of cronjob %s: %w", key, err))
		}
	}
	if wake != nil {
		c.wakeAfter(key, *wake)
	} else {
		c.cancelWake(key)
	}
	return errors.Join(syncErr, cleanErr)
}

// syncCronJob updates cj's status from its Jobs and starts the Job due
// now, if any; it returns when to sync again (nil: only on a change).
func (c *Controller) syncCronJob(ctx context.Context, cj *batchv1.CronJob, children []*batchv1.Job) (*time.Duration, error) {
	byUID := map[types.UID]*batchv1.Job{}
	for _, j := range children {
		byUID[j.UID] = j
		inActive := slices.ContainsFunc(cj.Status.Active, func(r corev1.ObjectReference) bool { return r.UID == j.UID })
		finished, cond := finishedCondition(j)
		switch {
		case !inActive && !finished:
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
		case inActive && finished:
			removeActive(cj, j.UID)
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, cond)
		}
		if cond == batchv1.JobComplete && j.Status.CompletionTime != nil {
			if cj.Status.LastSuccessfulTime == nil || j.Status.CompletionTime.After(cj.Status.LastSuccessfulTime.Time) {
				t := *j.Status.CompletionTime
				cj.Status.LastSuccessfulTime = &t
			}
		}
	}
	// Active Jobs the cache does not show may be too new for it: ask the
	// API before forgetting them.
	for _, ref := range slices.Clone(cj.Status.Active) {
		if byUID[ref.UID] != nil {
			continue
		}
		j, err := c.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) || (err == nil && j.UID != ref.UID):
			removeActive(cj, ref.UID)
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
		case err != nil:
			return nil, fmt.Errorf("get job %s/%s: %w", ref.Namespace, ref.Name, err)
		}
	}
	if cj.DeletionTimestamp != nil {
		return nil, nil
	}
	loc := time.Local
	if cj.Spec.TimeZone != nil {
		var err error
		if loc, err = time.LoadLocation(*cj.Spec.TimeZone); err != nil {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *cj.Spec.TimeZone, err)
			return nil, nil
		}
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return nil, nil
	}
	sched, err := ParseSchedule(cj.Spec.Schedule)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return nil, nil
	}
	now := c.clock.Now().In(loc)
	scheduled, missed := mostRecentScheduleTime(cj, now, sched)
	if missed > maxMissed {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
	}
	next := nextWake(sched, now)
	if scheduled == nil {
		return next, nil
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return next, nil
	}
	name := JobName(cj.Name, *scheduled)
	if slices.ContainsFunc(cj.Status.Active, func(r corev1.ObjectReference) bool { return r.Name == name }) ||
		(cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Equal(&metav1.Time{Time: *scheduled})) {
		return next, nil // already started
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return next, nil
		}
	case batchv1.ReplaceConcurrent:
		for _, ref := range slices.Clone(cj.Status.Active) {
			if err := c.deleteJob(ctx, cj, ref.Namespace, ref.Name); err != nil {
				return nil, err
			}
			removeActive(cj, ref.UID)
		}
	}
	job := jobFromTemplate(cj, *scheduled, name)
	created, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, err
	case apierrors.IsAlreadyExists(err):
		// Another actor (or an earlier sync) made it; its status update
		// will follow.
		return next, nil
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return nil, fmt.Errorf("create job %s/%s: %w", cj.Namespace, name, err)
	}
	c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
	cj.Status.Active = append(cj.Status.Active, corev1.ObjectReference{
		Kind: "Job", Namespace: created.Namespace, Name: created.Name, UID: created.UID,
		APIVersion: batchv1.SchemeGroupVersion.String(), ResourceVersion: created.ResourceVersion,
	})
	cj.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
	return next, nil
}

// JobName is the name of the Job cronJob starts for scheduled: the
// CronJob's name and the scheduled time in minutes since the epoch.
func JobName(cronJob string, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cronJob, scheduled.Unix()/60)
}

// mostRecentScheduleTime returns the latest schedule time in (earliest,
// now], where earliest is lastScheduleTime or the creation time, moved up
// to now-startingDeadlineSeconds; and how many schedule times were missed
// in that span (counting stops just past maxMissed).
func mostRecentScheduleTime(cj *batchv1.CronJob, now time.Time, sched Schedule) (*time.Time, int) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		if limit := now.Add(-time.Duration(*d) * time.Second); limit.After(earliest) {
			earliest = limit
		}
	}
	earliest = earliest.In(now.Location())
	var last *time.Time
	missed := 0
	t := sched.Next(earliest)
	for !t.IsZero() && !t.After(now) {
		tt := t
		last = &tt
		missed++
		if missed > maxMissed {
			// Jump straight to the latest time instead of walking every one.
			if p := sched.Next(t).Sub(t); p > 0 {
				skip := now.Sub(t) / p
				if skip > 1 {
					missed += int(skip) - 1
					t = t.Add((skip - 1) * p)
				}
			}
		}
		t = sched.Next(t)
	}
	return last, missed
}

// nextWake returns the delay until just after the next schedule time.
func nextWake(sched Schedule, now time.Time) *time.Duration {
	t := sched.Next(now)
	if t.IsZero() {
		return nil
	}
	d := t.Sub(now) + nextSlack
	return &d
}

// jobFromTemplate builds the Job cj starts for scheduled.
func jobFromTemplate(cj *batchv1.CronJob, scheduled time.Time, name string) *batchv1.Job {
	t := cj.Spec.JobTemplate.DeepCopy()
	isController := true
	ann := t.Annotations
	if ann == nil {
		ann = map[string]string{}
	}
	ann[ScheduledTimestampAnnotation] = scheduled.Format(time.RFC3339)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: cj.Namespace, Labels: t.Labels, Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "CronJob", Name: cj.Name, UID: cj.UID,
				Controller: &isController, BlockOwnerDeletion: &isController,
			}},
		},
		Spec: t.Spec,
	}
}

// deleteJob deletes a Job and its pods (background propagation).
func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, ns, name string) error {
	bg := metav1.DeletePropagationBackground
	err := c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		return fmt.Errorf("delete job %s/%s: %w", ns, name, err)
	}
	c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", name)
	return nil
}

// cleanupHistory deletes the oldest finished Jobs beyond the successful
// and failed history limits (defaults 3 and 1).
func (c *Controller) cleanupHistory(ctx context.Context, cj *batchv1.CronJob, children []*batchv1.Job) error {
	if cj.DeletionTimestamp != nil {
		return nil
	}
	var ok, failed []*batchv1.Job
	for _, j := range children {
		switch _, cond := finishedCondition(j); cond {
		case batchv1.JobComplete:
			ok = append(ok, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	limitOK, limitFailed := int32(3), int32(1)
	if cj.Spec.SuccessfulJobsHistoryLimit != nil {
		limitOK = *cj.Spec.SuccessfulJobsHistoryLimit
	}
	if cj.Spec.FailedJobsHistoryLimit != nil {
		limitFailed = *cj.Spec.FailedJobsHistoryLimit
	}
	var errs []error
	for _, group := range []struct {
		jobs  []*batchv1.Job
		limit int32
	}{{ok, limitOK}, {failed, limitFailed}} {
		if int32(len(group.jobs)) <= group.limit {
			continue
		}
		slices.SortFunc(group.jobs, byStartTime)
		for _, j := range group.jobs[:int32(len(group.jobs))-group.limit] {
			if err := c.deleteJob(ctx, cj, j.Namespace, j.Name); err != nil {
				errs = append(errs, err)
				continue
			}
			removeActive(cj, j.UID)
		}
	}
	return errors.Join(errs...)
}

// byStartTime orders Jobs by start time (unstarted last), then name.
func byStartTime(a, b *batchv1.Job) int {
	switch {
	case a.Status.StartTime == nil && b.Status.StartTime == nil:
	case a.Status.StartTime == nil:
		return 1
	case b.Status.StartTime == nil:
		return -1
	case !a.Status.StartTime.Equal(b.Status.StartTime):
		return a.Status.StartTime.Compare(b.Status.StartTime.Time)
	}
	if a.Name < b.Name {
		return -1
	}
	if a.Name > b.Name {
		return 1
	}
	return 0
}

// finishedCondition reports whether j is finished and with which
// condition (Complete or Failed).
func finishedCondition(j *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true, c.Type
		}
	}
	return false, ""
}

func removeActive(cj *batchv1.CronJob, uid types.UID) {
	cj.Status.Active = slices.DeleteFunc(cj.Status.Active, func(r corev1.ObjectReference) bool { return r.UID == uid })
}
