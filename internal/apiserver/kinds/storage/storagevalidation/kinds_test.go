package storagevalidation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/internal/apiserver/kinds/storage/csidriver"
	"github.com/skiff/skiff/internal/apiserver/kinds/storage/csinode"
	"github.com/skiff/skiff/internal/apiserver/kinds/storage/volumeattachment"
)

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

var created = metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))

func TestCSIDriver(t *testing.T) {
	k := csidriver.Kind()
	d := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.example.com", CreationTimestamp: created}}
	k.Strategy.Default(d)
	want := storagev1.CSIDriverSpec{
		AttachRequired:       ptr.To(true),
		PodInfoOnMount:       ptr.To(false),
		StorageCapacity:      ptr.To(false),
		RequiresRepublish:    ptr.To(false),
		SELinuxMount:         ptr.To(false),
		FSGroupPolicy:        ptr.To(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
		VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
	}
	if diff := cmp.Diff(want, d.Spec); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if errs := k.Strategy.Validate(d); len(errs) != 0 {
		t.Errorf("valid driver rejected: %v", errs)
	}
	row := []interface{}{"csi.example.com", true, false, false, "<unset>", false, "Persistent", "60m"}
	if diff := cmp.Diff(row, k.Strategy.Row(d, created.Add(time.Hour))); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}

	bad := d.DeepCopy()
	bad.Spec.AttachRequired = ptr.To(false)
	bad.Spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{"Forever"}
	bad.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "a", ExpirationSeconds: ptr.To[int64](60)}, {Audience: "a"}}
	got := errStrings(k.Strategy.ValidateUpdate(bad, d))
	wantErrs := []string{
		"FieldValueInvalid spec.tokenRequests[0].expirationSeconds",
		"FieldValueDuplicate spec.tokenRequests[1].audience",
		"FieldValueNotSupported spec.volumeLifecycleModes",
		"FieldValueInvalid spec.attachedRequired",
		"FieldValueInvalid spec.volumeLifecycleModes",
	}
	if diff := cmp.Diff(wantErrs, got); diff != "" {
		t.Errorf("update errors (-want +got):\n%s", diff)
	}
}

func TestCSINode(t *testing.T) {
	k := csinode.Kind()
	n := &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", CreationTimestamp: created},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{
			{Name: "csi.example.com", NodeID: "node-1", TopologyKeys: []string{"topology.kubernetes.io/zone"}},
		}},
	}
	if errs := k.Strategy.Validate(n); len(errs) != 0 {
		t.Errorf("valid csinode rejected: %v", errs)
	}
	if diff := cmp.Diff([]interface{}{"node-1", int64(1), "60m"}, k.Strategy.Row(n, created.Add(time.Hour))); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	bad := n.DeepCopy()
	bad.Spec.Drivers = append(bad.Spec.Drivers, storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: strings.Repeat("x", 200)})
	bad.Spec.Drivers[0].NodeID = "other"
	want := []string{
		"FieldValueInvalid spec.drivers[1].nodeID",
		"FieldValueDuplicate spec.drivers[1].name",
		"FieldValueInvalid spec.drivers",
		"FieldValueInvalid spec.drivers",
	}
	if diff := cmp.Diff(want, errStrings(k.Strategy.ValidateUpdate(bad, n))); diff != "" {
		t.Errorf("update errors (-want +got):\n%s", diff)
	}
}

func TestVolumeAttachment(t *testing.T) {
	k := volumeattachment.Kind()
	va := &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: "csi-123", CreationTimestamp: created},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "csi.example.com",
			NodeName: "node-1",
			Source:   storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")},
		},
		Status: storagev1.VolumeAttachmentStatus{Attached: true},
	}
	if errs := k.Strategy.Validate(va); len(errs) != 0 {
		t.Errorf("valid attachment rejected: %v", errs)
	}
	if diff := cmp.Diff([]interface{}{"csi-123", "csi.example.com", "pv-1", "node-1", true, "60m"}, k.Strategy.Row(va, created.Add(time.Hour))); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	if !k.HasStatus {
		t.Error("volumeattachments must have a status subresource")
	}
	empty := &storagev1.VolumeAttachment{}
	want := []string{
		"FieldValueRequired spec.attacher",
		"FieldValueRequired spec.source",
		"FieldValueInvalid spec.nodeName",
		"FieldValueRequired spec.attacher",
		"FieldValueInvalid spec.attacher",
	}
	if diff := cmp.Diff(want, errStrings(k.Strategy.Validate(empty))); diff != "" {
		t.Errorf("empty errors (-want +got):\n%s", diff)
	}
	moved := va.DeepCopy()
	moved.Spec.NodeName = "node-2"
	if diff := cmp.Diff([]string{"FieldValueInvalid spec"}, errStrings(k.Strategy.ValidateUpdate(moved, va))); diff != "" {
		t.Errorf("update errors (-want +got):\n%s", diff)
	}
}
