package apiserver

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/apiserver/kinds/builtin"
)

// TestStorageCodecRestoresWhatProtobufDrops: a StatefulSet's
// volumeClaimTemplates keep apiVersion and kind through protobuf storage,
// as upstream shows them; without that an update that sends them back
// looked like a forbidden spec change.
func TestStorageCodecRestoresWhatProtobufDrops(t *testing.T) {
	scheme, _ := newScheme()
	s := &Server{scheme: scheme}
	for _, k := range builtin.All() {
		if k.GVK != appsv1.SchemeGroupVersion.WithKind("StatefulSet") {
			continue
		}
		c := s.storageCodec(&k, false)
		set := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
			Spec: appsv1.StatefulSetSpec{VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
				ObjectMeta: metav1.ObjectMeta{Name: "www"},
			}}},
		}
		data, err := c.Encode(set)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		tm := got.(*appsv1.StatefulSet).Spec.VolumeClaimTemplates[0].TypeMeta
		if tm.APIVersion != "v1" || tm.Kind != "PersistentVolumeClaim" {
			t.Errorf("template TypeMeta after storage = %+v, want v1 PersistentVolumeClaim", tm)
		}
		return
	}
	t.Fatal("no StatefulSet kind")
}
