package apiserver

import (
	"net/http"
	"sort"
	"sync"
	"sync/atomic"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/skiff/skiff/internal/apiserver/openapi"
)

// openAPI serves /openapi/v2 and /openapi/v3, built on first use (it
// takes ~100 ms, which startup should not pay) and rebuilt after the set
// of resources changed.
type openAPI struct {
	mu  sync.Mutex
	svc *openapi.Service
	// dirty is set by whoever changes resources (holding Server.mu), so it
	// must not need openAPI.mu: that lock is held while reading resources.
	dirty atomic.Bool
}

// schemaSource is implemented by custom resources that have a schema.
type schemaSource interface {
	openAPISchema() *apiextensionsv1.JSONSchemaProps
}

func (s *Server) openAPIResources() []openapi.Resource {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]openapi.Resource, 0, len(s.resources))
	for _, r := range s.resources {
		k := r.kind
		res := openapi.Resource{GVK: k.GVK, Resource: k.Resource, Namespaced: k.Namespaced, Verbs: k.AllVerbs()}
		if k.HasStatus {
			res.Subresources = append(res.Subresources, "status")
		}
		if k.Scale != nil {
			res.Subresources = append(res.Subresources, "scale")
		}
		if r.crd == nil {
			res.Object, res.List = k.New(), k.NewList()
		} else if src, ok := interface{}(r.crd).(schemaSource); ok {
			res.Schema = src.openAPISchema()
		}
		out = append(out, res)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GVK.Group != out[j].GVK.Group {
			return out[i].GVK.Group < out[j].GVK.Group
		}
		if out[i].GVK.Version != out[j].GVK.Version {
			return out[i].GVK.Version < out[j].GVK.Version
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}

// invalidateOpenAPI marks the documents stale after resources changed.
func (s *Server) invalidateOpenAPI() { s.openapi.dirty.Store(true) }

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OpenAPI != nil {
		s.cfg.OpenAPI.ServeHTTP(w, r)
		return
	}
	s.openapi.mu.Lock()
	var err error
	switch {
	case s.openapi.svc == nil:
		s.openapi.dirty.Store(false)
		s.openapi.svc, err = openapi.NewService(s.openAPIResources())
	case s.openapi.dirty.Swap(false):
		err = s.openapi.svc.Update(s.openAPIResources())
	}
	if err != nil {
		s.openapi.dirty.Store(true)
	}
	svc := s.openapi.svc
	s.openapi.mu.Unlock()
	if svc == nil {
		s.writeError(w, r, err)
		return
	}
	if err != nil {
		s.log.Error("Updating the OpenAPI documents failed", "err", err)
	}
	svc.ServeHTTP(w, r)
}
