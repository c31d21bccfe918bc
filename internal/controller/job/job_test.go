package job

import (
	"context"
	"fmt"
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
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// fixture is a Controller over a fake clientset whose informer caches the
// test fills by hand; requeues are recorded instead of scheduled.
type fixture struct {
	t        *testing.T
	client   *fake.Clientset
	factory  informers.SharedInformerFactory
	clock    *clocktesting.FakeClock
	recorder *record.FakeRecorder
	c        *Controller
	requeued map[string]time.Duration
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{t: t, client: fake.NewClientset(objs...), clock: clocktesting.NewFakeClock(t0),
		recorder: record.NewFakeRecorder(100), requeued: map[string]time.Duration{}}
	f.factory = informers.NewSharedInformerFactory(f.client, 0)
	n := 0
	f.client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		p := a.(clienttesting.CreateAction).GetObject().(*corev1.Pod)
		if p.Name == "" {
			n++
			p.Name = fmt.Sprintf("%s%d", p.GenerateName, n)
		}
		return false, nil, nil
	})
	c, err := New(Config{
		Client: f.client, Jobs: f.factory.Batch().V1().Jobs(), Pods: f.factory.Core().V1().Pods(),
		Recorder: f.recorder, Clock: f.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.enqueueAfter = func(key string, d time.Duration) { f.requeued[key] = d }
	f.c = c
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *batchv1.Job:
			err = f.factory.Batch().V1().Jobs().Informer().GetIndexer().Add(o)
		case *corev1.Pod:
			err = f.factory.Core().V1().Pods().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) sync(key string) error {
	f.t.Helper()
	return f.c.sync(context.Background(), key)
}

// job reads the Job back from the fake API.
func (f *fixture) job(name string) *batchv1.Job {
	f.t.Helper()
	j, err := f.client.BatchV1().Jobs("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return j
}

// actions summarises the writes the controller made, as "verb resource[/sub]".
func (f *fixture) actions() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "list" || a.GetVerb() == "watch" || a.GetVerb() == "get" {
			continue
		}
		s := a.GetVerb() + " " + a.GetResource().Resource
		if a.GetSubresource() != "" {
			s += "/" + a.GetSubresource()
		}
		out = append(out, s)
	}
	return out
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func ptr[T any](v T) *T { return &v }

func newTestJob(name string, completions, parallelism int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid")},
		Spec: batchv1.JobSpec{
			Completions: ptr(completions), Parallelism: ptr(parallelism), BackoffLimit: ptr(int32(6)),
			CompletionMode: ptr(batchv1.NonIndexedCompletion), Suspend: ptr(false),
			PodReplacementPolicy: ptr(batchv1.TerminatingOrFailed),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"batch.kubernetes.io/job-name": name}},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
}

// podOf returns a pod of job in phase, with the tracking finalizer.
func podOf(job *batchv1.Job, name string, phase corev1.PodPhase) *corev1.Pod {
	p := newPod(job, -1)
	p.Name, p.Namespace, p.UID, p.GenerateName = name, "ns", types.UID(name+"-uid"), ""
	p.CreationTimestamp = metav1.NewTime(t0)
	p.Status.Phase = phase
	if phase == corev1.PodFailed || phase == corev1.PodSucceeded {
		code := int32(0)
		if phase == corev1.PodFailed {
			code = 1
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: metav1.NewTime(t0)}}}}
	}
	return p
}

func TestSyncCreatesUpToParallelism(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		completions, parallelism int32
		succeeded                int32
		wantCreates              int
	}{
		{"parallelism bounds", 5, 2, 0, 2},
		{"remaining completions bound", 5, 4, 3, 2},
		{"done", 2, 2, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJob("j", tc.completions, tc.parallelism)
			j.Status.Succeeded = tc.succeeded
			f := newFixture(t, j)
			if err := f.sync("ns/j"); err != nil {
				t.Fatal(err)
			}
			creates := 0
			for _, a := range f.actions() {
				if a == "create pods" {
					creates++
				}
			}
			if creates != tc.wantCreates {
				t.Errorf("created %d pods, want %d (actions %v)", creates, tc.wantCreates, f.actions())
			}
			got := f.job("j")
			if tc.wantCreates > 0 && (got.Status.Active != int32(tc.wantCreates) || got.Status.StartTime == nil) {
				t.Errorf("status = %+v", got.Status)
			}
		})
	}
}

