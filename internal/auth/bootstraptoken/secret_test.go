package bootstraptoken

import (
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	tok := Token{ID: "abcdef", Secret: "0123456789abcdef"}
	cases := []struct {
		name       string
		credential string
		secret     func() *corev1.Secret
		wantUser   string
		wantGroups []string
		wantErr    error
	}{
		{name: "valid", credential: tok.Credential(), secret: func() *corev1.Secret { return Secret(tok, SecretOptions{}) },
			wantUser: "system:bootstrap:abcdef", wantGroups: []string{"system:bootstrappers"}},
		{name: "extra groups and future expiry", credential: tok.Credential(),
			secret: func() *corev1.Secret {
				return Secret(tok, SecretOptions{Expires: now.Add(time.Minute), ExtraGroups: []string{"system:bootstrappers:skiff:agents"}})
			},
			wantUser: "system:bootstrap:abcdef", wantGroups: []string{"system:bootstrappers", "system:bootstrappers:skiff:agents"}},
		{name: "expired", credential: tok.Credential(), secret: func() *corev1.Secret { return Secret(tok, SecretOptions{Expires: now}) }, wantErr: ErrExpired},
		{name: "wrong secret", credential: "abcdef.zzzzzzzzzzzzzzzz", secret: func() *corev1.Secret { return Secret(tok, SecretOptions{}) }, wantErr: ErrWrongSecret},
		{name: "no secret", credential: tok.Credential(), secret: func() *corev1.Secret { return nil }, wantErr: ErrNoSecret},
		{name: "being deleted", credential: tok.Credential(), secret: func() *corev1.Secret {
			s := Secret(tok, SecretOptions{})
			s.DeletionTimestamp = &metav1.Time{Time: now}
			return s
		}, wantErr: ErrNoSecret},
		{name: "not for authentication", credential: tok.Credential(), secret: func() *corev1.Secret {
			s := Secret(tok, SecretOptions{})
			delete(s.Data, KeyUsageAuth)
			return s
		}, wantErr: ErrNotForAuth},
		{name: "wrong type", credential: tok.Credential(), secret: func() *corev1.Secret {
			s := Secret(tok, SecretOptions{})
			s.Type = "Opaque"
			return s
		}, wantErr: ErrMalformedSec},
		{name: "bad extra group", credential: tok.Credential(), secret: func() *corev1.Secret {
			return Secret(tok, SecretOptions{ExtraGroups: []string{"system:masters"}})
		}, wantErr: ErrMalformedSec},
		{name: "not a credential", credential: "hello", secret: func() *corev1.Secret { return Secret(tok, SecretOptions{}) }, wantErr: ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user, groups, err := Authenticate(tc.credential, tc.secret(), now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || user != tc.wantUser || !slices.Equal(groups, tc.wantGroups) {
				t.Fatalf("= %q %v %v; want %q %v", user, groups, err, tc.wantUser, tc.wantGroups)
			}
		})
	}
}

func TestSecretShape(t *testing.T) {
	t.Parallel()
	s := Secret(Token{ID: "abcdef", Secret: "0123456789abcdef"}, SecretOptions{Description: "d", Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)})
	if s.Name != "bootstrap-token-abcdef" || s.Namespace != "kube-system" || s.Type != "bootstrap.kubernetes.io/token" {
		t.Errorf("secret meta %s/%s %s", s.Namespace, s.Name, s.Type)
	}
	for k, v := range map[string]string{"token-id": "abcdef", "token-secret": "0123456789abcdef", "expiration": "2030-01-02T03:04:05Z",
		"usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true", "description": "d"} {
		if string(s.Data[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, s.Data[k], v)
		}
	}
}
