package apiserver

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	kresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/apiserver/kinds/builtin"
)

// codecsFor returns the codec the server uses for obj's kind and one that
// writes JSON, as stores did before protobuf.
func codecsFor(t testing.TB, scheme *runtime.Scheme, obj runtime.Object) (pb, js *codec) {
	t.Helper()
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	gvk := gvks[0]
	newFunc := func() runtime.Object {
		o, err := scheme.New(gvk)
		if err != nil {
			panic(err)
		}
		return o
	}
	pb = newStorageCodec(scheme, gvk, newFunc, false)
	js = newStorageCodec(scheme, gvk, newFunc, false)
	js.writeProto = false
	return pb, js
}

func codecFixtures() []struct {
	name string
	obj  runtime.Object
} {
	return []struct {
		name string
		obj  runtime.Object
	}{
		{"pod", fixturePod()},
		{"deployment", fixtureDeployment()},
		{"secret with binary data", fixtureSecret()},
		{"service", fixtureService()},
		{"configmap with managedFields and annotations", fixtureConfigMap()},
		{"event with microtimes", fixtureEvent()},
		{"customresourcedefinition", fixtureCRD()},
		{"empty pod", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}},
	}
}

// equalObjects fails unless want and got are semantically equal
// (quantities by value, nil and empty collections alike) and also look the
// same to a client (the same JSON, where a nil and an empty value differ).
// The diff of their JSON names the field.
func equalObjects(t *testing.T, want, got runtime.Object) {
	t.Helper()
	w, _ := json.MarshalIndent(want, "", " ")
	g, _ := json.MarshalIndent(got, "", " ")
	if !apiequality.Semantic.DeepEqual(want, got) || !bytes.Equal(w, g) {
		t.Errorf("decoded object differs (-want +got):\n%s", cmp.Diff(string(w), string(g)))
	}
}

func TestStorageCodecRoundTrip(t *testing.T) {
	scheme, _ := newScheme()
	for _, tc := range codecFixtures() {
		t.Run(tc.name, func(t *testing.T) {
			pb, js := codecsFor(t, scheme, tc.obj)
			for _, c := range []struct {
				name   string
				codec  *codec
				proto  bool
				reread *codec
			}{
				{"protobuf", pb, true, pb},
				{"JSON read by the protobuf codec", js, false, pb},
			} {
				t.Run(c.name, func(t *testing.T) {
					want := tc.obj.DeepCopyObject()
					data, err := c.codec.Encode(tc.obj.DeepCopyObject())
					if err != nil {
						t.Fatal(err)
					}
					if got := bytes.HasPrefix(data, protoMagic); got != c.proto {
						t.Fatalf("value starts with the protobuf magic: %v, want %v (%q)", got, c.proto, data[:min(len(data), 16)])
					}
					got, err := c.reread.Decode(data)
					if err != nil {
						t.Fatal(err)
					}
					if gvk := got.GetObjectKind().GroupVersionKind(); gvk != pb.gvk {
						t.Errorf("decoded kind %v, want %v", gvk, pb.gvk)
					}
					// The fixture has no kind; the stored one comes back.
					want.GetObjectKind().SetGroupVersionKind(pb.gvk)
					equalObjects(t, want, got)
					// No-op updates are found by comparing a new encoding with
					// the stored bytes: re-encoding what was read must give
					// the same bytes, every time.
					again, err := c.codec.Encode(got)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(again, data) {
						t.Errorf("encode(decode(value)) differs from value:\n%q\n%q", data, again)
					}
				})
			}
		})
	}
}

// A data dir written as JSON: the protobuf codec reads it, and its next
// write is protobuf that reads back to the same object.
func TestStorageCodecRewritesJSONAsProtobuf(t *testing.T) {
	scheme, _ := newScheme()
	for _, tc := range codecFixtures() {
		t.Run(tc.name, func(t *testing.T) {
			pb, js := codecsFor(t, scheme, tc.obj)
			old, err := js.Encode(tc.obj.DeepCopyObject())
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(old) {
				t.Fatalf("the JSON codec wrote invalid JSON: %s", old)
			}
			fromJSON, err := pb.Decode(old)
			if err != nil {
				t.Fatal(err)
			}
			data, err := pb.Encode(fromJSON.DeepCopyObject())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, protoMagic) {
				t.Fatalf("rewritten value is not protobuf: %q", data[:min(len(data), 16)])
			}
			fromProto, err := pb.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			equalObjects(t, fromJSON, fromProto)
		})
	}
}