func TestSyncCreatedPodShape(t *testing.T) {
	j := newTestJob("idx", 3, 3)
	j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
	j.Status.CompletedIndexes = "1"
	f := newFixture(t, j)
	if err := f.sync("ns/idx"); err != nil {
		t.Fatal(err)
	}
	pods, err := f.client.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pods.Items {
		got = append(got, fmt.Sprintf("%s %s %s %s %v", p.GenerateName, p.Annotations[batchv1.JobCompletionIndexAnnotation],
			p.Labels[batchv1.JobCompletionIndexAnnotation], p.Spec.Hostname, p.Finalizers))
		if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != j.UID || !*ref.BlockOwnerDeletion {
			t.Errorf("owner = %+v", p.OwnerReferences)
		}
	}
	want := []string{
		"idx-0- 0 0 idx-0 [batch.kubernetes.io/job-tracking]",
		"idx-2- 2 2 idx-2 [batch.kubernetes.io/job-tracking]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
}

func TestSyncTracksFinishedPodsAndCompletes(t *testing.T) {
	j := newTestJob("j", 2, 2)
	j.Status.StartTime = &metav1.Time{Time: t0}
	a, b := podOf(j, "a", corev1.PodSucceeded), podOf(j, "b", corev1.PodSucceeded)
	f := newFixture(t, j, a, b)
	if err := f.sync("ns/j"); err != nil {
		t.Fatal(err)
	}
	want := []string{"update jobs/status", "patch pods", "patch pods", "update jobs/status"}
	if diff := cmp.Diff(want, f.actions()); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	// The first status write records the pods as uncounted before their
	// finalizers go.
	first := f.client.Actions()[0]
	for _, act := range f.client.Actions() {
		if act.GetSubresource() == "status" {
			first = act
			break
		}
	}
	uj := first.(interface{ GetObject() runtime.Object }).GetObject().(*batchv1.Job)
	if u := uj.Status.UncountedTerminatedPods; u == nil || len(u.Succeeded) != 2 {
		t.Errorf("first status write uncounted = %+v", u)
	}
	got := f.job("j")
	if got.Status.Succeeded != 2 || got.Status.CompletionTime == nil || len(got.Status.UncountedTerminatedPods.Succeeded) != 0 {
		t.Errorf("status = %+v", got.Status)
	}
	var types []string
	for _, c := range got.Status.Conditions {
		types = append(types, string(c.Type)+"="+string(c.Status)+"/"+c.Reason)
	}
	if diff := cmp.Diff([]string{"SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"}, types); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if ev := f.events(); len(ev) != 1 || ev[0] != "Normal Completed Job completed" {
		t.Errorf("events = %v", ev)
	}
	// A second sync (the informer still shows the finalizers) counts
	// nothing twice.
	if err := f.factory.Batch().V1().Jobs().Informer().GetIndexer().Update(got); err != nil {
		t.Fatal(err)
	}
	if err := f.sync("ns/j"); err != nil {
		t.Fatal(err)
	}
	if got := f.job("j"); got.Status.Succeeded != 2 {
		t.Errorf("after a second sync succeeded = %d", got.Status.Succeeded)
	}
}

func TestSyncBackoffLimitExceeded(t *testing.T) {
	j := newTestJob("j", 1, 1)
	j.Spec.BackoffLimit = ptr(int32(1))
	j.Status.StartTime = &metav1.Time{Time: t0}
	j.Status.Failed = 1
	f := newFixture(t, j, podOf(j, "b", corev1.PodFailed))
	if err := f.sync("ns/j"); err != nil {
		t.Fatal(err)
	}
	got := f.job("j")
	fc := findCondition(&got.Status, batchv1.JobFailed)
	if fc == nil || fc.Reason != "BackoffLimitExceeded" || fc.Message != msgBackoffLimitExceeded || got.Status.Failed != 2 {
		t.Errorf("status = %+v", got.Status)
	}
	if ft := findCondition(&got.Status, batchv1.JobFailureTarget); ft == nil || ft.Reason != "BackoffLimitExceeded" {
		t.Errorf("FailureTarget = %+v", ft)
	}
	if ev := f.events(); len(ev) != 1 || ev[0] != "Warning BackoffLimitExceeded Job has reached the specified backoff limit" {
		t.Errorf("events = %v", ev)
	}
}

func TestSyncBacksOffAfterFailure(t *testing.T) {
	j := newTestJob("j", 1, 1)
	j.Status.StartTime = &metav1.Time{Time: t0}
	f := newFixture(t, j, podOf(j, "a", corev1.PodFailed))
	f.clock.SetTime(t0.Add(3 * time.Second))
	if err := f.sync("ns/j"); err != nil {
		t.Fatal(err)
	}
	for _, a := range f.actions() {
		if a == "create pods" {
			t.Fatalf("created a pod during the back-off: %v", f.actions())
		}
	}
	if d := f.requeued["ns/j"]; d != 7*time.Second {
		t.Errorf("requeued after %v, want 7s (10s from the failure)", d)
	}
	if got := f.job("j"); got.Status.Failed != 1 {
		t.Errorf("failed = %d", got.Status.Failed)
	}
}

func TestSyncActiveDeadline(t *testing.T) {
	j := newTestJob("j", 1, 1)
	j.Spec.ActiveDeadlineSeconds = ptr(int64(30))
	j.Status.StartTime = &metav1.Time{Time: t0}
	running := podOf(j, "a", corev1.PodRunning)
	f := newFixture(t, j, running)
	f.clock.SetTime(t0.Add(10 * time.Second))
	if err := f.sync("ns/j"); err != nil {
		t.Fatal(err)
	}
	if d := f.requeued["ns/j"]; d != 20*time.Second {
		t.Errorf("requeued after %v, want 20s", d)
	}
	f.clock.SetTime(t0.Add(30 * time.Second))
	if err := f.sync("ns/j"); err != nil {
		t.Fatal(err)
	}
	got := f.job("j")
	if ft := findCondition(&got.Status, batchv1.JobFailureTarget); ft == nil || ft.Reason != "DeadlineExceeded" {
		t.Errorf("conditions = %+v", got.Status.Conditions)
	}
	if findCondition(&got.Status, batchv1.JobFailed) != nil {
		t.Error("Failed set while a pod still terminates")
	}
	if !strings.Contains(strings.Join(f.actions(), ","), "delete pods") {
		t.Errorf("actions = %v, want the running pod deleted", f.actions())
	}
}

func TestSyncSuspendAndResume(t *testing.T) {
	j := newTestJob("j", 1, 1)
	j.Spec.Suspend = ptr(true)
	j.Status.StartTime = &metav1.Time{Time: t0}
	f := newFixture(t, j, podOf(j, "a", corev1.PodRunning))
	if err := f.sync("ns/j"); err != nil {
		t.Fatal(err)
	}
	got := f.job("j")
	if c := findCondition(&got.Status, batchv1.JobSuspended); c == nil || c.Status != corev1.ConditionTrue || c.Reason != "JobSuspended" {
		t.Errorf("Suspended = %+v", c)
	}
	if got.Status.Active != 0 {
		t.Errorf("active = %d", got.Status.Active)
	}
	if ev := f.events(); len(ev) != 2 || ev[0] != "Normal Suspended Job suspended" || ev[1] != "Normal SuccessfulDelete Deleted pod: a" {
		t.Errorf("events = %v", ev)
	}

	got.Spec.Suspend = ptr(false)
	f2 := newFixture(t, got)
	f2.clock.SetTime(t0.Add(time.Hour))
	if err := f2.sync("ns/j"); err != nil {
		t.Fatal(err)
	}
	res := f2.job("j")
	if c := findCondition(&res.Status, batchv1.JobSuspended); c == nil || c.Status != corev1.ConditionFalse || c.Reason != "JobResumed" {
		t.Errorf("Suspended after resume = %+v", c)
	}
	if !res.Status.StartTime.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("startTime = %v, want reset on resume", res.Status.StartTime)
	}
}

