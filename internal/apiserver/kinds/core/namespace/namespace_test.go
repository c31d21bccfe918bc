package namespace

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCreate(t *testing.T) {
	k := Kind()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	k.Strategy.Default(ns)
	k.Strategy.PrepareForCreate(ns)
	want := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"kubernetes.io/metadata.name": "team-a"}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	if diff := cmp.Diff(want, ns); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}
	if errs := k.Strategy.Validate(ns); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
	now := time.Now()
	ns.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
	if diff := cmp.Diff([]interface{}{"team-a", "Active", "90s"}, k.Strategy.Row(ns, now)); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	if msgs := k.Strategy.ValidateName("Team", false); len(msgs) == 0 {
		t.Errorf("ValidateName accepted an upper-case name")
	}
}

func TestValidateFinalizers(t *testing.T) {
	ns := &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes", "example.com/x", "foo"}}}
	var got []string
	for _, e := range Validate(ns) {
		got = append(got, e.Error())
	}
	want := []string{`spec.finalizers[2]: Invalid value: "foo": name is neither a standard finalizer name nor is it fully qualified`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPrepareForUpdate(t *testing.T) {
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	PrepareForUpdate(ns, old)
	if diff := cmp.Diff(old.Spec, ns.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}