// Every built-in kind the server stores has protobuf, so none is left
// writing JSON by accident; its empty object encodes and decodes.
func TestStorageCodecBuiltinKindsWriteProtobuf(t *testing.T) {
	scheme, _ := newScheme()
	for _, k := range builtin.All() {
		if k.Storage != nil {
			continue // served from another kind's store
		}
		t.Run(k.GVK.String(), func(t *testing.T) {
			c := newStorageCodec(scheme, k.GVK, k.New, false)
			if !c.writeProto {
				t.Fatalf("%T has no protobuf methods", k.New())
			}
			obj := k.New()
			data, err := c.Encode(obj)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, protoMagic) {
				t.Fatalf("value is not protobuf: %q", data)
			}
			got, err := c.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if gvk := got.GetObjectKind().GroupVersionKind(); gvk != k.GVK {
				t.Errorf("decoded kind %v, want %v", gvk, k.GVK)
			}
		})
	}
}

func TestStorageCodecCustomResourceStaysJSON(t *testing.T) {
	scheme, _ := newScheme()
	gvk := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	c := newStorageCodec(scheme, gvk, func() runtime.Object { return &unstructured.Unstructured{} }, true)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "w", "namespace": "default", "uid": "u1"},
		"spec":     map[string]any{"size": int64(3), "tags": []any{"a", "b"}, "nested": map[string]any{"x": true}},
	}}
	data, err := c.Encode(obj.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(data) {
		t.Fatalf("custom resource not stored as JSON: %q", data)
	}
	got, err := c.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	want := obj.DeepCopy()
	want.SetGroupVersionKind(gvk)
	if diff := cmp.Diff(want.Object, got.(*unstructured.Unstructured).Object); diff != "" {
		t.Errorf("custom resource round trip (-want +got):\n%s", diff)
	}
}

func TestStorageCodecDecodeErrors(t *testing.T) {
	scheme, _ := newScheme()
	pb, _ := codecsFor(t, scheme, &corev1.Pod{})
	good, err := pb.Encode(fixturePod())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"magic only", protoMagic},
		{"truncated protobuf", good[:len(good)/2]},
		{"truncated JSON", []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{`)},
		{"neither", []byte("hello")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if obj, err := pb.Decode(tc.data); err == nil {
				t.Errorf("Decode(%q) = %v, want an error", tc.data, obj)
			}
		})
	}
}

// BenchmarkStorageCodecPod measures what a write (encode) and a watch
// event (decode) cost per Pod in each stored format.
func BenchmarkStorageCodecPod(b *testing.B) {
	scheme, _ := newScheme()
	pod := benchPod()
	pb, js := codecsFor(b, scheme, pod)
	for _, f := range []struct {
		name string
		c    *codec
	}{{"json", js}, {"protobuf", pb}} {
		data, err := f.c.Encode(pod)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f.name+"/encode", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := f.c.Encode(pod); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.name+"/decode", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := f.c.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.name+"/encode+decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, err := f.c.Encode(pod)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.c.Decode(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchPod is a pod as the scheduler benchmark writes it once bound and
// running: one container with requests, defaults filled in, a status.
func benchPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "bench-pod-1234", Namespace: "bench", UID: "0c6e6c34-8d0f-4b7e-a1d8-7e7f1a2b3c4d",
			CreationTimestamp: fixtureTime, Labels: map[string]string{"app": "bench"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "bench", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
				Time: &fixtureTime, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{},"f:resources":{"f:requests":{".":{},"f:cpu":{},"f:memory":{}}}}}}}`)}}},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "c", Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: kresource.MustParse("100m"), corev1.ResourceMemory: kresource.MustParse("500Mi")}},
				TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				ImagePullPolicy: corev1.PullIfNotPresent,
			}},
			RestartPolicy: corev1.RestartPolicyAlways, TerminationGracePeriodSeconds: ptr(int64(30)),
			DNSPolicy: corev1.DNSClusterFirst, ServiceAccountName: "default", NodeName: "node-17",
			SecurityContext: &corev1.PodSecurityContext{}, SchedulerName: "default-scheduler",
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
			},
			Priority: ptr(int32(0)), EnableServiceLinks: ptr(true), PreemptionPolicy: ptr(corev1.PreemptLowerPriority),
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, HostIP: "10.0.0.17", PodIP: "10.42.17.4", StartTime: &fixtureTime, QOSClass: corev1.PodQOSBurstable,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: fixtureTime},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: fixtureTime},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true, Image: "registry.k8s.io/pause:3.10",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: fixtureTime}}}},
		},
	}
}
