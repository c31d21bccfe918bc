package cronjob

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type fixture struct {
	t        *testing.T
	client   *fake.Clientset
	clock    *clocktesting.FakeClock
	recorder *record.FakeRecorder
	c        *Controller
}

func newFixture(t *testing.T, now time.Time, objs ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{t: t, client: fake.NewClientset(objs...), clock: clocktesting.NewFakeClock(now), recorder: record.NewFakeRecorder(100)}
	factory := informers.NewSharedInformerFactory(f.client, 0)
	c, err := New(Config{Client: f.client, CronJobs: factory.Batch().V1().CronJobs(), Jobs: factory.Batch().V1().Jobs(),
		Recorder: f.recorder, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	for _, o := range objs {
		switch o := o.(type) {
		case *batchv1.CronJob:
			_ = factory.Batch().V1().CronJobs().Informer().GetIndexer().Add(o)
		case *batchv1.Job:
			_ = factory.Batch().V1().Jobs().Informer().GetIndexer().Add(o)
		}
	}
	return f
}

func (f *fixture) sync() {
	f.t.Helper()
	if err := f.c.sync(context.Background(), "ns/cj"); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) cronJob() *batchv1.CronJob {
	f.t.Helper()
	cj, err := f.client.BatchV1().CronJobs("ns").Get(context.Background(), "cj", metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return cj
}

func (f *fixture) jobNames() []string {
	f.t.Helper()
	l, err := f.client.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, j := range l.Items {
		out = append(out, j.Name)
	}
	slices.Sort(out)
	return out
}

func (f *fixture) events() string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return strings.Join(out, "\n")
		}
	}
}

func newCronJob(policy batchv1.ConcurrencyPolicy) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "cj", Namespace: "ns", UID: "cj-uid", CreationTimestamp: metav1.NewTime(t0.Add(-30 * time.Second))},
		Spec: batchv1.CronJobSpec{
			Schedule: "* * * * *", ConcurrencyPolicy: policy,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "tick"}},
				Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever}}},
			},
		},
	}
}

// childJob is a Job cj started for scheduled; finished is "", "Complete"
// or "Failed".
func childJob(cj *batchv1.CronJob, scheduled time.Time, finished batchv1.JobConditionType) *batchv1.Job {
	j := jobFromTemplate(cj, scheduled, JobName(cj.Name, scheduled))
	j.UID = types.UID(j.Name)
	j.Status.StartTime = &metav1.Time{Time: scheduled}
	if finished != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: finished, Status: corev1.ConditionTrue}}
		if finished == batchv1.JobComplete {
			j.Status.CompletionTime = &metav1.Time{Time: scheduled.Add(10 * time.Second)}
		}
	}
	return j
}

func activeRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Job", Namespace: j.Namespace, Name: j.Name, UID: j.UID}
}

func TestSyncStartsJobAtScheduleTime(t *testing.T) {
	cj := newCronJob(batchv1.AllowConcurrent)
	f := newFixture(t, t0.Add(-10*time.Second), cj)
	f.sync()
	if got := f.jobNames(); len(got) != 0 {
		t.Fatalf("jobs before the schedule time: %v", got)
	}
	f.clock.SetTime(t0.Add(5 * time.Second))
	f.sync()
	want := JobName("cj", t0)
	if diff := cmp.Diff([]string{want}, f.jobNames()); diff != "" {
		t.Fatalf("jobs (-want +got):\n%s", diff)
	}
	if want != "cj-29539320" {
		t.Errorf("job name %q, want minutes since the epoch", want)
	}
	got := f.cronJob()
	if len(got.Status.Active) != 1 || got.Status.Active[0].Name != want || !got.Status.LastScheduleTime.Time.Equal(t0) {
		t.Errorf("status = %+v", got.Status)
	}
	j, err := f.client.BatchV1().Jobs("ns").Get(context.Background(), want, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(j); ref == nil || ref.UID != cj.UID || j.Labels["app"] != "tick" ||
		j.Annotations[ScheduledTimestampAnnotation] != "2026-03-01T10:00:00Z" {
		t.Errorf("job meta = %+v", j.ObjectMeta)
	}
	if ev := f.events(); ev != "Normal SuccessfulCreate Created job "+want {
		t.Errorf("events = %q", ev)
	}
}

func TestSyncConcurrencyPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy    batchv1.ConcurrencyPolicy
		wantJobs  int
		wantEvent string
	}{
		{batchv1.AllowConcurrent, 2, "SuccessfulCreate"},
		{batchv1.ForbidConcurrent, 1, "Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid"},
		{batchv1.ReplaceConcurrent, 1, "Normal SuccessfulDelete Deleted job cj-29539320"},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			cj := newCronJob(tc.policy)
			running := childJob(cj, t0, "")
			cj.Status.Active = []corev1.ObjectReference{activeRef(running)}
			cj.Status.LastScheduleTime = &metav1.Time{Time: t0}
			f := newFixture(t, t0.Add(time.Minute+time.Second), cj, running)
			f.sync()
			names := f.jobNames()
			if len(names) != tc.wantJobs {
				t.Errorf("jobs = %v, want %d", names, tc.wantJobs)
			}
			if ev := f.events(); !strings.Contains(ev, tc.wantEvent) {
				t.Errorf("events %q, want %q", ev, tc.wantEvent)
			}
			got := f.cronJob()
			if tc.policy == batchv1.ReplaceConcurrent && (len(got.Status.Active) != 1 || got.Status.Active[0].Name != JobName("cj", t0.Add(time.Minute))) {
				t.Errorf("active = %+v", got.Status.Active)
			}
		})
	}
}

