package event

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	micro   = metav1.NewMicroTime(created)
)

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func validEvent() *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		EventTime:           micro,
		ReportingController: "skiff.io/scheduler",
		ReportingInstance:   "node-1",
		Action:              "Binding",
		Reason:              "Scheduled",
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", FieldPath: "spec"},
		Note:                "Successfully assigned default/web to node-1 ",
		Type:                corev1.EventTypeNormal,
	}
}

func TestRoundTrip(t *testing.T) {
	e := validEvent()
	e.Series = &eventsv1.EventSeries{Count: 3, LastObservedTime: micro}
	e.DeprecatedSource = corev1.EventSource{Component: "c", Host: "h"}
	e.DeprecatedCount = 4
	e.DeprecatedFirstTimestamp = metav1.NewTime(created)
	e.Related = &corev1.ObjectReference{Kind: "Node", Name: "node-1"}
	k := Kind()
	stored, err := k.ToStorage(e)
	if err != nil {
		t.Fatal(err)
	}
	c := stored.(*corev1.Event)
	if c.Message != e.Note || c.InvolvedObject != e.Regarding || c.Count != 4 || c.Source.Host != "h" || c.Series.Count != 3 || c.Kind != "Event" || c.APIVersion != "v1" {
		t.Fatalf("unexpected core event: %+v", c)
	}
	back, err := k.FromStorage(stored)
	if err != nil {
		t.Fatal(err)
	}
	e.TypeMeta = metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}
	if diff := cmp.Diff(e, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if k.Storage == nil || *k.Storage != corev1.SchemeGroupVersion.WithKind("Event") {
		t.Errorf("storage GVK %v", k.Storage)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(e *eventsv1.Event)
		want   []string
	}{
		{name: "valid", mutate: func(*eventsv1.Event) {}},
		{
			name: "missing new-style fields",
			mutate: func(e *eventsv1.Event) {
				e.ReportingController, e.ReportingInstance, e.Action, e.Reason, e.Type = "", "", "", "", "Info"
			},
			want: []string{
				"FieldValueRequired reportingController",
				"FieldValueInvalid reportingController",
				"FieldValueInvalid reportingController",
				"FieldValueRequired reportingInstance",
				"FieldValueRequired action",
				"FieldValueRequired reason",
				"FieldValueInvalid type",
			},
		},
		{
			name: "deprecated fields set and bad series",
			mutate: func(e *eventsv1.Event) {
				e.DeprecatedCount = 2
				e.DeprecatedSource.Component = "kubelet"
				e.Series = &eventsv1.EventSeries{Count: 1}
				e.Regarding.Namespace = ""
				e.Namespace = "apps"
			},
			want: []string{
				"FieldValueInvalid involvedObject.namespace",
				"FieldValueInvalid series.count",
				"FieldValueRequired series.lastObservedTime",
				"FieldValueInvalid count",
				"FieldValueInvalid source",
			},
		},
		{
			name:   "no event time",
			mutate: func(e *eventsv1.Event) { e.EventTime = metav1.MicroTime{} },
			want:   []string{"FieldValueRequired eventTime"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := validEvent()
			tc.mutate(e)
			if diff := cmp.Diff(tc.want, errStrings(Kind().Strategy.Validate(e))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := validEvent()
	e := old.DeepCopy()
	e.Note = "changed"
	e.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: micro}
	if diff := cmp.Diff([]string{"FieldValueInvalid message"}, errStrings(Kind().Strategy.ValidateUpdate(e, old))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRowAndFields(t *testing.T) {
	k := Kind()
	e := validEvent()
	got := k.Strategy.Row(e, created.Add(2*time.Minute))
	want := []interface{}{"2m", "Normal", "Scheduled", "pod/web", "spec", "skiff.io/scheduler, node-1", "Successfully assigned default/web to node-1", "2m", int64(1), "web.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	if len(k.Strategy.Columns) != len(want) {
		t.Errorf("%d columns for %d cells", len(k.Strategy.Columns), len(want))
	}
	f := k.Strategy.Fields(e)
	if f["involvedObject.name"] != "web" || f["reportingComponent"] != "skiff.io/scheduler" || f["source"] != "skiff.io/scheduler" || f["type"] != "Normal" {
		t.Errorf("fields %v", f)
	}
	if n := len(k.Strategy.Fields(&eventsv1.Event{})); n != 11 {
		t.Errorf("%d field keys, want 11", n)
	}
}
