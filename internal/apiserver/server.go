package apiserver

import (
	"context"
	"errors"
	"fmt"
	"k8s.io/utils/lru"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/version"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/storage"
)

// StoreFactory returns the Store of one resource, whose keys start with
// prefix. In production it is a watch cache over etcd.
type StoreFactory func(ctx context.Context, prefix string, codec storage.Codec, newFunc func() runtime.Object) (storage.Store, error)

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
}

// Authenticator identifies the user of a request; ok is false when the
// request carries no valid credentials.
type Authenticator func(r *http.Request) (u User, ok bool)

// Check is one named readiness or liveness check.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Config configures a Server.
type Config struct {
	Kinds        []kinds.Kind
	NewStore     StoreFactory
	Authenticate Authenticator
	// ReadyChecks run on /readyz in addition to the built-in ones.
	ReadyChecks []Check
	// ServiceCIDR is where Service cluster IPs come from (10.43.0.0/16).
	ServiceCIDR string
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Version is what /version answers.
	Version version.Info
	// OpenAPI, when set, replaces the generated /openapi/v2 and /openapi/v3.
	OpenAPI http.Handler
	// KubeletClient, when set, lets the server reach node agents for
	// pods/log, exec, attach, portforward and nodes/proxy; without it
	// those answer 503.
	KubeletClient *KubeletClientConfig
}

// Server is the HTTP handler of the Kubernetes API.
type Server struct {
	cfg           Config
	log           *slog.Logger
	scheme        *runtime.Scheme
	codecs        serializer.CodecFactory
	now           func() time.Time
	typeConverter managedfields.TypeConverter

	mu        sync.RWMutex
	resources map[schema.GroupVersionResource]*resource
	// order keeps discovery stable: group versions in registration order.
	order []schema.GroupVersion
	// kindsByGVK finds a resource from an object's kind, e.g. for owner checks.
	byStorage map[string]storage.Store

	openapi openAPI
	// encoded keeps recently encoded watch events (eventKey → []byte).
	encoded *lru.Cache
	alloc   *ipAllocator
	// kubelet reaches node agents; nil without Config.KubeletClient.
	kubelet *kubeletClient
	metrics *metrics
	// crdWG counts the CRD controller's goroutines (see Wait).
	crdWG sync.WaitGroup
	ready chan struct{}
	// stopping is closed by Shutdown so that open watches end and HTTP
	// shutdown need not wait for them.
	stopping     chan struct{}
	stoppingOnce sync.Once
	readyMu      sync.Once
}

var errStorageNotServed = errors.New("storage kind is not served")

