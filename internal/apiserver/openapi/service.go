package openapi

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/kube-openapi/pkg/handler3"
)

// Media types of the OpenAPI v2 document.
const (
	mediaJSON = "application/json"
	// MediaV2Protobuf is the protobuf media type kubectl asks for.
	MediaV2Protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	// mediaV2ProtobufReply is the spelling upstream answers with.
	mediaV2ProtobufReply = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
)

// Service serves the OpenAPI documents of a set of resources over HTTP:
//
//	GET /openapi/v2                     the v2 document, JSON or protobuf
//	GET /openapi/v3                     the v3 discovery document
//	GET /openapi/v3/<gv path>?hash=H    one v3 document, JSON or protobuf
//
// It expects request paths as the client sent them (mount it at the server
// root, without stripping a prefix). All methods are safe for concurrent
// use; Update swaps the documents atomically for readers.
type Service struct {
	v3 *handler3.OpenAPIService

	mu  sync.RWMutex
	v2  *v2Doc
	gvs map[string]bool // v3 document keys currently served
}

// v2Doc is one immutable rendering of the v2 document. The protobuf form is
// computed on first use, since older kubectl versions are its only readers.
type v2Doc struct {
	json []byte
	etag string

	protoOnce sync.Once
	proto     []byte
	protoErr  error
}

func (d *v2Doc) protobuf() ([]byte, error) {
	d.protoOnce.Do(func() {
		doc, err := openapi_v2.ParseDocument(d.json)
		if err != nil {
			d.protoErr = fmt.Errorf("parse openapi v2 document: %w", err)
			return
		}
		d.proto, d.protoErr = proto.Marshal(doc)
	})
	return d.proto, d.protoErr
}

// NewService builds the documents of resources and returns a Service
// serving them. It returns the builders' errors.
func NewService(resources []Resource) (*Service, error) {
	s := &Service{v3: handler3.NewOpenAPIService(), gvs: map[string]bool{}}
	if err := s.Update(resources); err != nil {
		return nil, err
	}
	return s, nil
}

// Update rebuilds the documents from resources (for example after a CRD
// changed) and serves them from then on. On error the previous documents
// stay in place.
func (s *Service) Update(resources []Resource) error {
	swagger, err := BuildV2(resources)
	if err != nil {
		return fmt.Errorf("build openapi v2: %w", err)
	}
	v2JSON, err := json.Marshal(swagger)
	if err != nil {
		return fmt.Errorf("marshal openapi v2: %w", err)
	}
	docs, err := BuildV3(resources)
	if err != nil {
		return fmt.Errorf("build openapi v3: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.v2 = &v2Doc{json: v2JSON, etag: etag(v2JSON)}
	for gv := range s.gvs {
		if _, ok := docs[gv]; !ok {
			s.v3.DeleteGroupVersion(gv)
		}
	}
	s.gvs = make(map[string]bool, len(docs))
	for gv, doc := range docs {
		s.v3.UpdateGroupVersion(gv, doc)
		s.gvs[gv] = true
	}
	return nil
}

func etag(data []byte) string {
	return fmt.Sprintf("%X", sha512.Sum512(data))
}

// ServeHTTP serves /openapi/v2, /openapi/v3 and /openapi/v3/<gv path>, and
// answers 404 for anything else.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/openapi/v2":
		s.serveV2(w, r)
	case p == "/openapi/v3" || p == "/openapi/v3/":
		s.v3.HandleDiscovery(w, r)
	case strings.HasPrefix(p, "/openapi/v3/"):
		s.mu.RLock()
		known := s.gvs[strings.TrimPrefix(p, "/openapi/v3/")]
		s.mu.RUnlock()
		if !known {
			http.NotFound(w, r)
			return
		}
		s.v3.HandleGroupVersion(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Service) serveV2(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	doc := s.v2
	s.mu.RUnlock()

	w.Header().Add("Vary", "Accept")
	var body []byte
	switch negotiateV2(r.Header.Get("Accept")) {
	case mediaJSON:
		w.Header().Set("Content-Type", mediaJSON)
		body = doc.json
	case mediaV2ProtobufReply:
		pb, err := doc.protobuf()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", mediaV2ProtobufReply)
		body = pb
	default:
		http.Error(w, "only application/json and "+MediaV2Protobuf+" are served", http.StatusNotAcceptable)
		return
	}
	// Both encodings share the etag; Vary: Accept keeps caches apart.
	w.Header().Set("Etag", strconv.Quote(doc.etag))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// negotiateV2 returns the media type to answer an Accept header with, or ""
// when nothing acceptable is served. Clauses are tried by decreasing
// quality, in header order for equal qualities.
func negotiateV2(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON
	}
	type clause struct {
		media string
		q     float64
	}
	var clauses []clause
	for _, part := range strings.Split(accept, ",") {
		media, params, _ := strings.Cut(part, ";")
		c := clause{media: strings.ToLower(strings.TrimSpace(media)), q: 1}
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.TrimSpace(k) == "q" {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					c.q = q
				}
			}
		}
		if c.q > 0 {
			clauses = append(clauses, c)
		}
	}
	sort.SliceStable(clauses, func(i, j int) bool { return clauses[i].q > clauses[j].q })
	for _, c := range clauses {
		switch c.media {
		case mediaJSON, "application/*", "*/*":
			return mediaJSON
		case MediaV2Protobuf, mediaV2ProtobufReply:
			return mediaV2ProtobufReply
		}
	}
	return ""
}
