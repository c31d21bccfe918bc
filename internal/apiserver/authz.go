package apiserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/auth"
)

// isMaster reports whether u is in system:masters, which may do anything.
func isMaster(u User) bool {
	for _, g := range u.Groups {
		if g == "system:masters" {
			return true
		}
	}
	return false
}

// authorize decides a resource request with the fixed policy of
// internal/auth until RBAC lands: system:masters may do anything, nodes
// and bootstrappers what joining and running pods need.
func (s *Server) authorize(r *http.Request, ri requestInfo) bool {
	return auth.Authorize(attributes(userFrom(r.Context()), ri))
}

func attributes(u User, ri requestInfo) auth.Attributes {
	return auth.Attributes{User: u.Name, Groups: u.Groups, Verb: ri.Verb, APIGroup: ri.Group,
		Resource: ri.Resource, Subresource: ri.Subresource, Namespace: ri.Namespace, Name: ri.Name}
}

// forbidden is the error of a request authorize refused, worded as
// upstream's RBAC authorizer does.
func forbidden(u User, ri requestInfo) error {
	res := ri.Resource
	if ri.Subresource != "" {
		res += "/" + ri.Subresource
	}
	msg := fmt.Sprintf("User %q cannot %s resource %q in API group %q", u.Name, ri.Verb, res, ri.Group)
	if ri.Namespace != "" {
		msg += fmt.Sprintf(" in the namespace %q", ri.Namespace)
	} else {
		msg += " at the cluster scope"
	}
	return apierrors.NewForbidden(schema.GroupResource{Group: ri.Group, Resource: ri.Resource}, ri.Name, errors.New(msg))
}

// virtualResource is a create-only resource computed per request
// (reviews), never stored.
type virtualResource struct {
	gv      schema.GroupVersion
	res     metav1.APIResource
	handler func(s *Server, w http.ResponseWriter, r *http.Request, ri requestInfo)
}

var virtualResources = []virtualResource{
	{
		gv:      schema.GroupVersion{Version: "v1"},
		res:     metav1.APIResource{Name: "bindings", Namespaced: true, Kind: "Binding", Verbs: []string{"create"}},
		handler: (*Server).createBinding,
	},
	{
		gv:      schema.GroupVersion{Group: "authentication.k8s.io", Version: "v1"},
		res:     metav1.APIResource{Name: "tokenreviews", Kind: "TokenReview", Verbs: []string{"create"}},
		handler: (*Server).tokenReview,
	},
	{
		gv:      schema.GroupVersion{Group: "authorization.k8s.io", Version: "v1"},
		res:     metav1.APIResource{Name: "subjectaccessreviews", Kind: "SubjectAccessReview", Verbs: []string{"create"}},
		handler: (*Server).subjectAccessReview,
	},
	{
		gv:      schema.GroupVersion{Group: "authorization.k8s.io", Version: "v1"},
		res:     metav1.APIResource{Name: "localsubjectaccessreviews", Namespaced: true, Kind: "LocalSubjectAccessReview", Verbs: []string{"create"}},
		handler: (*Server).subjectAccessReview,
	},
	{
		gv:      schema.GroupVersion{Group: "authentication.k8s.io", Version: "v1"},
		res:     metav1.APIResource{Name: "selfsubjectreviews", Kind: "SelfSubjectReview", Verbs: []string{"create"}},
		handler: (*Server).selfSubjectReview,
	},
	{
		gv:      schema.GroupVersion{Group: "authorization.k8s.io", Version: "v1"},
		res:     metav1.APIResource{Name: "selfsubjectaccessreviews", Kind: "SelfSubjectAccessReview", Verbs: []string{"create"}},
		handler: (*Server).selfSubjectAccessReview,
	},
	{
		gv:      schema.GroupVersion{Group: "authorization.k8s.io", Version: "v1"},
		res:     metav1.APIResource{Name: "selfsubjectrulesreviews", Kind: "SelfSubjectRulesReview", Verbs: []string{"create"}},
		handler: (*Server).selfSubjectRulesReview,
	},
}

func (s *Server) virtual(gvr schema.GroupVersionResource) func(http.ResponseWriter, *http.Request, requestInfo) {
	for _, v := range virtualResources {
		if v.gv == gvr.GroupVersion() && v.res.Name == gvr.Resource {
			h := v.handler
			return func(w http.ResponseWriter, r *http.Request, ri requestInfo) {
				if ri.Verb != "create" || ri.Name != "" {
					s.writeError(w, r, apierrors.NewMethodNotSupported(gvr.GroupResource(), ri.Verb))
					return
				}
				if !s.authorize(r, ri) {
					s.writeError(w, r, forbidden(userFrom(r.Context()), ri))
					return
				}
				h(s, w, r, ri)
			}
		}
	}
	return nil
}

