package cri

import (
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// NormalizeImageRef returns the full reference of an image name the way
// containerd's CRI does: a name without a registry is on docker.io, a
// single-component name there is under library/, and a reference without a
// tag or digest is :latest. IDs ("sha256:...") are returned as they are.
func NormalizeImageRef(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	name, rest := ref, ""
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		name, rest = ref[:i], ref[i:]
	}
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash || !strings.ContainsAny(first, ".:") && first != "localhost" {
		if !strings.Contains(name, "/") {
			name = "library/" + name
		}
		name = "docker.io/" + name
	}
	if rest == "" && !strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ":") {
		name += ":latest"
	}
	return name + rest
}

// MatchImage reports whether img is the image ref names: its ID, or one of
// its tags or digests once ref is normalized.
func MatchImage(img *runtimeapi.Image, ref string) bool {
	if img.GetId() == ref {
		return true
	}
	full := NormalizeImageRef(ref)
	for _, t := range img.GetRepoTags() {
		if t == full {
			return true
		}
	}
	for _, d := range img.GetRepoDigests() {
		if d == full {
			return true
		}
	}
	return false
}
