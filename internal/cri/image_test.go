package cri

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestNormalizeImageRef(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest"},
		{"foo/bar", "docker.io/foo/bar:latest"},
		{"docker.io/library/busybox:latest", "docker.io/library/busybox:latest"},
		{"skiff.local/testapp", "skiff.local/testapp:latest"},
		{"registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"},
		{"localhost/x", "localhost/x:latest"},
		{"localhost:5000/x/y:2", "localhost:5000/x/y:2"},
		{"busybox@sha256:abc", "docker.io/library/busybox@sha256:abc"},
		{"sha256:abc", "sha256:abc"},
	} {
		if got := NormalizeImageRef(tc.in); got != tc.want {
			t.Errorf("NormalizeImageRef(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMatchImage(t *testing.T) {
	t.Parallel()
	img := &runtimeapi.Image{Id: "sha256:1", RepoTags: []string{"docker.io/library/busybox:latest"}, RepoDigests: []string{"docker.io/library/busybox@sha256:2"}}
	for ref, want := range map[string]bool{
		"busybox": true, "sha256:1": true, "busybox@sha256:2": true,
		"busybox:1": false, "sha256:2": false, "other": false,
	} {
		if got := MatchImage(img, ref); got != want {
			t.Errorf("MatchImage(%q) = %v, want %v", ref, got, want)
		}
	}
}
