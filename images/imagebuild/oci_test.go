package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testImage() Image {
	return Image{
		Refs:   []string{"skiff.local/t:1", "skiff.local/t:latest"},
		Config: ImageConfig{Entrypoint: []string{"/bin/x"}},
		Files: []File{
			Regular("bin/x", 0o755, []byte("#!x")),
			Symlink("usr/bin/y", "../../bin/x"),
			Dir("tmp", 0o1777),
		},
	}
}

// readTar returns the regular files of a tar by name.
func readTar(t *testing.T, r io.Reader) (map[string][]byte, []*tar.Header) {
	t.Helper()
	files := map[string][]byte{}
	var hdrs []*tar.Header
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, hdrs
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs = append(hdrs, h)
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = b
		}
	}
}

func blobOf(t *testing.T, files map[string][]byte, digest string) []byte {
	t.Helper()
	b, ok := files["blobs/sha256/"+strings.TrimPrefix(digest, "sha256:")]
	if !ok {
		t.Fatalf("blob %s missing", digest)
	}
	if got := digestOf(b); got != digest {
		t.Fatalf("blob %s has digest %s", digest, got)
	}
	return b
}

func TestWriteIsConsistentOCILayout(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	digest, err := Write(&buf, testImage())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := readTar(t, &buf)
	if got := string(files["oci-layout"]); got != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", got)
	}
	var idx Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range idx.Manifests {
		if m.Digest != digest || m.MediaType != MediaTypeManifest {
			t.Errorf("index entry %+v, want manifest %s", m, digest)
		}
		if m.Annotations[AnnotationContainerdName] != m.Annotations[AnnotationRefName] {
			t.Errorf("annotations disagree: %v", m.Annotations)
		}
		refs = append(refs, m.Annotations[AnnotationRefName])
	}
	if diff := cmp.Diff(testImage().Refs, refs); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	var man Manifest
	if err := json.Unmarshal(blobOf(t, files, digest), &man); err != nil {
		t.Fatal(err)
	}
	if man.Config.MediaType != MediaTypeConfig || len(man.Layers) != 1 || man.Layers[0].MediaType != MediaTypeLayer {
		t.Fatalf("manifest %+v", man)
	}
	var cfg ConfigFile
	if err := json.Unmarshal(blobOf(t, files, man.Config.Digest), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "amd64" || cfg.OS != "linux" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	zr, err := gzip.NewReader(bytes.NewReader(blobOf(t, files, man.Layers[0].Digest)))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{digestOf(layer)}, cfg.RootFS.DiffIDs); diff != "" {
		t.Errorf("diff_ids (-want +got):\n%s", diff)
	}
	_, hdrs := readTar(t, bytes.NewReader(layer))
	var got []string
	for _, h := range hdrs {
		got = append(got, h.Name+" "+h.Linkname)
	}
	want := []string{"bin/ ", "bin/x ", "tmp/ ", "usr/ ", "usr/bin/ ", "usr/bin/y ../../bin/x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
}

func TestWriteIsReproducible(t *testing.T) {
	t.Parallel()
	var a, b bytes.Buffer
	if _, err := Write(&a, testImage()); err != nil {
		t.Fatal(err)
	}
	img := testImage()
	img.Files[0], img.Files[2] = img.Files[2], img.Files[0]
	if _, err := Write(&b, img); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same image written twice differs")
	}
}

func TestLayerTarRejectsBadPaths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files []File
	}{
		{"escape", []File{Regular("../x", 0o644, nil)}},
		{"root", []File{Dir("/", 0o755)}},
		{"duplicate", []File{Dir("a", 0o755), Regular("a", 0o644, nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LayerTar(tc.files); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestSkopeoReadsArchive checks the tarball with an independent reader when
// skopeo is installed (it needs no network for oci-archive).
func TestSkopeoReadsArchive(t *testing.T) {
	t.Parallel()
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo not installed")
	}
	file := filepath.Join(t.TempDir(), "t.tar")
	if _, err := WriteFile(file, testImage()); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(skopeo, "inspect", "--config", "oci-archive:"+file+":skiff.local/t:latest").CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect: %v: %s", err, out)
	}
	if !strings.Contains(string(out), `"/bin/x"`) {
		t.Errorf("skopeo config lacks the entrypoint: %s", out)
	}
}
