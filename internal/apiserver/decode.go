package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// maxRequestBodyBytes is upstream's limit on request bodies (3 MiB).
const maxRequestBodyBytes = 3 * 1024 * 1024

// readBody reads the whole request body, answering 413 when it is over
// the limit.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to read the request body: %v", err))
	}
	if len(data) > maxRequestBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", maxRequestBodyBytes))
	}
	return data, nil
}

// fieldValidation reads the fieldValidation parameter (default Warn, as
// upstream since 1.27).
func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return metav1.FieldValidationWarn, nil
	case metav1.FieldValidationIgnore, metav1.FieldValidationWarn, metav1.FieldValidationStrict:
		return v, nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %s. Supported values: Ignore, Warn, Strict", v))
}

// decodeBody decodes a request body into a new object of the resource's
// served kind, applying the fieldValidation directive.
func (rs *resource) decodeBody(w http.ResponseWriter, r *http.Request, body []byte) (runtime.Object, error) {
	directive, err := fieldValidation(r)
	if err != nil {
		return nil, err
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "" {
		mt = runtime.ContentTypeJSON
	}
	gvk := rs.kind.GVK
	if rs.crd != nil {
		return rs.decodeCustom(w, mt, body, directive)
	}
	info, ok := rs.s.serializerFor(mt)
	if !ok {
		return nil, unsupportedMediaType(mt)
	}
	dec := info.StrictSerializer
	if dec == nil {
		dec = info.Serializer
	}
	obj, got, err := dec.Decode(body, &gvk, rs.kind.New())
	if err != nil {
		strictErr, isStrict := runtime.AsStrictDecodingError(err)
		switch {
		case isStrict && obj != nil && directive == metav1.FieldValidationWarn:
			for _, e := range strictErr.Errors() {
				addWarning(w, e.Error())
			}
		case isStrict && obj != nil && directive == metav1.FieldValidationIgnore:
		default:
			if got == nil || got.Kind == "" {
				return nil, unrecognizedError(gvk.Kind, err, body, mt)
			}
			return nil, decodeError(got, err, body)
		}
	}
	if got != nil && got.GroupVersion() != gvk.GroupVersion() {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion(), gvk.GroupVersion()))
	}
	if got != nil && got.Kind != gvk.Kind {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, gvk.Kind))
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

func decodeError(gvk *schema.GroupVersionKind, err error, body []byte) error {
	if gvk != nil && gvk.Kind != "" {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
	}
	return apierrors.NewBadRequest(fmt.Sprintf("the object provided is unrecognized: %v (%s)", err, summarize(body)))
}

// unrecognizedError is upstream's answer to a body it could not even read
// the kind of, e.g. cut-off JSON.
func unrecognizedError(kind string, err error, body []byte, mt string) error {
	summary := summarize(body)
	if mt == runtime.ContentTypeYAML {
		summary = summarizeHex(body)
	}
	return apierrors.NewBadRequest(fmt.Sprintf("the object provided is unrecognized (must be of type %s): %v (%s)", kind, err, summary))
}

func summarizeHex(data []byte) string {
	if len(data) > 30 {
		return fmt.Sprintf("%x ...", data[:30])
	}
	return fmt.Sprintf("%x", data)
}

func summarize(data []byte) string {
	if len(data) > 30 {
		return string(data[:30]) + " ..."
	}
	return string(data)
}

// addWarning adds an HTTP Warning header the way upstream does (code 299).
func addWarning(w http.ResponseWriter, msg string) {
	w.Header().Add("Warning", fmt.Sprintf("299 - %q", msg))
}

// decodeCustom decodes a custom resource body into an Unstructured.
func (rs *resource) decodeCustom(w http.ResponseWriter, mt string, body []byte, directive string) (runtime.Object, error) {
	switch mt {
	case runtime.ContentTypeJSON:
	case runtime.ContentTypeYAML:
		j, err := yaml.YAMLToJSON(body)
		if err != nil {
			return nil, decodeError(&rs.kind.GVK, err, body)
		}
		body = j
	default:
		return nil, unsupportedMediaType(mt)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(body); err != nil {
		return nil, decodeError(&rs.kind.GVK, err, body)
	}
	gvk := u.GroupVersionKind()
	if gvk.GroupVersion() != rs.kind.GVK.GroupVersion() {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", gvk.GroupVersion(), rs.kind.GVK.GroupVersion()))
	}
	if gvk.Kind != rs.kind.GVK.Kind {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", gvk.Kind, rs.kind.GVK.Kind))
	}
	if unknown := rs.crd.prune(u); len(unknown) > 0 {
		switch directive {
		case metav1.FieldValidationStrict:
			msgs := make([]string, len(unknown))
			for i, f := range unknown {
				msgs[i] = fmt.Sprintf("unknown field %q", f)
			}
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: strict decoding error: %s", gvk.Kind, gvk.Version, gvk.Kind, strings.Join(msgs, ", ")))
		case metav1.FieldValidationWarn:
			for _, f := range unknown {
				addWarning(w, fmt.Sprintf("unknown field %q", f))
			}
		}
	}
	return u, nil
}

var errDryRun = errors.New("dry run")

// decodeInto decodes a body of any supported content type into into,
// for the small request types (options, reviews, bindings).
func (s *Server) decodeInto(r *http.Request, body []byte, gvk schema.GroupVersionKind, into runtime.Object) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "" {
		mt = runtime.ContentTypeJSON
	}
	info, ok := s.serializerFor(mt)
	if !ok {
		return unsupportedMediaType(mt)
	}
	if _, _, err := info.Serializer.Decode(body, &gvk, into); err != nil {
		// Options may come as meta.k8s.io/v1 or as the group's own version.
		if err2 := json.Unmarshal(body, into); mt == runtime.ContentTypeJSON && err2 == nil {
			return nil
		}
		return apierrors.NewBadRequest(fmt.Sprintf("unable to decode %s: %v", gvk.Kind, err))
	}
	return nil
}
