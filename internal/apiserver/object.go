package apiserver

import (
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Generic field access that works for typed and unstructured objects,
// because the API server treats built-in and custom resources alike.

// copyStatus sets dst's status to src's.
func copyStatus(dst, src runtime.Object) {
	if du, ok := dst.(*unstructured.Unstructured); ok {
		su := src.(*unstructured.Unstructured)
		if st, ok := su.Object["status"]; ok {
			du.Object["status"] = runtime.DeepCopyJSONValue(st)
		} else {
			delete(du.Object, "status")
		}
		return
	}
	df := reflect.ValueOf(dst).Elem().FieldByName("Status")
	sf := reflect.ValueOf(src).Elem().FieldByName("Status")
	if df.IsValid() && sf.IsValid() && df.CanSet() {
		df.Set(reflect.ValueOf(deepCopyValue(sf)))
	}
}

// resetStatus clears obj's status.
func resetStatus(obj runtime.Object) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		delete(u.Object, "status")
		return
	}
	f := reflect.ValueOf(obj).Elem().FieldByName("Status")
	if f.IsValid() && f.CanSet() {
		f.Set(reflect.Zero(f.Type()))
	}
}

// copyAllButStatus makes dst equal to src except for status and the
// metadata the caller manages afterwards.
func copyAllButStatus(dst, src runtime.Object) runtime.Object {
	out := src.DeepCopyObject()
	copyStatus(out, dst)
	return out
}

func deepCopyValue(v reflect.Value) interface{} {
	if v.Kind() == reflect.Struct && v.CanAddr() {
		if dc := v.Addr().MethodByName("DeepCopy"); dc.IsValid() {
			return dc.Call(nil)[0].Elem().Interface()
		}
	}
	return v.Interface()
}

// specChanged reports whether anything outside metadata and status differs.
func specChanged(a, b runtime.Object) bool {
	if au, ok := a.(*unstructured.Unstructured); ok {
		bu := b.(*unstructured.Unstructured)
		for k, v := range au.Object {
			if skipTopLevel(k) {
				continue
			}
			if !equality.Semantic.DeepEqual(v, bu.Object[k]) {
				return true
			}
		}
		for k := range bu.Object {
			if _, ok := au.Object[k]; !ok && !skipTopLevel(k) {
				return true
			}
		}
		return false
	}
	av, bv := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	t := av.Type()
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Name {
		case "TypeMeta", "ObjectMeta", "Status":
			continue
		}
		if !equality.Semantic.DeepEqual(av.Field(i).Interface(), bv.Field(i).Interface()) {
			return true
		}
	}
	return false
}

func skipTopLevel(k string) bool {
	return k == "apiVersion" || k == "kind" || k == "metadata" || k == "status"
}

// sameVersionConverter is the runtime.ObjectConvertor the field manager
// needs. Each stored resource has one version, so conversion only sets the
// kind or moves between typed and unstructured forms.
type sameVersionConverter struct {
	scheme  *runtime.Scheme
	gvk     schema.GroupVersionKind
	newFunc func() runtime.Object
}

func (c sameVersionConverter) Convert(in, out, _ interface{}) error {
	inObj, ok1 := in.(runtime.Object)
	outObj, ok2 := out.(runtime.Object)
	if !ok1 || !ok2 {
		return fmt.Errorf("cannot convert %T to %T", in, out)
	}
	return c.convertInto(inObj, outObj)
}

func (c sameVersionConverter) convertInto(in, out runtime.Object) error {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(in)
	if err != nil {
		return err
	}
	if ou, ok := out.(*unstructured.Unstructured); ok {
		ou.Object = u
		return nil
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u, out)
}

// ConvertToVersion returns a copy of in in the resource's own form: the
// field manager hands over unstructured results, which typed kinds must
// get back as their Go type.
func (c sameVersionConverter) ConvertToVersion(in runtime.Object, _ runtime.GroupVersioner) (runtime.Object, error) {
	if u, ok := in.(*unstructured.Unstructured); ok && c.newFunc != nil {
		out := c.newFunc()
		if _, typed := out.(*unstructured.Unstructured); !typed {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
				return nil, err
			}
			out.GetObjectKind().SetGroupVersionKind(c.gvk)
			return out, nil
		}
	}
	out := in.DeepCopyObject()
	out.GetObjectKind().SetGroupVersionKind(c.gvk)
	return out, nil
}

func (c sameVersionConverter) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

// defaulterFunc adapts a strategy's Default to runtime.ObjectDefaulter.
type defaulterFunc func(runtime.Object)

func (f defaulterFunc) Default(obj runtime.Object) {
	if f != nil {
		f(obj)
	}
}

// creater builds empty objects of one kind for the field manager.
type creater struct{ newFunc func() runtime.Object }

func (c creater) New(schema.GroupVersionKind) (runtime.Object, error) { return c.newFunc(), nil }
