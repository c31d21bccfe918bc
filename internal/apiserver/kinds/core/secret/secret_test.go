package secret

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDefault(t *testing.T) {
	s := &corev1.Secret{Data: map[string][]byte{"a": []byte("1"), "b": []byte("2")}, StringData: map[string]string{"b": "two"}}
	Default(s)
	want := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": []byte("1"), "b": []byte("two")}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Default (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		s    corev1.Secret
		want []string
	}{
		{"opaque", corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": nil}}, nil},
		{"tls", corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte("x")}}, []string{"data[tls.key]: Required value"}},
		{"sa token", corev1.Secret{Type: corev1.SecretTypeServiceAccountToken}, []string{"metadata.annotations[kubernetes.io/service-account.name]: Required value"}},
		{"dockerconfigjson", corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("{")}}, []string{
			`data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range Validate(&tc.s) {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	yes := true
	old := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": []byte("1")}, Immutable: &yes}
	s := &corev1.Secret{Type: "foo/bar", Data: map[string][]byte{"a": []byte("2")}, Immutable: &yes}
	var got []string
	for _, e := range ValidateUpdate(s, old) {
		got = append(got, e.Error())
	}
	want := []string{
		`type: Invalid value: "foo/bar": field is immutable`,
		"data: Forbidden: field is immutable when `immutable` is set",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidateUpdate (-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	now := time.Now()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", CreationTimestamp: metav1.NewTime(now.Add(-3 * 24 * time.Hour))}, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}}
	if diff := cmp.Diff([]interface{}{"s", "kubernetes.io/tls", int64(2), "3d"}, Kind().Strategy.Row(s, now)); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	if got := Kind().Strategy.Fields(s); got["type"] != "kubernetes.io/tls" {
		t.Errorf("Fields = %v", got)
	}
}
