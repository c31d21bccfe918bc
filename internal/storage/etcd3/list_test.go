package etcd3

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/skiff/skiff/internal/storage"
)

func TestContinueToken(t *testing.T) {
	tok, err := encodeContinue("/registry/pods/ns/web\x00", "/registry/pods/", 42)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"v":"meta.k8s.io/v1","rv":42,"start":"ns/web\u0000"}`; string(raw) != want {
		t.Errorf("token JSON %s, want %s", raw, want)
	}
	key, rev, err := decodeContinue(tok, "/registry/pods/")
	if err != nil {
		t.Fatal(err)
	}
	if key != "/registry/pods/ns/web\x00" || rev != 42 {
		t.Errorf("decoded (%q, %d), want (%q, 42)", key, rev, "/registry/pods/ns/web\x00")
	}
	if _, err := encodeContinue("/other/x", "/registry/pods/", 1); err == nil {
		t.Error("key outside the prefix: want error")
	}
}

func TestDecodeContinueInvalid(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, token string
	}{
		{name: "not base64", token: "!!"},
		{name: "not json", token: b64("nope")},
		{name: "wrong version", token: b64(`{"v":"v2","rv":1,"start":"a"}`)},
		{name: "no revision", token: b64(`{"v":"meta.k8s.io/v1","start":"a"}`)},
		{name: "empty start", token: b64(`{"v":"meta.k8s.io/v1","rv":1}`)},
		{name: "unclean start", token: b64(`{"v":"meta.k8s.io/v1","rv":1,"start":"a/../../b"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := decodeContinue(tc.token, "/p/"); !errors.Is(err, storage.ErrInvalidContinue) {
				t.Errorf("got %v, want ErrInvalidContinue", err)
			}
		})
	}
}
