// Package job is the strategy of batch/v1 Jobs.
package job

import (
	"fmt"
	"math"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// The pre-1.27 labels upstream still puts on a Job's pod template next to
// batchv1.JobNameLabel and batchv1.ControllerUidLabel.
const (
	LegacyJobNameLabel       = "job-name"
	LegacyControllerUIDLabel = "controller-uid"
)

// Kind returns the batch/v1 Job kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:              batchv1.SchemeGroupVersion.WithKind("Job"),
		Resource:         "jobs",
		Singular:         "job",
		Namespaced:       true,
		Categories:       []string{"all"},
		New:              func() runtime.Object { return &batchv1.Job{} },
		NewList:          func() runtime.Object { return &batchv1.JobList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Strategy: kinds.Strategy{
			Default:          func(obj runtime.Object) { Default(obj.(*batchv1.Job)) },
			PrepareForCreate: func(obj runtime.Object) { PrepareForCreate(obj.(*batchv1.Job)) },
			PrepareForUpdate: func(obj, old runtime.Object) {
				// Alpha: kept as stored, never set by an update.
				obj.(*batchv1.Job).Spec.Scheduling = old.(*batchv1.Job).Spec.Scheduling
			},
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*batchv1.Job)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Status", "string", 0, "Status of the job."),
				kinds.Column("Completions", "string", 0, batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
				kinds.Column("Duration", "string", 0, "Time required to complete the job."),
				kinds.AgeColumn,
				kinds.Column("Containers", "string", 1, kinds.ContainersDescription),
				kinds.Column("Images", "string", 1, kinds.ImagesDescription),
				kinds.Column("Selector", "string", 1, batchv1.JobSpec{}.SwaggerDoc()["selector"]),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} { return row(obj.(*batchv1.Job), now) },
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
			},
		},
	}
}

// Default sets the batch/v1 defaults: completions and parallelism 1 (only
// parallelism when completions is set), backoffLimit 6 (MaxInt32 with
// backoffLimitPerIndex), completionMode NonIndexed, suspend false,
// podReplacementPolicy (Failed with a podFailurePolicy, else
// TerminatingOrFailed), status True on pod failure policy condition
// patterns, the Job's labels from the template's when it has none, and the
// pod template's defaults.
func Default(j *batchv1.Job) {
	DefaultSpec(&j.Spec)
	if j.Spec.Completions == nil && j.Spec.Parallelism == nil {
		j.Spec.Completions = ptr(int32(1))
	}
	if j.Spec.Parallelism == nil {
		j.Spec.Parallelism = ptr(int32(1))
	}
	if j.Spec.BackoffLimit == nil {
		if j.Spec.BackoffLimitPerIndex != nil {
			j.Spec.BackoffLimit = ptr(int32(math.MaxInt32))
		} else {
			j.Spec.BackoffLimit = ptr(int32(6))
		}
	}
	if l := j.Spec.Template.Labels; l != nil && len(j.Labels) == 0 {
		j.Labels = make(map[string]string, len(l))
		for k, v := range l {
			j.Labels[k] = v
		}
	}
	if j.Spec.CompletionMode == nil {
		j.Spec.CompletionMode = ptr(batchv1.NonIndexedCompletion)
	}
	if j.Spec.Suspend == nil {
		j.Spec.Suspend = ptr(false)
	}
	if j.Spec.PodReplacementPolicy == nil {
		if j.Spec.PodFailurePolicy != nil {
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
		} else {
			j.Spec.PodReplacementPolicy = ptr(batchv1.TerminatingOrFailed)
		}
	}
}

// DefaultSpec sets the defaults a JobSpec gets wherever it appears, also in
// a CronJob's jobTemplate: the pod failure policy's pattern status and the
// pod template's defaults.
func DefaultSpec(spec *batchv1.JobSpec) {
	if spec.PodFailurePolicy != nil {
		for _, rule := range spec.PodFailurePolicy.Rules {
			for i := range rule.OnPodConditions {
				if rule.OnPodConditions[i].Status == "" {
					rule.OnPodConditions[i].Status = corev1.ConditionTrue
				}
			}
		}
	}
	podspec.DefaultTemplate(&spec.Template)
}

