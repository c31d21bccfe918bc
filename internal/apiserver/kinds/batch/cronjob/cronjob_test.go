package cronjob

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateSchedule(t *testing.T) {
	tests := []struct {
		schedule string
		want     string // error text, "" when valid
	}{
		{"*/5 * * * *", ""},
		{"0 0 * * MON-FRI", ""},
		{"0 12 1 jan,jul ?", ""},
		{"@hourly", ""},
		{"@every 1h30m", ""},
		{"TZ=UTC 0 0 * * *", ""},
		{"", "empty spec string"},
		{"* * * *", "expected exactly 5 fields, found 4: [* * * *]"},
		{"60 * * * *", "end of range (60) above maximum (59): 60"},
		{"* * 0 * *", "beginning of range (0) below minimum (1): 0"},
		{"5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
		{"*/0 * * * *", "step of range should be a positive number: */0"},
		{"x * * * *", `failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		{"1-2-3 * * * *", "too many hyphens: 1-2-3"},
		{"1/2/3 * * * *", "too many slashes: 1/2/3"},
		{"@fortnightly", "unrecognized descriptor: @fortnightly"},
	}
	for _, tc := range tests {
		t.Run(tc.schedule, func(t *testing.T) {
			got := ""
			if err := validateSchedule(tc.schedule); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("validateSchedule(%q) = %q, want %q", tc.schedule, got, tc.want)
			}
		})
	}
}

func newCronJob() *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "default"},
		Spec: batchv1.CronJobSpec{
			Schedule: "0 3 * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyOnFailure,
					Containers:    []corev1.Container{{Name: "backup", Image: "busybox"}},
				},
			}}},
		},
	}
	Default(cj)
	return cj
}

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestDefault(t *testing.T) {
	cj := newCronJob()
	got := []interface{}{cj.Spec.ConcurrencyPolicy, *cj.Spec.Suspend, *cj.Spec.SuccessfulJobsHistoryLimit, *cj.Spec.FailedJobsHistoryLimit}
	want := []interface{}{batchv1.AllowConcurrent, false, int32(3), int32(1)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if js := cj.Spec.JobTemplate.Spec; js.BackoffLimit != nil || js.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("job template defaults: %+v", js)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*batchv1.CronJob)
		want   []string
	}{
		{name: "valid", modify: func(*batchv1.CronJob) {}},
		{name: "no schedule", modify: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "" },
			want: []string{"FieldValueRequired: spec.schedule"}},
		{name: "bad schedule", modify: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "every day" },
			want: []string{"FieldValueInvalid: spec.schedule"}},
		{name: "TZ in schedule", modify: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "TZ=UTC 0 3 * * *" },
			want: []string{"FieldValueInvalid: spec.schedule"}},
		{name: "bad time zone", modify: func(cj *batchv1.CronJob) { tz := "Mars/Olympus"; cj.Spec.TimeZone = &tz },
			want: []string{"FieldValueInvalid: spec.timeZone"}},
		{name: "selector set", modify: func(cj *batchv1.CronJob) { cj.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"FieldValueInvalid: spec.jobTemplate.spec.selector"}},
		{name: "restart always", modify: func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		},
			want: []string{"FieldValueRequired: spec.jobTemplate.spec.template.spec.restartPolicy"}},
		{name: "long name", modify: func(cj *batchv1.CronJob) { cj.Name = strings.Repeat("a", 53) },
			want: []string{"FieldValueInvalid: metadata.name"}},
		{name: "bad concurrency", modify: func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = "Sometimes" },
			want: []string{"FieldValueNotSupported: spec.concurrencyPolicy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cj := newCronJob()
			tc.modify(cj)
			if diff := cmp.Diff(tc.want, errPaths(Validate(cj))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	// An existing TZ schedule stays updatable.
	old := newCronJob()
	old.Spec.Schedule = "TZ=UTC 0 3 * * *"
	if errs := ValidateUpdate(old.DeepCopy(), old); len(errs) != 0 {
		t.Errorf("update keeping TZ: %v", errs)
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cj := newCronJob()
	cj.CreationTimestamp = metav1.NewTime(now.Add(-24 * time.Hour))
	last := metav1.NewTime(now.Add(-21 * time.Hour))
	cj.Status = batchv1.CronJobStatus{LastScheduleTime: &last, Active: []corev1.ObjectReference{{Name: "backup-1"}}}
	want := []interface{}{"backup", "0 3 * * *", "<none>", "False", int64(1), "21h", "24h", "backup", "busybox", "<none>"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(cj, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
}
