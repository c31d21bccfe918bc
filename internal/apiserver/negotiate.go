package apiserver

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// output is the negotiated form of a response.
type output struct {
	info runtime.SerializerInfo
	// as is the conversion kubectl asked for through the "as" parameter:
	// "", "Table", "PartialObjectMetadata", "PartialObjectMetadataList" or
	// "APIGroupDiscoveryList"; asGV is its group version.
	as   string
	asGV schema.GroupVersion
}

type acceptClause struct {
	typ    string
	params map[string]string
}

func parseAccept(h string) []acceptClause {
	if h == "" {
		return []acceptClause{{typ: "*/*"}}
	}
	var out []acceptClause
	for _, c := range strings.Split(h, ",") {
		typ, params, err := mime.ParseMediaType(strings.TrimSpace(c))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				continue
			}
		}
		out = append(out, acceptClause{typ: typ, params: params})
	}
	return out
}

// negotiate picks the first acceptable output. allowAs lists the "as"
// conversions this endpoint can produce.
func (s *Server) negotiate(r *http.Request, allowAs ...string) (output, error) {
	accept := r.Header.Get("Accept")
	for _, c := range parseAccept(accept) {
		info, ok := s.serializerFor(c.typ)
		if !ok {
			continue
		}
		as := c.params["as"]
		if as == "" {
			return output{info: info}, nil
		}
		gv := schema.GroupVersion{Group: c.params["g"], Version: c.params["v"]}
		for _, a := range allowAs {
			if a == as && acceptableAsGV(as, gv) {
				return output{info: info, as: as, asGV: gv}, nil
			}
		}
	}
	return output{}, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "", "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", 0, false)
}

func acceptableAsGV(as string, gv schema.GroupVersion) bool {
	switch as {
	case "Table", "PartialObjectMetadata", "PartialObjectMetadataList":
		return gv.Group == "meta.k8s.io" && (gv.Version == "v1" || gv.Version == "v1beta1")
	case "APIGroupDiscoveryList":
		return gv.Group == "apidiscovery.k8s.io" && (gv.Version == "v2" || gv.Version == "v2beta1")
	}
	return false
}

func (s *Server) serializerFor(typ string) (runtime.SerializerInfo, bool) {
	switch typ {
	case "*/*", "application/*":
		typ = runtime.ContentTypeJSON
	}
	for _, info := range s.codecs.SupportedMediaTypes() {
		if info.MediaType == typ {
			return info, true
		}
	}
	return runtime.SerializerInfo{}, false
}

// writeObject encodes obj in the negotiated form with the given status.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, out output, code int, obj runtime.Object) {
	enc := runtime.WithVersionEncoder{Version: schema.GroupVersion{}, Encoder: out.info.Serializer, ObjectTyper: s.scheme}
	if gvks, _, err := s.scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		enc.Version = gvks[0].GroupVersion()
	} else {
		enc.Version = obj.GetObjectKind().GroupVersionKind().GroupVersion()
	}
	if out.info.PrettySerializer != nil && r.URL.Query().Get("pretty") == "true" {
		enc.Encoder = out.info.PrettySerializer
	}
	w.Header().Set("Content-Type", out.info.MediaType)
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	if err := enc.Encode(obj, w); err != nil {
		s.log.Debug("Encoding a response failed", "err", err)
	}
}

// writeJSON encodes obj as JSON, for endpoints that only speak JSON.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, code int, obj runtime.Object) {
	info, _ := s.serializerFor(runtime.ContentTypeJSON)
	s.writeObject(w, r, output{info: info}, code, obj)
}
