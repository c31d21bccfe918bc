package apiserver

import (
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// impersonate applies the Impersonate-User, -Group and -Uid headers
// (kubectl --as, --as-group). Only system:masters may impersonate until
// RBAC lands; the impersonated user is then authorized as itself.
func (s *Server) impersonate(r *http.Request, u User) (User, error) {
	name := r.Header.Get(authenticationv1.ImpersonateUserHeader)
	groups := r.Header.Values(authenticationv1.ImpersonateGroupHeader)
	uid := r.Header.Get(authenticationv1.ImpersonateUIDHeader)
	if name == "" {
		if len(groups) > 0 || uid != "" {
			return u, apierrors.NewBadRequest(fmt.Sprintf("requested %v without impersonating a user", groups))
		}
		return u, nil
	}
	if !isMaster(u) {
		return u, apierrors.NewForbidden(schema.GroupResource{Resource: "users"}, name,
			fmt.Errorf("User %q cannot impersonate resource \"users\" in API group \"\" at the cluster scope", u.Name))
	}
	out := User{Name: name, UID: uid, Groups: append([]string{}, groups...)}
	if name != "system:anonymous" {
		out.Groups = append(out.Groups, "system:authenticated")
	}
	return out, nil
}
