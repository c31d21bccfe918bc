package bootstraptoken

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names and keys of bootstrap token Secrets, as upstream defines them, so
// that `kubeadm token create`-style Secrets work too.
const (
	// SecretNamespace holds every bootstrap token Secret.
	SecretNamespace = metav1.NamespaceSystem
	// SecretNamePrefix plus the token ID names a token's Secret.
	SecretNamePrefix = "bootstrap-token-"
	// SecretType is the type of bootstrap token Secrets.
	SecretType corev1.SecretType = "bootstrap.kubernetes.io/token"

	KeyID          = "token-id"
	KeySecret      = "token-secret"
	KeyDescription = "description"
	KeyExpiration  = "expiration"
	KeyUsageAuth   = "usage-bootstrap-authentication"
	KeyUsageSign   = "usage-bootstrap-signing"
	KeyExtraGroups = "auth-extra-groups"
)

// Identity of a bootstrap token's user.
const (
	// UserPrefix plus the token ID is the user name.
	UserPrefix = "system:bootstrap:"
	// Group every bootstrap token user is in.
	Group = "system:bootstrappers"
)

var extraGroupRE = regexp.MustCompile(`^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$`)

// SecretName returns the name of the Secret of token id.
func SecretName(id string) string { return SecretNamePrefix + id }

// SecretOptions are the optional fields of a token's Secret.
type SecretOptions struct {
	// Description is shown to admins listing tokens.
	Description string
	// Expires, when not zero, is when the token stops authenticating.
	Expires time.Time
	// ExtraGroups are more groups of the token's user; each must start
	// with "system:bootstrappers:".
	ExtraGroups []string
}

// Secret returns the kube-system Secret that makes the API server accept
// t for authentication (and, as upstream, for signing).
func Secret(t Token, opts SecretOptions) *corev1.Secret {
	data := map[string][]byte{
		KeyID:        []byte(t.ID),
		KeySecret:    []byte(t.Secret),
		KeyUsageAuth: []byte("true"),
		KeyUsageSign: []byte("true"),
	}
	if opts.Description != "" {
		data[KeyDescription] = []byte(opts.Description)
	}
	if !opts.Expires.IsZero() {
		data[KeyExpiration] = []byte(opts.Expires.UTC().Format(time.RFC3339))
	}
	if len(opts.ExtraGroups) > 0 {
		data[KeyExtraGroups] = []byte(strings.Join(opts.ExtraGroups, ","))
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretName(t.ID), Namespace: SecretNamespace},
		Type:       SecretType,
		Data:       data,
	}
}

// Reasons a presented token is refused. The API server answers 401 to
// all of them alike; they are for its debug log.
var (
	ErrNoSecret     = errors.New("no bootstrap token secret")
	ErrWrongSecret  = errors.New("bootstrap token secret does not match")
	ErrExpired      = errors.New("bootstrap token has expired")
	ErrNotForAuth   = errors.New("bootstrap token is not usable for authentication")
	ErrMalformedSec = errors.New("bootstrap token secret is malformed")
)

// Authenticate checks the bearer credential "<id>.<secret>" against s, the
// Secret named SecretName(id) (nil when there is none), at now. It returns
// the user name and groups (without system:authenticated, which the API
// server adds) or an error saying why the token is refused.
func Authenticate(credential string, s *corev1.Secret, now time.Time) (user string, groups []string, err error) {
	m := credentialRE.FindStringSubmatch(credential)
	if m == nil {
		return "", nil, ErrInvalid
	}
	id, secret := m[1], m[2]
	if s == nil || s.DeletionTimestamp != nil {
		return "", nil, fmt.Errorf("token %s: %w", id, ErrNoSecret)
	}
	if s.Type != SecretType || s.Name != SecretName(id) || string(s.Data[KeyID]) != id {
		return "", nil, fmt.Errorf("token %s: %w", id, ErrMalformedSec)
	}
	if subtle.ConstantTimeCompare(s.Data[KeySecret], []byte(secret)) != 1 {
		return "", nil, fmt.Errorf("token %s: %w", id, ErrWrongSecret)
	}
	if exp := string(s.Data[KeyExpiration]); exp != "" {
		t, perr := time.Parse(time.RFC3339, exp)
		if perr != nil {
			return "", nil, fmt.Errorf("token %s: %w: expiration %q", id, ErrMalformedSec, exp)
		}
		if !now.Before(t) {
			return "", nil, fmt.Errorf("token %s: %w", id, ErrExpired)
		}
	}
	if string(s.Data[KeyUsageAuth]) != "true" {
		return "", nil, fmt.Errorf("token %s: %w", id, ErrNotForAuth)
	}
	groups = []string{Group}
	if extra := string(s.Data[KeyExtraGroups]); extra != "" {
		for _, g := range strings.Split(extra, ",") {
			if !extraGroupRE.MatchString(g) {
				return "", nil, fmt.Errorf("token %s: %w: group %q", id, ErrMalformedSec, g)
			}
			groups = append(groups, g)
		}
	}
	return UserPrefix + id, groups, nil
}

// Expires returns when the token of s expires, zero for never (or
// unparseable, which Authenticate refuses anyway).
func Expires(s *corev1.Secret) time.Time {
	t, _ := time.Parse(time.RFC3339, string(s.Data[KeyExpiration])) // zero on error, see above
	return t
}