// New builds a Server and the stores of every configured kind.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		now:       cfg.Now,
		resources: map[schema.GroupVersionResource]*resource{},
		byStorage: map[string]storage.Store{},
		metrics:   newMetrics(),
		ready:     make(chan struct{}),
		stopping:  make(chan struct{}),
		encoded:   lru.New(4096),
	}
	s.scheme, s.codecs = newScheme()
	s.typeConverter = builtinTypeConverter(s.scheme)
	if cfg.ServiceCIDR == "" {
		cfg.ServiceCIDR = "10.43.0.0/16"
	}
	alloc, err := newIPAllocator(cfg.ServiceCIDR)
	if err != nil {
		return nil, err
	}
	s.alloc = alloc
	if s.kubelet, err = newKubeletClient(cfg.KubeletClient); err != nil {
		return nil, err
	}
	// Stored kinds first, so kinds served through a conversion find them.
	for pass := 0; pass < 2; pass++ {
		for i := range cfg.Kinds {
			k := &cfg.Kinds[i]
			if (k.Storage != nil) != (pass == 1) {
				continue
			}
			if err := s.addKind(ctx, k, nil); err != nil {
				if errors.Is(err, errStorageNotServed) {
					s.log.Error("Kind not served", "kind", k.GVK.String(), "err", err)
					continue
				}
				return nil, fmt.Errorf("serve %s: %w", k.GroupVersionResource(), err)
			}
		}
	}
	if err := s.startCRDs(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// storagePrefix is the etcd key prefix of a resource's objects.
func storagePrefix(gr schema.GroupResource, custom bool) string {
	if custom {
		return "/registry/" + gr.Group + "/" + gr.Resource + "/"
	}
	return "/registry/" + gr.Resource + "/"
}

func (s *Server) addKind(ctx context.Context, k *kinds.Kind, crd *customInfo) error {
	r := &resource{s: s, kind: k, crd: crd}
	if k.Storage != nil {
		s.mu.RLock()
		var stored *resource
		for _, o := range s.resources {
			if o.kind.GVK == *k.Storage {
				stored = o
			}
		}
		s.mu.RUnlock()
		if stored == nil {
			return fmt.Errorf("%w: %s", errStorageNotServed, k.Storage)
		}
		r.storage = stored
		r.store, r.prefix = stored.store, stored.prefix
	} else {
		r.prefix = storagePrefix(k.GroupResource(), crd != nil)
		s.mu.RLock()
		st, ok := s.byStorage[r.prefix]
		s.mu.RUnlock()
		if !ok {
			var err error
			st, err = s.cfg.NewStore(ctx, r.prefix, s.storageCodec(k, crd != nil), k.New)
			if err != nil {
				return err
			}
		}
		r.store = st
	}
	if err := r.init(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gvr := k.GroupVersionResource()
	if _, ok := s.resources[gvr]; !ok {
		known := false
		for _, gv := range s.order {
			if gv == gvr.GroupVersion() {
				known = true
			}
		}
		if !known {
			s.order = append(s.order, gvr.GroupVersion())
		}
	}
	s.resources[gvr] = r
	s.invalidateOpenAPI()
	if k.Storage == nil {
		s.byStorage[r.prefix] = r.store
	}
	return nil
}

func (s *Server) removeResource(gvr schema.GroupVersionResource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.resources, gvr)
	s.invalidateOpenAPI()
	for _, r := range s.resources {
		if r.kind.GVK.GroupVersion() == gvr.GroupVersion() {
			return
		}
	}
	for i, gv := range s.order {
		if gv == gvr.GroupVersion() {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
}

func (s *Server) lookup(gvr schema.GroupVersionResource) *resource {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.resources[gvr]
}

// resourceFor finds the resource serving a kind, for callers that hold an
// object (owner references, bindings).
func (s *Server) resourceFor(gvk schema.GroupVersionKind) *resource {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.resources {
		if r.kind.GVK == gvk {
			return r
		}
	}
	return nil
}

// Shutdown ends open watches; call it when the HTTP server shuts down.
func (s *Server) Shutdown() {
	s.stoppingOnce.Do(func() { close(s.stopping) })
}

// MarkReady makes /readyz pass once the server's own bootstrap is done.
func (s *Server) MarkReady() {
	s.readyMu.Do(func() { close(s.ready) })
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("Request handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			s.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("%v", v)))
		}
	}()
	start := s.now()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	defer func() {
		s.metrics.observe(r, rec.code, s.now().Sub(start))
	}()
	w = rec
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/livez" || p == "/readyz" ||
		strings.HasPrefix(p, "/healthz/") || strings.HasPrefix(p, "/livez/") || strings.HasPrefix(p, "/readyz/"):
		s.serveHealth(w, r)
		return
	case p == "/version" || p == "/version/":
		s.serveVersion(w, r)
		return
	}
	user, ok := s.authenticate(r)
	if !ok {
		s.writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	user, err := s.impersonate(r, user)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := withUser(r.Context(), user)
	r = r.WithContext(ctx)
	switch {
	case p == "/metrics":
		s.metrics.serve(w, r)
		return
	case p == "/openapi/v2" || strings.HasPrefix(p, "/openapi/v3"):
		s.serveOpenAPI(w, r)
		return
	}
	if s.serveDiscovery(w, r) {
		return
	}
	ri, ok := parseRequest(r)
	if !ok {
		s.writeError(w, r, apierrors.NewGenericServerResponse(http.StatusNotFound, "", schema.GroupResource{}, "", "the server could not find the requested resource", 0, false))
		return
	}
	s.serveResource(w, r, ri)
}

func (s *Server) authenticate(r *http.Request) (User, bool) {
	if s.cfg.Authenticate == nil {
		return User{Name: "system:admin", Groups: []string{"system:masters", "system:authenticated"}}, true
	}
	return s.cfg.Authenticate(r)
}

type userKey struct{}

func withUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

func userFrom(ctx context.Context) User {
	u, _ := ctx.Value(userKey{}).(User)
	return u
}

// statusRecorder remembers the response code for metrics and keeps
// streaming working.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