func TestSyncPodFailurePolicy(t *testing.T) {
	withCode := func(j *batchv1.Job, name string, code int32) *corev1.Pod {
		p := podOf(j, name, corev1.PodFailed)
		p.Status.ContainerStatuses[0].State.Terminated.ExitCode = code
		return p
	}
	for _, tc := range []struct {
		name       string
		code       int32
		wantFailed int32
		wantReason string
	}{
		{"FailJob", 42, 1, "PodFailurePolicy"},
		{"Ignore", 7, 0, ""},
		{"Count", 1, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJob("j", 1, 1)
			j.Status.StartTime = &metav1.Time{Time: t0}
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionIgnore, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{7}}},
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
			}}
			f := newFixture(t, j, withCode(j, "p", tc.code))
			if err := f.sync("ns/j"); err != nil {
				t.Fatal(err)
			}
			got := f.job("j")
			if got.Status.Failed != tc.wantFailed {
				t.Errorf("failed = %d, want %d", got.Status.Failed, tc.wantFailed)
			}
			fc := findCondition(&got.Status, batchv1.JobFailed)
			switch {
			case tc.wantReason == "" && fc != nil:
				t.Errorf("unexpected Failed %+v", fc)
			case tc.wantReason != "" && (fc == nil || fc.Reason != tc.wantReason ||
				fc.Message != "Container c for pod ns/p failed with exit code 42 matching FailJob rule at index 1"):
				t.Errorf("Failed = %+v", fc)
			}
		})
	}
}

func TestSyncReleasesOrphans(t *testing.T) {
	old := newTestJob("j", 1, 1)
	orphan := podOf(old, "o", corev1.PodSucceeded)
	f := newFixture(t, orphan) // the Job is gone
	if err := f.sync("ns/j"); err != nil {
		t.Fatal(err)
	}
	p, err := f.client.CoreV1().Pods("ns").Get(context.Background(), "o", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Finalizers) != 0 {
		t.Errorf("finalizers = %v, want none", p.Finalizers)
	}
}

func TestIndexSet(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""}, {"0", "0"}, {"0,1,2", "0-2"}, {"1,3-5,7", "1,3-5,7"}, {"5-3,9", "9"}, {"0-20", "0-9"},
	} {
		if got := parseIndexes(tc.in, 10).String(); got != tc.want {
			t.Errorf("parseIndexes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBackoffRemaining(t *testing.T) {
	for _, tc := range []struct {
		failures int
		since    time.Duration
		want     time.Duration
	}{
		{0, 0, 0}, {1, 0, 10 * time.Second}, {2, 5 * time.Second, 15 * time.Second},
		{3, 0, 40 * time.Second}, {10, 0, 6 * time.Minute}, {1, time.Minute, 0},
	} {
		r := backoffRecord{failures: tc.failures, lastFailure: t0}
		if got := r.remaining(t0.Add(tc.since), DefaultBackoffBase, DefaultBackoffMax); got != tc.want {
			t.Errorf("%d failures, %v later: %v, want %v", tc.failures, tc.since, got, tc.want)
		}
	}
	s := newBackoffStore()
	s.observe("k", []finishedPod{{at: t0, failed: true}, {at: t0.Add(time.Second), failed: true}})
	s.observe("k", []finishedPod{{at: t0.Add(2 * time.Second)}, {at: t0.Add(3 * time.Second), failed: true}})
	if got := s.get("k"); got.failures != 1 || !got.lastFailure.Equal(t0.Add(3*time.Second)) {
		t.Errorf("record after a success = %+v, want 1 failure", got)
	}
}

func TestSyncOnFailureRestartsCountTowardBackoffLimit(t *testing.T) {
	for _, tc := range []struct {
		limit, restarts int32
		wantFail        bool
	}{{2, 1, false}, {2, 2, true}, {0, 1, true}, {0, 0, false}} {
		j := newTestJob("j", 1, 1)
		j.Spec.BackoffLimit = ptr(tc.limit)
		j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		j.Status.StartTime = &metav1.Time{Time: t0}
		p := podOf(j, "a", corev1.PodRunning)
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", RestartCount: tc.restarts}}
		f := newFixture(t, j, p)
		if err := f.sync("ns/j"); err != nil {
			t.Fatal(err)
		}
		ft := findCondition(&f.job("j").Status, batchv1.JobFailureTarget)
		if (ft != nil) != tc.wantFail || (ft != nil && ft.Reason != "BackoffLimitExceeded") {
			t.Errorf("limit %d, %d restarts: FailureTarget = %+v, want failing %v", tc.limit, tc.restarts, ft, tc.wantFail)
		}
	}
}
