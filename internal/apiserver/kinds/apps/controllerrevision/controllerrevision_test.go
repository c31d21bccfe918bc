package controllerrevision

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestValidate(t *testing.T) {
	cr := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "db-7c9"}, Revision: -1}
	errs := Validate(cr)
	var got []string
	for _, e := range errs {
		got = append(got, string(e.Type)+": "+e.Field)
	}
	if diff := cmp.Diff([]string{"FieldValueRequired: data", "FieldValueInvalid: revision"}, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	old := &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: []byte(`{"a": 1}`)}, Revision: 1}
	same := &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: []byte(`{"a":1}`)}, Revision: 2}
	if errs := ValidateUpdate(same, old); len(errs) != 0 {
		t.Errorf("re-encoded data: %v", errs)
	}
	changed := &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: []byte(`{"a":2}`)}, Revision: 1}
	if errs := ValidateUpdate(changed, old); len(errs) != 1 || errs[0].Field != "data" {
		t.Errorf("changed data: %v", errs)
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	yes := true
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: "db-7c9", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour)),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: &yes}},
		},
		Revision: 2,
	}
	want := []interface{}{"db-7c9", "statefulset.apps/db", int64(2), "60m"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(cr, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	cr.OwnerReferences = nil
	if got := Kind().Strategy.Row(cr, now)[1]; got != "<none>" {
		t.Errorf("no owner: %v", got)
	}
}
