package job

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const uid = types.UID("1b2c3d4e-0000-4000-8000-000000000001")

// newJob returns a defaulted Job as a client sends it, with the uid the API
// server assigns.
func newJob() *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: uid},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "pi", Image: "perl:5.34"}},
				},
			},
		},
	}
	Default(j)
	return j
}

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestDefault(t *testing.T) {
	j := newJob()
	got := []interface{}{*j.Spec.Completions, *j.Spec.Parallelism, *j.Spec.BackoffLimit, *j.Spec.CompletionMode, *j.Spec.Suspend, *j.Spec.PodReplacementPolicy}
	want := []interface{}{int32(1), int32(1), int32(6), batchv1.NonIndexedCompletion, false, batchv1.TerminatingOrFailed}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	parallel := &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: ptr(int32(3))}}
	Default(parallel)
	if parallel.Spec.Completions != nil {
		t.Errorf("completions defaulted with parallelism set: %d", *parallel.Spec.Completions)
	}
}

func TestGenerateSelector(t *testing.T) {
	j := newJob()
	PrepareForCreate(j)
	wantLabels := map[string]string{
		"batch.kubernetes.io/controller-uid": string(uid), "batch.kubernetes.io/job-name": "pi",
		"controller-uid": string(uid), "job-name": "pi",
	}
	if diff := cmp.Diff(wantLabels, j.Spec.Template.Labels); diff != "" {
		t.Errorf("template labels (-want +got):\n%s", diff)
	}
	wantSel := &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": string(uid)}}
	if diff := cmp.Diff(wantSel, j.Spec.Selector); diff != "" {
		t.Errorf("selector (-want +got):\n%s", diff)
	}
	if errs := Validate(j); len(errs) != 0 {
		t.Errorf("generated job invalid: %v", errs)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*batchv1.Job)
		want   []string
	}{
		{name: "valid", modify: func(*batchv1.Job) {}},
		{name: "restart always", modify: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			want: []string{"FieldValueRequired: spec.template.spec.restartPolicy"}},
		{name: "foreign selector", modify: func(j *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
			j.Spec.Template.Labels = map[string]string{"app": "x"}
		}, want: []string{"FieldValueInvalid: spec.selector"}},
		{name: "negative backoff", modify: func(j *batchv1.Job) { *j.Spec.BackoffLimit = -1 },
			want: []string{"FieldValueInvalid: spec.backoffLimit"}},
		{name: "indexed without completions", modify: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		}, want: []string{"FieldValueRequired: spec.completions"}},
		{name: "per-index backoff when not indexed", modify: func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr(int32(1)) },
			want: []string{"FieldValueInvalid: spec.backoffLimitPerIndex"}},
		{name: "pod failure policy without rules content", modify: func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore}}}
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
		}, want: []string{"FieldValueInvalid: spec.podFailurePolicy.rules[0]"}},
		{name: "missing uid", modify: func(j *batchv1.Job) { j.UID = "" },
			want: []string{"FieldValueRequired: metadata.uid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := newJob()
			tc.modify(j)
			if tc.name != "missing uid" {
				PrepareForCreate(j)
			}
			if diff := cmp.Diff(tc.want, errPaths(Validate(j))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newJob()
	PrepareForCreate(old)
	j := old.DeepCopy()
	*j.Spec.Completions = 3
	j.Spec.Template.Spec.Containers[0].Image = "perl:5.36"
	want := []string{"FieldValueInvalid: spec.completions", "FieldValueInvalid: spec.template"}
	if diff := cmp.Diff(want, errPaths(ValidateUpdate(j, old))); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	// A suspended Job that never started may change its scheduling directives.
	*old.Spec.Suspend = true
	s := old.DeepCopy()
	s.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	if errs := ValidateUpdate(s, old); len(errs) != 0 {
		t.Errorf("suspended job node selector: %v", errs)
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	start := metav1.NewTime(now.Add(-2 * time.Minute))
	done := metav1.NewTime(now.Add(-time.Minute))
	j := newJob()
	PrepareForCreate(j)
	j.CreationTimestamp = start
	k := Kind()
	tests := []struct {
		name   string
		status batchv1.JobStatus
		want   []interface{}
	}{
		{"pending", batchv1.JobStatus{}, []interface{}{"pi", "Running", "0/1", "", "2m"}},
		{"running", batchv1.JobStatus{StartTime: &start, Active: 1}, []interface{}{"pi", "Running", "0/1", "2m", "2m"}},
		{"complete", batchv1.JobStatus{StartTime: &start, CompletionTime: &done, Succeeded: 1,
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}},
			[]interface{}{"pi", "Complete", "1/1", "60s", "2m"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j.Status = tc.status
			want := append(tc.want, "pi", "perl:5.34", "batch.kubernetes.io/controller-uid="+string(uid))
			if diff := cmp.Diff(want, k.Strategy.Row(j, now)); diff != "" {
				t.Errorf("row (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff(fields.Set{"status.successful": "1"}, k.Strategy.Fields(j)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}