func TestSyncFinishedJobsAndHistory(t *testing.T) {
	cj := newCronJob(batchv1.AllowConcurrent)
	cj.Spec.Suspend = ptr(true)
	var objs []runtime.Object
	for i := range 5 {
		j := childJob(cj, t0.Add(time.Duration(i)*time.Minute), batchv1.JobComplete)
		cj.Status.Active = append(cj.Status.Active, activeRef(j))
		objs = append(objs, j)
	}
	for i := range 2 {
		objs = append(objs, childJob(cj, t0.Add(time.Duration(10+i)*time.Minute), batchv1.JobFailed))
	}
	f := newFixture(t, t0.Add(time.Hour), append(objs, cj)...)
	f.sync()
	want := []string{JobName("cj", t0.Add(11*time.Minute)), JobName("cj", t0.Add(2*time.Minute)),
		JobName("cj", t0.Add(3*time.Minute)), JobName("cj", t0.Add(4*time.Minute))}
	slices.Sort(want)
	if diff := cmp.Diff(want, f.jobNames()); diff != "" {
		t.Errorf("jobs kept (-want +got):\n%s", diff)
	}
	got := f.cronJob()
	if len(got.Status.Active) != 0 || !got.Status.LastSuccessfulTime.Time.Equal(t0.Add(4*time.Minute+10*time.Second)) {
		t.Errorf("status = %+v", got.Status)
	}
	if ev := f.events(); !strings.Contains(ev, "Normal SawCompletedJob Saw completed job: cj-29539320, condition: Complete") {
		t.Errorf("events = %q", ev)
	}
}

func TestSyncStartingDeadlineAndMissedTimes(t *testing.T) {
	// Created long ago and never run: over 100 missed minutes.
	cj := newCronJob(batchv1.AllowConcurrent)
	cj.CreationTimestamp = metav1.NewTime(t0.Add(-5 * time.Hour))
	f := newFixture(t, t0.Add(30*time.Second), cj)
	f.sync()
	ev := f.events()
	if !strings.Contains(ev, "Warning TooManyMissedTimes too many missed start times: 300. Set or decrease .spec.startingDeadlineSeconds or check clock skew") {
		t.Errorf("events = %q", ev)
	}
	if diff := cmp.Diff([]string{JobName("cj", t0)}, f.jobNames()); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}

	// With a deadline of 10s, a start 30s late is missed.
	cj = newCronJob(batchv1.AllowConcurrent)
	cj.Spec.StartingDeadlineSeconds = ptr(int64(10))
	cj.CreationTimestamp = metav1.NewTime(t0.Add(-30 * time.Second))
	f = newFixture(t, t0.Add(30*time.Second), cj)
	f.sync()
	if got := f.jobNames(); len(got) != 0 {
		t.Errorf("jobs = %v, want none", got)
	}
}

func TestSyncWakesAtNextScheduleTime(t *testing.T) {
	cj := newCronJob(batchv1.AllowConcurrent)
	f := newFixture(t, t0.Add(-20*time.Second), cj)
	f.sync()
	if !f.clock.HasWaiters() {
		t.Fatal("no wake-up armed")
	}
	f.clock.Step(20*time.Second + nextSlack)
	if f.c.runner.Len() != 1 {
		t.Errorf("queue length %d after the wake-up, want 1", f.c.runner.Len())
	}
}

func TestSyncMissingActiveJob(t *testing.T) {
	cj := newCronJob(batchv1.ForbidConcurrent)
	gone := childJob(cj, t0, "")
	cj.Status.Active = []corev1.ObjectReference{activeRef(gone)}
	cj.Status.LastScheduleTime = &metav1.Time{Time: t0}
	f := newFixture(t, t0.Add(time.Minute+time.Second), cj)
	f.sync()
	if ev := f.events(); !strings.Contains(ev, "Normal MissingJob Active job went missing: cj-29539320") {
		t.Errorf("events = %q", ev)
	}
	if diff := cmp.Diff([]string{JobName("cj", t0.Add(time.Minute))}, f.jobNames()); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }
