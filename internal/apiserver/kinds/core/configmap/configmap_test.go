package configmap

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		cm   corev1.ConfigMap
		want []string
	}{
		{"valid", corev1.ConfigMap{Data: map[string]string{"a.conf": "x"}, BinaryData: map[string][]byte{"b": {1}}}, nil},
		{"bad key", corev1.ConfigMap{Data: map[string]string{"a/b": "x"}}, []string{
			`data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
		}},
		{"duplicate", corev1.ConfigMap{Data: map[string]string{"a": "x"}, BinaryData: map[string][]byte{"a": {1}}}, []string{
			`binaryData[a]: Invalid value: "a": duplicate of key present in data`,
		}},
		{"too big", corev1.ConfigMap{Data: map[string]string{"a": strings.Repeat("x", MaxSize)}}, []string{
			"[]: Too long: may not be more than 1048576 bytes",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range Kind().Strategy.Validate(&tc.cm) {
				got = append(got, e.Error())
			}
			sort.Strings(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateUpdateImmutable(t *testing.T) {
	yes := true
	old := &corev1.ConfigMap{Data: map[string]string{"a": "1"}, Immutable: &yes}
	cm := &corev1.ConfigMap{Data: map[string]string{"a": "2"}}
	var got []string
	for _, e := range Kind().Strategy.ValidateUpdate(cm, old) {
		got = append(got, e.Error())
	}
	want := []string{
		"immutable: Forbidden: field is immutable when `immutable` is set",
		"data: Forbidden: field is immutable when `immutable` is set",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidateUpdate (-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	now := time.Now()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}, Data: map[string]string{"a": "1"}}
	if diff := cmp.Diff([]interface{}{"c", int64(1), "60m"}, Kind().Strategy.Row(cm, now)); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
}
