package config

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestAgentValidate(t *testing.T) {
	t.Parallel()
	base := DefaultAgent(0, "/root")
	base.Server, base.Token = "https://10.0.0.1:6443", "abcdef.0123456789abcdef"
	cases := []struct {
		name    string
		mutate  func(*Agent)
		wantErr string
	}{
		{"ok", func(*Agent) {}, ""},
		{"no server", func(a *Agent) { a.Server = "" }, "--server is required"},
		{"http server", func(a *Agent) { a.Server = "http://10.0.0.1:6443" }, "must be an https:// URL"},
		{"no token", func(a *Agent) { a.Token = "" }, "--token is required"},
		{"bad node ip", func(a *Agent) { a.NodeIP = "x" }, "--node-ip"},
		{"bad label", func(a *Agent) { a.NodeLabels = []string{"novalue"} }, "is not key=value"},
		{"bad taint effect", func(a *Agent) { a.NodeTaints = []string{"k=v:Sometimes"} }, "effect must be"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			tc.mutate(&a)
			err := a.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseNodeTaints(t *testing.T) {
	t.Parallel()
	got, err := ParseNodeTaints([]string{"dedicated=gpu:NoSchedule", "maintenance:NoExecute"})
	if err != nil {
		t.Fatal(err)
	}
	want := []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}, {Key: "maintenance", Effect: corev1.TaintEffectNoExecute}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("= %+v, want %+v", got, want)
	}
	labels, err := ParseNodeLabels([]string{"zone=a", "skiff.io/role=edge"})
	if err != nil || labels["zone"] != "a" || labels["skiff.io/role"] != "edge" {
		t.Errorf("labels %v %v", labels, err)
	}
	if _, err := ParseNodeLabels([]string{"bad key=v"}); err == nil {
		t.Error("invalid label key accepted")
	}
}