// PrepareForCreate clears the status and alpha fields and, once the Job has
// its uid, generates the selector and the pod template labels.
func PrepareForCreate(j *batchv1.Job) {
	j.Status = batchv1.JobStatus{}
	j.Spec.Scheduling = nil
	if j.UID != "" {
		GenerateSelector(j)
	}
}

// GenerateSelector adds the job-name and controller-uid labels (prefixed
// and legacy) to the pod template, unless already present, and selects the
// batch.kubernetes.io/controller-uid label, unless the Job asks for a
// manual selector. It needs the Job's name and uid and is idempotent.
func GenerateSelector(j *batchv1.Job) {
	if j.Spec.ManualSelector != nil && *j.Spec.ManualSelector {
		return
	}
	if j.Spec.Template.Labels == nil {
		j.Spec.Template.Labels = map[string]string{}
	}
	tl := j.Spec.Template.Labels
	for _, k := range []string{LegacyJobNameLabel, batchv1.JobNameLabel} {
		if _, ok := tl[k]; !ok {
			tl[k] = j.Name
		}
	}
	for _, k := range []string{LegacyControllerUIDLabel, batchv1.ControllerUidLabel} {
		if _, ok := tl[k]; !ok {
			tl[k] = string(j.UID)
		}
	}
	if j.Spec.Selector == nil {
		j.Spec.Selector = &metav1.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(j.UID)
	}
}

// Validate checks a new Job. As upstream, it first generates the selector
// (a no-op when PrepareForCreate already did), since that needs the uid.
func Validate(j *batchv1.Job) field.ErrorList {
	GenerateSelector(j)
	errs := validateGeneratedSelector(j)
	errs = append(errs, validateSpecWithSelector(&j.Spec, field.NewPath("spec"))...)
	if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion && j.Spec.Completions != nil && *j.Spec.Completions > 0 {
		// Indexed pods' hostnames are "<name>-<index>".
		host := fmt.Sprintf("%s-%d", j.Name, *j.Spec.Completions-1)
		if msgs := validation.IsDNS1123Label(host); len(msgs) > 0 {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), j.Name, fmt.Sprintf("will not able to create pod with invalid DNS label: %s", host)))
		}
	}
	return errs
}

// validateGeneratedSelector checks that a generated selector and the
// template's labels are the ones GenerateSelector sets.
func validateGeneratedSelector(j *batchv1.Job) field.ErrorList {
	var errs field.ErrorList
	if (j.Spec.ManualSelector != nil && *j.Spec.ManualSelector) || j.Spec.Selector == nil {
		return errs
	}
	if j.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	meta := field.NewPath("spec", "template", "metadata")
	expected := map[string]string{
		LegacyControllerUIDLabel:   string(j.UID),
		LegacyJobNameLabel:         j.Name,
		batchv1.ControllerUidLabel: string(j.UID),
		batchv1.JobNameLabel:       j.Name,
	}
	for _, k := range []string{LegacyControllerUIDLabel, LegacyJobNameLabel, batchv1.ControllerUidLabel, batchv1.JobNameLabel} {
		errs = append(errs, validateHasLabel(j.Spec.Template.Labels, meta, k, expected[k])...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector); err == nil && !sel.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), j.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func validateHasLabel(l map[string]string, fldPath *field.Path, key, value string) field.ErrorList {
	actual, ok := l[key]
	if !ok {
		return field.ErrorList{field.Required(fldPath.Child("labels").Key(key), "must be '"+value+"'")}
	}
	if actual != value {
		return field.ErrorList{field.Invalid(fldPath.Child("labels").Key(key), l, "must be '"+value+"'")}
	}
	return nil
}

// ValidateUpdate checks the new spec and the fields that may not change:
// completions (except for Indexed Jobs, in tandem with parallelism),
// selector, the pod template (whose scheduling directives may change while
// the Job is suspended and has never started), completionMode,
// podFailurePolicy, backoffLimitPerIndex, managedBy and successPolicy.
func ValidateUpdate(j, old *batchv1.Job) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validateSpecWithSelector(&j.Spec, spec)
	errs = append(errs, validateCompletionsUpdate(&j.Spec, &old.Spec, spec.Child("completions"))...)
	errs = append(errs, immutable(j.Spec.Selector, old.Spec.Selector, spec.Child("selector"))...)
	errs = append(errs, validateTemplateUpdate(&j.Spec, &old.Spec, suspendedNeverStarted(old), spec.Child("template"))...)
	errs = append(errs, immutable(j.Spec.CompletionMode, old.Spec.CompletionMode, spec.Child("completionMode"))...)
	errs = append(errs, immutable(j.Spec.PodFailurePolicy, old.Spec.PodFailurePolicy, spec.Child("podFailurePolicy"))...)
	errs = append(errs, immutable(j.Spec.BackoffLimitPerIndex, old.Spec.BackoffLimitPerIndex, spec.Child("backoffLimitPerIndex"))...)
	errs = append(errs, immutable(j.Spec.ManagedBy, old.Spec.ManagedBy, spec.Child("managedBy"))...)
	errs = append(errs, immutable(j.Spec.SuccessPolicy, old.Spec.SuccessPolicy, spec.Child("successPolicy"))...)
	return errs
}