func (s *Server) selfSubjectReview(w http.ResponseWriter, r *http.Request, _ requestInfo) {
	u := userFrom(r.Context())
	out := &authenticationv1.SelfSubjectReview{
		TypeMeta: metav1.TypeMeta{Kind: "SelfSubjectReview", APIVersion: "authentication.k8s.io/v1"},
		Status:   authenticationv1.SelfSubjectReviewStatus{UserInfo: authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}},
	}
	s.writeJSON(w, r, http.StatusCreated, out)
}

func (s *Server) selfSubjectAccessReview(w http.ResponseWriter, r *http.Request, _ requestInfo) {
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rev := &authorizationv1.SelfSubjectAccessReview{}
	if err := s.decodeInto(r, body, authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview"), rev); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev.TypeMeta = metav1.TypeMeta{Kind: "SelfSubjectAccessReview", APIVersion: "authorization.k8s.io/v1"}
	if reviewAllowed(userFrom(r.Context()), rev.Spec.ResourceAttributes) {
		rev.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true}
	} else {
		// Upstream's RBAC authorizer denies with no reason when no rule
		// matches; kubectl then prints a bare "no".
		rev.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: false}
	}
	s.writeJSON(w, r, http.StatusCreated, rev)
}

func (s *Server) selfSubjectRulesReview(w http.ResponseWriter, r *http.Request, _ requestInfo) {
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rev := &authorizationv1.SelfSubjectRulesReview{}
	if err := s.decodeInto(r, body, authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectRulesReview"), rev); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev.TypeMeta = metav1.TypeMeta{Kind: "SelfSubjectRulesReview", APIVersion: "authorization.k8s.io/v1"}
	if isMaster(userFrom(r.Context())) {
		rev.Status.ResourceRules = []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
		rev.Status.NonResourceRules = []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}
	}
	s.writeJSON(w, r, http.StatusCreated, rev)
}

// createBinding serves the legacy POST /api/v1/namespaces/{ns}/bindings,
// which binds the pod named in the Binding.
func (s *Server) createBinding(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	pods := s.lookup(schema.GroupVersionResource{Version: "v1", Resource: "pods"})
	if pods == nil {
		s.writeError(w, r, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, ""))
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b := &corev1.Binding{}
	if err := s.decodeInto(r, body, corev1.SchemeGroupVersion.WithKind("Binding"), b); err != nil {
		s.writeError(w, r, err)
		return
	}
	ri.Name, ri.Resource, ri.Subresource = b.Name, "pods", "binding"
	r.Body = io.NopCloser(bytes.NewReader(body))
	pods.serveBinding(w, r, ri)
}

// tokenReview answers TokenReviews. Skiff has no bearer tokens yet, so
// every token is unauthenticated.
func (s *Server) tokenReview(w http.ResponseWriter, r *http.Request, _ requestInfo) {
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rev := &authenticationv1.TokenReview{}
	if err := s.decodeInto(r, body, authenticationv1.SchemeGroupVersion.WithKind("TokenReview"), rev); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev.TypeMeta = metav1.TypeMeta{Kind: "TokenReview", APIVersion: "authentication.k8s.io/v1"}
	rev.Status = authenticationv1.TokenReviewStatus{Authenticated: false, Error: "token authentication is not enabled"}
	s.writeJSON(w, r, http.StatusCreated, rev)
}

// subjectAccessReview decides for the user named in the review.
func (s *Server) subjectAccessReview(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rev := &authorizationv1.SubjectAccessReview{}
	kind := "SubjectAccessReview"
	if ri.Resource == "localsubjectaccessreviews" {
		kind = "LocalSubjectAccessReview"
	}
	if err := s.decodeInto(r, body, authorizationv1.SchemeGroupVersion.WithKind(kind), rev); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev.TypeMeta = metav1.TypeMeta{Kind: kind, APIVersion: "authorization.k8s.io/v1"}
	if reviewAllowed(User{Name: rev.Spec.User, Groups: rev.Spec.Groups}, rev.Spec.ResourceAttributes) {
		rev.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true}
	} else {
		rev.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: false, Reason: "no RBAC policy matched"}
	}
	s.writeJSON(w, r, http.StatusCreated, rev)
}

// reviewAllowed decides an access review's resource attributes for u;
// non-resource reviews are allowed to masters only.
func reviewAllowed(u User, ra *authorizationv1.ResourceAttributes) bool {
	if ra == nil {
		return isMaster(u)
	}
	return auth.Authorize(auth.Attributes{User: u.Name, Groups: u.Groups, Verb: ra.Verb, APIGroup: ra.Group,
		Resource: ra.Resource, Subresource: ra.Subresource, Namespace: ra.Namespace, Name: ra.Name})
}
