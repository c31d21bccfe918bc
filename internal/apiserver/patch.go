package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/skiff/skiff/internal/storage"
)

func (rs *resource) patch(w http.ResponseWriter, r *http.Request, ri requestInfo, sub string) {
	out, err := rs.s.negotiate(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	opts, err := parseWriteOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	directive, err := fieldValidation(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	pt := types.PatchType(mt)
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.ApplyYAMLPatchType:
	case types.StrategicMergePatchType:
		if rs.crd != nil {
			rs.s.writeError(w, r, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", rs.kind.GroupResource(), ri.Name,
				fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s", types.JSONPatchType, types.MergePatchType, types.ApplyYAMLPatchType), 0, false))
			return
		}
	default:
		rs.s.writeError(w, r, unsupportedMediaType(mt))
		return
	}
	body, err := readBody(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if pt == types.ApplyYAMLPatchType {
		rs.apply(w, r, ri, sub, out, opts, body)
		return
	}
	if !json.Valid(body) {
		if j, err := yaml.YAMLToJSON(body); err == nil && json.Valid(j) && len(j) > 0 && (j[0] == '{' || j[0] == '[') {
			body = j
		} else {
			rs.s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: invalid JSON")))
			return
		}
	}
	updated, err := rs.updateObject(r, ri, sub, opts, func(cur runtime.Object) (runtime.Object, error) {
		curServed, err := rs.fromStorage(cur)
		if err != nil {
			return nil, err
		}
		curJSON, err := json.Marshal(curServed)
		if err != nil {
			return nil, err
		}
		patched, err := rs.applyPatch(pt, curJSON, body)
		if err != nil {
			return nil, err
		}
		obj, err := rs.decodePatched(w, patched, directive)
		if err != nil {
			return nil, err
		}
		m, _ := meta.Accessor(obj)
		if m.GetName() != ri.Name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), ri.Name))
		}
		if err := rs.checkNamespace(obj, ri); err != nil {
			return nil, err
		}
		if def := rs.kind.Strategy.Default; def != nil {
			def(obj)
		}
		return rs.prepareUpdate(cur, obj, sub, opts, false)
	})
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	rs.writeResult(w, r, out, http.StatusOK, updated)
}

func (rs *resource) applyPatch(pt types.PatchType, cur, patch []byte) ([]byte, error) {
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err := p.Apply(cur)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", rs.kind.GroupResource(), "", err.Error(), 0, false)
		}
		return out, nil
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(cur, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	case types.StrategicMergePatchType:
		out, err := strategicpatch.StrategicMergePatch(cur, patch, rs.kind.New())
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	}
	return nil, unsupportedMediaType(string(pt))
}

// decodePatched decodes a patched JSON document, honouring fieldValidation.
func (rs *resource) decodePatched(w http.ResponseWriter, data []byte, directive string) (runtime.Object, error) {
	if rs.crd != nil {
		return rs.decodeCustom(w, runtime.ContentTypeJSON, data, directive)
	}
	info, _ := rs.s.serializerFor(runtime.ContentTypeJSON)
	gvk := rs.kind.GVK
	obj, _, err := info.StrictSerializer.Decode(data, &gvk, rs.kind.New())
	if err != nil {
		strictErr, isStrict := runtime.AsStrictDecodingError(err)
		switch {
		case isStrict && obj != nil && directive == metav1.FieldValidationWarn:
			for _, e := range strictErr.Errors() {
				addWarning(w, e.Error())
			}
		case isStrict && obj != nil && directive == metav1.FieldValidationIgnore:
		default:
			return nil, decodeError(&gvk, err, data)
		}
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

// apply handles server-side apply (application/apply-patch+yaml).
func (rs *resource) apply(w http.ResponseWriter, r *http.Request, ri requestInfo, sub string, out output, opts writeOptions, body []byte) {
	if r.URL.Query().Get("fieldManager") == "" {
		rs.s.writeError(w, r, apierrors.NewBadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"))
		return
	}
	force := r.URL.Query().Get("force") == "true"
	patchObj := &unstructured.Unstructured{Object: map[string]interface{}{}}
	if err := yaml.Unmarshal(body, &patchObj.Object); err != nil {
		rs.s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err)))
		return
	}
	if patchObj.GetAPIVersion() != rs.kind.GVK.GroupVersion().String() || patchObj.GetKind() != rs.kind.GVK.Kind {
		rs.s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", patchObj.GetAPIVersion(), rs.kind.GVK.GroupVersion())))
		return
	}
	if patchObj.GetName() != ri.Name {
		rs.s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", patchObj.GetName(), ri.Name)))
		return
	}
	fm := rs.managers[sub]
	if fm == nil {
		fm = rs.managers[""]
	}
	_, err := rs.store.Get(r.Context(), rs.key(ri.Namespace, ri.Name), storage.GetOptions{})
	if err != nil && !isNotFound(err) {
		rs.s.writeError(w, r, toStatusError(err, rs.kind.GroupResource(), ri.Name))
		return
	}
	if isNotFound(err) && sub == "" {
		live := rs.kind.New()
		lm, _ := meta.Accessor(live)
		lm.SetName(ri.Name)
		lm.SetNamespace(ri.Namespace)
		live.GetObjectKind().SetGroupVersionKind(rs.kind.GVK)
		obj, err := fm.Apply(live, patchObj, opts.manager, force)
		if err == nil {
			obj, err = rs.typed(obj)
		}
		if err != nil {
			rs.s.writeError(w, r, applyError(err))
			return
		}
		if err := rs.checkNamespace(obj, ri); err != nil {
			rs.s.writeError(w, r, err)
			return
		}
		if def := rs.kind.Strategy.Default; def != nil {
			def(obj)
		}
		created, err := rs.createObject(r, obj, opts)
		if err != nil {
			rs.s.writeError(w, r, err)
			return
		}
		rs.writeResult(w, r, out, http.StatusCreated, created)
		return
	}
	updated, err := rs.updateObject(r, ri, sub, opts, func(cur runtime.Object) (runtime.Object, error) {
		curServed, err := rs.fromStorage(cur)
		if err != nil {
			return nil, err
		}
		obj, err := fm.Apply(curServed, patchObj, opts.manager, force)
		if err == nil {
			obj, err = rs.typed(obj)
		}
		if err != nil {
			return nil, applyError(err)
		}
		if def := rs.kind.Strategy.Default; def != nil {
			def(obj)
		}
		// The applied configuration's resourceVersion, if any, is a
		// precondition; otherwise apply is unconditional.
		m, _ := meta.Accessor(obj)
		if patchObj.GetResourceVersion() == "" {
			cm, _ := meta.Accessor(curServed)
			m.SetResourceVersion(cm.GetResourceVersion())
		}
		return rs.prepareUpdate(cur, obj, sub, opts, true)
	})
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	rs.writeResult(w, r, out, http.StatusOK, updated)
}

func applyError(err error) error {
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	return apierrors.NewBadRequest(err.Error())
}

// typed returns obj as the resource's Go type when it came back from the
// field manager in unstructured form.
func (rs *resource) typed(obj runtime.Object) (runtime.Object, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	out := rs.kind.New()
	if _, isU := out.(*unstructured.Unstructured); isU {
		return obj, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	out.GetObjectKind().SetGroupVersionKind(rs.kind.GVK)
	return out, nil
}