func suspendedNeverStarted(j *batchv1.Job) bool {
	return j.Spec.Suspend != nil && *j.Spec.Suspend && j.Status.StartTime == nil
}

func validateCompletionsUpdate(spec, old *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	indexed := spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
	if !indexed {
		return immutable(spec.Completions, old.Completions, fldPath)
	}
	if equalPtr(spec.Completions, old.Completions) || spec.Completions == nil {
		return nil
	}
	if spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
		return field.ErrorList{field.Invalid(fldPath, spec.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

func validateTemplateUpdate(spec, old *batchv1.JobSpec, mutableScheduling bool, fldPath *field.Path) field.ErrorList {
	oldT := &old.Template
	if mutableScheduling {
		oldT = old.Template.DeepCopy()
		t := &spec.Template
		switch {
		case t.Spec.Affinity == nil && oldT.Spec.Affinity != nil:
			oldT.Spec.Affinity.NodeAffinity = nil
			if *oldT.Spec.Affinity == (corev1.Affinity{}) {
				oldT.Spec.Affinity = nil
			}
		case t.Spec.Affinity != nil && oldT.Spec.Affinity == nil:
			oldT.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
		case t.Spec.Affinity != nil && oldT.Spec.Affinity != nil:
			oldT.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
		}
		oldT.Spec.NodeSelector = t.Spec.NodeSelector
		oldT.Spec.Tolerations = t.Spec.Tolerations
		oldT.Annotations = t.Annotations
		oldT.Labels = t.Labels
		oldT.Spec.SchedulingGates = t.Spec.SchedulingGates
	}
	return immutable(&spec.Template, oldT, fldPath)
}

func row(j *batchv1.Job, now time.Time) []interface{} {
	var completions string
	switch {
	case j.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	default:
		completions = fmt.Sprintf("%d/1", j.Status.Succeeded)
	}
	var d string
	switch {
	case j.Status.StartTime == nil:
	case j.Status.CompletionTime == nil:
		d = duration.HumanDuration(now.Sub(j.Status.StartTime.Time))
	default:
		d = duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}
	names, images := kinds.ContainerCells(j.Spec.Template.Spec.Containers)
	return []interface{}{
		j.Name, status(j), completions, d, kinds.Age(j.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(j.Spec.Selector),
	}
}

// status is the Status column: the first of Complete, Failed, Terminating,
// Suspended and FailureTarget that applies, else Running.
func status(j *batchv1.Job) string {
	switch {
	case hasCondition(j, batchv1.JobComplete):
		return "Complete"
	case hasCondition(j, batchv1.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case hasCondition(j, batchv1.JobSuspended):
		return "Suspended"
	case hasCondition(j, batchv1.JobFailureTarget):
		return "FailureTarget"
	}
	return "Running"
}

// hasCondition reports whether the first condition of type t is True.
func hasCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
