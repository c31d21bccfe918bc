package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/yaml"
)

// sameVersion is the object converter of a resource served in one version:
// it converts between typed and unstructured forms through the scheme and
// never between versions.
type sameVersion struct{ scheme *runtime.Scheme }

func (c sameVersion) Convert(in, out, context interface{}) error {
	return c.scheme.Convert(in, out, context)
}

func (c sameVersion) ConvertToVersion(in runtime.Object, gv runtime.GroupVersioner) (runtime.Object, error) {
	if _, ok := in.(runtime.Unstructured); ok {
		return in, nil
	}
	return c.scheme.ConvertToVersion(in, gv)
}

func (c sameVersion) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

type noDefaults struct{}

func (noDefaults) Default(runtime.Object) {}

type unstructuredCreater struct{}

func (unstructuredCreater) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

func applyConfig(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// managedBy returns the JSON of the fields manager owns through Apply.
func managedBy(t *testing.T, obj runtime.Object, manager string) string {
	t.Helper()
	accessor, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range accessor.GetManagedFields() {
		if e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationApply {
			return string(e.FieldsV1.Raw)
		}
	}
	t.Fatalf("no Apply entry for %q in %v", manager, accessor.GetManagedFields())
	return ""
}

func containerNames(t *testing.T, obj runtime.Object) []string {
	t.Helper()
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	containers, _, _ := unstructured.NestedSlice(content, "spec", "template", "spec", "containers")
	var names []string
	for _, c := range containers {
		names = append(names, c.(map[string]interface{})["name"].(string))
	}
	return names
}

func TestServerSideApplyDeployment(t *testing.T) {
	t.Parallel()
	tc, err := TypeConverter(testResources())
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := appsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	gvk := appsv1.SchemeGroupVersion.WithKind("Deployment")
	fm, err := managedfields.NewDefaultFieldManager(tc, sameVersion{scheme}, noDefaults{}, scheme, gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		t.Fatal(err)
	}

	const base = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
`
	var live runtime.Object = &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}}
	live, err = fm.Apply(live, applyConfig(t, base+"      - {name: app, image: nginx, ports: [{containerPort: 80, protocol: TCP}]}\n"), "alice", false)
	if err != nil {
		t.Fatalf("alice apply: %v", err)
	}
	live, err = fm.Apply(live, applyConfig(t, base+"      - {name: sidecar, image: busybox}\n"), "bob", false)
	if err != nil {
		t.Fatalf("bob apply: %v", err)
	}
	if got := containerNames(t, live); strings.Join(got, ",") != "app,sidecar" {
		t.Errorf("containers = %v, want app and sidecar merged by name", got)
	}
	for manager, want := range map[string]string{
		"alice": `"k:{\"name\":\"app\"}"`,
		"bob":   `"k:{\"name\":\"sidecar\"}"`,
	} {
		if got := managedBy(t, live, manager); !strings.Contains(got, want) {
			t.Errorf("%s manages %s, want it to contain %s", manager, got, want)
		}
	}
	if got := managedBy(t, live, "alice"); !strings.Contains(got, `"k:{\"containerPort\":80,\"protocol\":\"TCP\"}"`) {
		t.Errorf("alice manages %s, want the port keyed by containerPort and protocol", got)
	}

	conflicting := base + "      - {name: app, image: httpd}\n"
	if _, err := fm.Apply(live, applyConfig(t, conflicting), "bob", false); !apierrors.IsConflict(err) {
		t.Fatalf("bob taking alice's image: err = %v, want a conflict", err)
	}
	forced, err := fm.Apply(live, applyConfig(t, conflicting), "bob", true)
	if err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(forced)
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(content, &d); err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != "httpd" {
		t.Errorf("forced image = %q, want httpd", got)
	}
}

func TestServerSideApplyCustomResource(t *testing.T) {
	t.Parallel()
	tc, err := TypeConverter(testResources())
	if err != nil {
		t.Fatal(err)
	}
	gvk := cronTab().GVK
	fm, err := managedfields.NewDefaultCRDFieldManager(tc, sameVersion{runtime.NewScheme()}, noDefaults{}, unstructuredCreater{}, gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	const base = `
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: c, namespace: default}
spec:
`
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	obj, err := fm.Apply(live, applyConfig(t, base+"  cronSpec: '* * * * */5'\n  ports: [{name: http, port: 80}]\n"), "alice", false)
	if err != nil {
		t.Fatalf("alice apply: %v", err)
	}
	obj, err = fm.Apply(obj, applyConfig(t, base+"  ports: [{name: https, port: 443}]\n"), "bob", false)
	if err != nil {
		t.Fatalf("bob apply: %v", err)
	}
	ports, _, _ := unstructured.NestedSlice(obj.(*unstructured.Unstructured).Object, "spec", "ports")
	if len(ports) != 2 {
		data, _ := json.Marshal(ports)
		t.Errorf("ports = %s, want http and https merged by name", data)
	}
	if got := managedBy(t, obj, "bob"); !strings.Contains(got, `"k:{\"name\":\"https\"}"`) {
		t.Errorf("bob manages %s, want the https port", got)
	}
	if got := managedBy(t, obj, "alice"); !strings.Contains(got, `"f:cronSpec"`) {
		t.Errorf("alice manages %s, want cronSpec", got)
	}
}

func TestTypeConverterUnknownKind(t *testing.T) {
	t.Parallel()
	tc, err := TypeConverter(testResources())
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "nope.example.com", Version: "v1", Kind: "Nope"})
	if _, err := tc.ObjectToTyped(u); err == nil {
		t.Error("ObjectToTyped accepted a kind that is not served")
	}
}
