// Package cronjob is the strategy of batch/v1 CronJobs.
package cronjob

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/batch/job"
)

// maxNameLength leaves room for the 11-character "-<timestamp>" suffix of
// the Jobs a CronJob creates, whose names are DNS-1035 labels.
const maxNameLength = validation.DNS1035LabelMaxLength - 11

// Kind returns the batch/v1 CronJob kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:              batchv1.SchemeGroupVersion.WithKind("CronJob"),
		Resource:         "cronjobs",
		Singular:         "cronjob",
		Namespaced:       true,
		ShortNames:       []string{"cj"},
		Categories:       []string{"all"},
		New:              func() runtime.Object { return &batchv1.CronJob{} },
		NewList:          func() runtime.Object { return &batchv1.CronJobList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Strategy: kinds.Strategy{
			Default:          func(obj runtime.Object) { Default(obj.(*batchv1.CronJob)) },
			PrepareForCreate: func(obj runtime.Object) { obj.(*batchv1.CronJob).Status = batchv1.CronJobStatus{} },
			Validate:         func(obj runtime.Object) field.ErrorList { return Validate(obj.(*batchv1.CronJob)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*batchv1.CronJob), old.(*batchv1.CronJob))
			},
			Warnings: func(obj runtime.Object) []string { return warnings(obj.(*batchv1.CronJob)) },
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Schedule", "string", 0, batchv1beta1.CronJobSpec{}.SwaggerDoc()["schedule"]),
				kinds.Column("Timezone", "string", 0, batchv1beta1.CronJobSpec{}.SwaggerDoc()["timeZone"]),
				kinds.Column("Suspend", "boolean", 0, batchv1beta1.CronJobSpec{}.SwaggerDoc()["suspend"]),
				kinds.Column("Active", "integer", 0, batchv1beta1.CronJobStatus{}.SwaggerDoc()["active"]),
				kinds.Column("Last Schedule", "string", 0, batchv1beta1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
				kinds.AgeColumn,
				kinds.Column("Containers", "string", 1, kinds.ContainersDescription),
				kinds.Column("Images", "string", 1, kinds.ImagesDescription),
				kinds.Column("Selector", "string", 1, batchv1.JobSpec{}.SwaggerDoc()["selector"]),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} { return row(obj.(*batchv1.CronJob), now) },
		},
	}
}

// Default sets the batch/v1 defaults: concurrencyPolicy Allow, suspend
// false, successfulJobsHistoryLimit 3, failedJobsHistoryLimit 1, and the
// job template's pod defaults.
func Default(cj *batchv1.CronJob) {
	if cj.Spec.ConcurrencyPolicy == "" {
		cj.Spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if cj.Spec.Suspend == nil {
		f := false
		cj.Spec.Suspend = &f
	}
	if cj.Spec.SuccessfulJobsHistoryLimit == nil {
		n := int32(3)
		cj.Spec.SuccessfulJobsHistoryLimit = &n
	}
	if cj.Spec.FailedJobsHistoryLimit == nil {
		n := int32(1)
		cj.Spec.FailedJobsHistoryLimit = &n
	}
	job.DefaultSpec(&cj.Spec.JobTemplate.Spec)
}

// Validate checks a new CronJob, including the 52-character name limit.
func Validate(cj *batchv1.CronJob) field.ErrorList {
	errs := validateSpec(&cj.Spec, nil, field.NewPath("spec"))
	if len(cj.Name) > maxNameLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, fmt.Sprintf("must be no more than %d characters", maxNameLength)))
	}
	return errs
}

// ValidateUpdate checks the new spec; older long names stay updatable.
func ValidateUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	return validateSpec(&cj.Spec, &old.Spec, field.NewPath("spec"))
}

func validateSpec(spec, old *batchv1.CronJobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Schedule == "" {
		errs = append(errs, field.Required(fldPath.Child("schedule"), ""))
	} else {
		allowTZ := old != nil && strings.Contains(old.Schedule, "TZ")
		errs = append(errs, validateScheduleField(spec.Schedule, allowTZ, spec.TimeZone, fldPath.Child("schedule"))...)
	}
	if spec.StartingDeadlineSeconds != nil {
		errs = append(errs, kinds.ValidateNonnegative(*spec.StartingDeadlineSeconds, fldPath.Child("startingDeadlineSeconds"))...)
	}
	if old == nil || !equalStringPtr(old.TimeZone, spec.TimeZone) {
		errs = append(errs, validateTimeZone(spec.TimeZone, fldPath.Child("timeZone"))...)
	}
	cp := fldPath.Child("concurrencyPolicy")
	switch spec.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(cp, ""))
	default:
		errs = append(errs, field.NotSupported(cp, spec.ConcurrencyPolicy, []batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent}))
	}
	jt := fldPath.Child("jobTemplate")
	errs = append(errs, job.ValidateSpec(&spec.JobTemplate.Spec, jt.Child("spec"))...)
	if spec.JobTemplate.Spec.Selector != nil {
		errs = append(errs, field.Invalid(jt.Child("spec", "selector"), spec.JobTemplate.Spec.Selector, "`selector` will be auto-generated"))
	}
	if m := spec.JobTemplate.Spec.ManualSelector; m != nil && *m {
		errs = append(errs, field.NotSupported(jt.Child("spec", "manualSelector"), m, []string{"nil", "false"}))
	}
	if spec.SuccessfulJobsHistoryLimit != nil {
		errs = append(errs, kinds.ValidateNonnegative(int64(*spec.SuccessfulJobsHistoryLimit), fldPath.Child("successfulJobsHistoryLimit"))...)
	}
	if spec.FailedJobsHistoryLimit != nil {
		errs = append(errs, kinds.ValidateNonnegative(int64(*spec.FailedJobsHistoryLimit), fldPath.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

func validateScheduleField(schedule string, allowTZ bool, timeZone *string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if err := validateSchedule(schedule); err != nil {
		errs = append(errs, field.Invalid(fldPath, schedule, err.Error()))
	}
	switch hasTZ := strings.Contains(schedule, "TZ"); {
	case allowTZ && hasTZ && timeZone != nil:
		errs = append(errs, field.Invalid(fldPath, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && hasTZ:
		errs = append(errs, field.Invalid(fldPath, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

// timeZonePart is one component of an IANA time zone name, as upstream
// accepts it.
var timeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func validateTimeZone(tz *string, fldPath *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(fldPath, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !timeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(fldPath, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(fldPath, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	// The zone database is read-only reference data, not state.
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(fldPath, tz, err.Error()))
	}
	return errs
}

func warnings(cj *batchv1.CronJob) []string {
	w := kinds.PodNameWarnings(cj.Name)
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		w = append(w, fmt.Sprintf("cronjob.spec.schedule: CRON_TZ or TZ used in %s is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", field.NewPath("spec", "spec", "schedule")))
	}
	return w
}

func row(cj *batchv1.CronJob, now time.Time) []interface{} {
	last := "<none>"
	if cj.Status.LastScheduleTime != nil {
		last = kinds.Age(*cj.Status.LastScheduleTime, now)
	}
	tz := "<none>"
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	names, images := kinds.ContainerCells(cj.Spec.JobTemplate.Spec.Template.Spec.Containers)
	return []interface{}{
		cj.Name, cj.Spec.Schedule, tz, kinds.BoolPtrCell(cj.Spec.Suspend), int64(len(cj.Status.Active)), last,
		kinds.Age(cj.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(cj.Spec.JobTemplate.Spec.Selector),
	}
}

func equalStringPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
