package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/apiserver"
	"github.com/skiff/skiff/internal/auth/bootstraptoken"
)

// tokenAuth authenticates bootstrap tokens against their kube-system
// Secrets, kept in an informer of the server's own.
type tokenAuth struct {
	lister  corelisters.SecretLister
	factory informers.SharedInformerFactory
	cancel  context.CancelFunc
}

// startTokenAuth starts the bootstrap token Secret informer and waits
// until it has listed once. Until then bearer tokens are refused.
func (s *Server) startTokenAuth(ctx context.Context) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	f := informers.NewSharedInformerFactoryWithOptions(c, 0,
		informers.WithNamespace(bootstraptoken.SecretNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("type", string(bootstraptoken.SecretType)).String()
		}))
	secrets := f.Core().V1().Secrets()
	inf := secrets.Informer()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.tokens.Store(&tokenAuth{lister: secrets.Lister(), factory: f, cancel: cancel})
	f.Start(runCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("list bootstrap token secrets: %w", ctx.Err())
	}
	return nil
}

// stopTokenAuth stops the informer and waits for it.
func (s *Server) stopTokenAuth() {
	t := s.tokens.Load()
	if t == nil {
		return
	}
	t.cancel()
	t.factory.Shutdown()
}

// authenticate identifies a request: a client certificate verified
// against the client CA (CN is the user, O the groups), else a bootstrap
// token "Authorization: Bearer <id>.<secret>" (user
// system:bootstrap:<id>, group system:bootstrappers).
func (s *Server) authenticate(r *http.Request) (apiserver.User, bool) {
	if u, ok := authenticateCert(r); ok {
		return u, true
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return apiserver.User{}, false
	}
	tok = strings.TrimSpace(tok)
	t := s.tokens.Load()
	if t == nil || !bootstraptoken.IsCredential(tok) {
		return apiserver.User{}, false
	}
	id, _, _ := strings.Cut(tok, ".")
	sec, err := t.lister.Secrets(bootstraptoken.SecretNamespace).Get(bootstraptoken.SecretName(id))
	if err != nil && !apierrors.IsNotFound(err) {
		s.log.Debug("Bootstrap token lookup failed", "err", err)
		return apiserver.User{}, false
	}
	var secret *corev1.Secret
	if err == nil {
		secret = sec
	}
	name, groups, err := bootstraptoken.Authenticate(tok, secret, time.Now())
	if err != nil {
		s.log.Debug("Bootstrap token refused", "err", err)
		return apiserver.User{}, false
	}
	return apiserver.User{Name: name, Groups: append(groups, "system:authenticated")}, true
}

// authenticateCert accepts client certificates verified against the
// client CA: CN is the user, O the groups.
func authenticateCert(r *http.Request) (apiserver.User, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return apiserver.User{}, false
	}
	c := r.TLS.VerifiedChains[0][0]
	groups := append([]string{}, c.Subject.Organization...)
	groups = append(groups, "system:authenticated")
	return apiserver.User{Name: c.Subject.CommonName, Groups: groups}, true
}
