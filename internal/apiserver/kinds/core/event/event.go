// Package event is the strategy of core/v1 Events. The events.k8s.io/v1
// kind stores into the same objects.
package event

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// Kind returns the core/v1 Event kind. Its table, like upstream's, starts
// with "Last Seen" and has the name as the last, wide-only column.
func Kind() kinds.Kind {
	ev := corev1.Event{}.SwaggerDoc()
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("Event"),
		Resource:   "events",
		Singular:   "event",
		Namespaced: true,
		ShortNames: []string{"ev"},
		New:        func() runtime.Object { return &corev1.Event{} },
		NewList:    func() runtime.Object { return &corev1.EventList{} },
		Strategy: kinds.Strategy{
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.Event)) },
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Event))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.Column("Last Seen", "string", 0, ev["lastTimestamp"]),
				kinds.Column("Type", "string", 0, ev["type"]),
				kinds.Column("Reason", "string", 0, ev["reason"]),
				kinds.Column("Object", "string", 0, ev["involvedObject"]),
				kinds.Column("Subobject", "string", 1, corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
				kinds.Column("Source", "string", 1, ev["source"]),
				kinds.Column("Message", "string", 0, ev["message"]),
				kinds.Column("First Seen", "string", 1, ev["firstTimestamp"]),
				kinds.Column("Count", "string", 1, ev["count"]),
				{Name: "Name", Type: "string", Format: "name", Priority: 1, Description: kinds.NameColumn.Description},
			},
			Row:    row,
			Fields: func(obj runtime.Object) fields.Set { return Fields(obj.(*corev1.Event)) },
		},
	}
}

// Validate checks that an event about a namespaced object lives in that
// object's namespace.
func Validate(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if ns := e.InvolvedObject.Namespace; ns != "" && ns != e.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("involvedObject", "namespace"), ns, "does not match event.namespace"))
	}
	if e.Type != "" && e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning && !e.EventTime.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("type"), e.Type, "has invalid value: "+e.Type))
	}
	return errs
}

// Fields returns the event's selectable fields.
func Fields(e *corev1.Event) fields.Set {
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	o := e.InvolvedObject
	return fields.Set{
		"involvedObject.kind":            o.Kind,
		"involvedObject.namespace":       o.Namespace,
		"involvedObject.name":            o.Name,
		"involvedObject.uid":             string(o.UID),
		"involvedObject.apiVersion":      o.APIVersion,
		"involvedObject.resourceVersion": o.ResourceVersion,
		"involvedObject.fieldPath":       o.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

func row(obj runtime.Object, now time.Time) []interface{} {
	e := obj.(*corev1.Event)
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
		last, e.Type, e.Reason, target, e.InvolvedObject.FieldPath,
		source(e), strings.TrimSpace(e.Message), first, int64(count), e.Name,
	}
}

func source(e *corev1.Event) string {
	component, instance := e.Source.Component, e.Source.Host
	if component == "" {
		component = e.ReportingController
	}
	if instance == "" {
		instance = e.ReportingInstance
	}
	if instance == "" {
		return component
	}
	return component + ", " + instance
}

func microAge(t metav1.MicroTime, now time.Time) string {
	return kinds.Age(metav1.Time{Time: t.Time}, now)
}
