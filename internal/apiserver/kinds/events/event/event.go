// Package event is the strategy of events.k8s.io/v1 Events. They are
// stored as core/v1 Events (the same objects, served by two groups), so the
// Kind converts to and from core/v1 and validates with upstream's strict
// rules for events written through events.k8s.io, reporting core/v1 field
// paths as upstream does.
package event

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// Length limits of events.k8s.io fields.
const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

var coreEventGVK = corev1.SchemeGroupVersion.WithKind("Event")

func corev1EventTypeMeta() metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: corev1.SchemeGroupVersion.String(), Kind: "Event"}
}

func eventsV1TypeMeta() metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: eventsv1.SchemeGroupVersion.String(), Kind: "Event"}
}

// Kind returns the events.k8s.io/v1 Event kind.
func Kind() kinds.Kind {
	storage := coreEventGVK
	return kinds.Kind{
		GVK:        eventsv1.SchemeGroupVersion.WithKind("Event"),
		Resource:   "events",
		Singular:   "event",
		Namespaced: true,
		ShortNames: []string{"ev"},
		New:        func() runtime.Object { return &eventsv1.Event{} },
		NewList:    func() runtime.Object { return &eventsv1.EventList{} },
		Storage:    &storage,
		ToStorage: func(obj runtime.Object) (runtime.Object, error) {
			e, ok := obj.(*eventsv1.Event)
			if !ok {
				return nil, fmt.Errorf("convert %T to core/v1 Event: not an events.k8s.io/v1 Event", obj)
			}
			return ToCore(e), nil
		},
		FromStorage: func(obj runtime.Object) (runtime.Object, error) {
			c, ok := obj.(*corev1.Event)
			if !ok {
				return nil, fmt.Errorf("convert %T to events.k8s.io/v1 Event: not a core/v1 Event", obj)
			}
			return FromCore(c), nil
		},
		Strategy: kinds.Strategy{
			Validate: func(obj runtime.Object) field.ErrorList {
				return ValidateCreate(ToCore(obj.(*eventsv1.Event)))
			},
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(ToCore(obj.(*eventsv1.Event)), ToCore(old.(*eventsv1.Event)))
			},
			Columns: columns(),
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				return row(ToCore(obj.(*eventsv1.Event)), now)
			},
			Fields: func(obj runtime.Object) fields.Set {
				return selectableFields(ToCore(obj.(*eventsv1.Event)))
			},
		},
	}
}

// ValidateCreate applies upstream's strict validation of events created
// through events.k8s.io/v1 (object metadata excepted) to the stored form.
func ValidateCreate(e *corev1.Event) field.ErrorList {
	errs := legacyValidate(e)
	errs = append(errs, validateSeries(e)...)
	if e.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", e.Type)))
	}
	if !e.FirstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if !e.LastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if e.Count != 0 {
		errs = append(errs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if e.Source.Component != "" || e.Source.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return errs
}

// ValidateUpdate is the strict update validation of events.k8s.io/v1:
// everything but the series and metadata is immutable.
func ValidateUpdate(e, old *corev1.Event) field.ErrorList {
	errs := legacyValidate(e)
	if !reflect.DeepEqual(e.Series, old.Series) {
		errs = append(errs, validateSeries(e)...)
	}
	immutable := func(n, o interface{}, name string) {
		errs = append(errs, apivalidation.ValidateImmutableField(n, o, field.NewPath(name))...)
	}
	immutable(e.InvolvedObject, old.InvolvedObject, "involvedObject")
	immutable(e.Reason, old.Reason, "reason")
	immutable(e.Message, old.Message, "message")
	immutable(e.Source, old.Source, "source")
	immutable(e.FirstTimestamp, old.FirstTimestamp, "firstTimestamp")
	immutable(e.LastTimestamp, old.LastTimestamp, "lastTimestamp")
	immutable(e.Count, old.Count, "count")
	immutable(e.Reason, old.Reason, "reason")
	immutable(e.Type, old.Type, "type")
	immutable(e.EventTime, old.EventTime, "eventTime")
	immutable(e.Action, old.Action, "action")
	immutable(e.Related, old.Related, "related")
	immutable(e.ReportingController, old.ReportingController, "reportingController")
	immutable(e.ReportingInstance, old.ReportingInstance, "reportingInstance")
	return errs
}

func validateSeries(e *corev1.Event) field.ErrorList {
	if e.Series == nil {
		return nil
	}
	var errs field.ErrorList
	if e.Series.Count < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
	}
	if e.Series.LastObservedTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
	}
	return errs
}

// legacyValidate holds the checks every event passes, whatever its API.
func legacyValidate(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" {
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		if e.ReportingController == "" {
			errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
		}
		for _, msg := range validation.IsQualifiedName(e.ReportingController) {
			errs = append(errs, field.Invalid(field.NewPath("reportingController"), e.ReportingController, msg))
		}
		errs = append(errs, requiredWithLimit(e.ReportingInstance, "reportingInstance", reportingInstanceLengthLimit)...)
		errs = append(errs, requiredWithLimit(e.Action, "action", actionLengthLimit)...)
		errs = append(errs, requiredWithLimit(e.Reason, "reason", reasonLengthLimit)...)
		if len(e.Message) > noteLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", noteLengthLimit)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(e.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), e.Namespace, msg))
	}
	return errs
}

func requiredWithLimit(value, name string, limit int) field.ErrorList {
	var errs field.ErrorList
	if value == "" {
		errs = append(errs, field.Required(field.NewPath(name), ""))
	}
	if len(value) > limit {
		errs = append(errs, field.Invalid(field.NewPath(name), "", fmt.Sprintf("can have at most %v characters", limit)))
	}
	return errs
}

// selectableFields are the field selectors of events, named after the
// stored core/v1 fields as upstream does.
func selectableFields(e *corev1.Event) fields.Set {
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

func columns() []metav1.TableColumnDefinition {
	doc := corev1.Event{}.SwaggerDoc()
	name := kinds.NameColumn
	name.Priority = 1
	return []metav1.TableColumnDefinition{
		kinds.Column("Last Seen", "string", 0, doc["lastTimestamp"]),
		kinds.Column("Type", "string", 0, doc["type"]),
		kinds.Column("Reason", "string", 0, doc["reason"]),
		kinds.Column("Object", "string", 0, doc["involvedObject"]),
		kinds.Column("Subobject", "string", 1, corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
		kinds.Column("Source", "string", 1, doc["source"]),
		kinds.Column("Message", "string", 0, doc["message"]),
		kinds.Column("First Seen", "string", 1, doc["firstTimestamp"]),
		kinds.Column("Count", "string", 1, doc["count"]),
		name,
	}
}

func microAge(t metav1.MicroTime, now time.Time) string {
	return kinds.Age(metav1.NewTime(t.Time), now)
}

func row(e *corev1.Event, now time.Time) []interface{} {
	first := kinds.Age(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = microAge(e.EventTime, now)
	}
	last := kinds.Age(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last = microAge(e.Series.LastObservedTime, now)
		count = e.Series.Count
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	return []interface{}{
		last,
		e.Type,
		e.Reason,
		target,
		e.InvolvedObject.FieldPath,
		formatSource(e),
		strings.TrimSpace(e.Message),
		first,
		int64(count),
		e.Name,
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func formatSource(e *corev1.Event) string {
	component := firstNonEmpty(e.Source.Component, e.ReportingController)
	instance := firstNonEmpty(e.Source.Host, e.ReportingInstance)
	if instance == "" {
		return component
	}
	return component + ", " + instance
}
