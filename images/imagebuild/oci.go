package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// OCI media types and annotation keys written by Write.
const (
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"

	AnnotationRefName        = "org.opencontainers.image.ref.name"
	AnnotationContainerdName = "io.containerd.image.name"
)

// epoch is the modification time of every file and the creation time of
// every image, so that builds are reproducible.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// FileType is the kind of a layer entry.
type FileType int

// Entry kinds.
const (
	TypeFile FileType = iota
	TypeDir
	TypeSymlink
)

// File is one entry of a layer. Path is relative to the image root
// ("bin/sh", no leading slash). Mode holds permission bits only; Data is the
// content of a regular file and Target the target of a symlink.
type File struct {
	Path   string
	Type   FileType
	Mode   int64
	Data   []byte
	Target string
}

// Dir returns a directory entry.
func Dir(p string, mode int64) File { return File{Path: p, Type: TypeDir, Mode: mode} }

// Symlink returns a symlink entry at p pointing to target.
func Symlink(p, target string) File {
	return File{Path: p, Type: TypeSymlink, Mode: 0o777, Target: target}
}

// Regular returns a regular file entry.
func Regular(p string, mode int64, data []byte) File {
	return File{Path: p, Type: TypeFile, Mode: mode, Data: data}
}

// ImageConfig is the runtime part of an OCI image config.
type ImageConfig struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
}

// Image is a single-platform (linux/amd64) image with one layer and the
// references (full names such as "docker.io/library/busybox:latest") it is
// tagged with.
type Image struct {
	Refs   []string
	Config ImageConfig
	Files  []File
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Platform names an OS and architecture.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Manifest is an OCI image manifest.
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// Index is an OCI image index (index.json).
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

// ConfigFile is an OCI image config blob.
type ConfigFile struct {
	Created      time.Time   `json:"created"`
	Architecture string      `json:"architecture"`
	OS           string      `json:"os"`
	Config       ImageConfig `json:"config"`
	RootFS       RootFS      `json:"rootfs"`
	History      []History   `json:"history,omitempty"`
}

// RootFS lists the uncompressed digests of an image's layers.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// History describes how a layer was made.
type History struct {
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// LayerTar returns the uncompressed tar of files, with parent directories
// added where missing and entries sorted by path.
func LayerTar(files []File) ([]byte, error) {
	byPath := map[string]File{}
	for _, f := range files {
		p := path.Clean(strings.TrimPrefix(f.Path, "/"))
		if p == "." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("layer entry %q: invalid path", f.Path)
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("layer entry %q: duplicate path", p)
		}
		f.Path = p
		byPath[p] = f
	}
	for p := range byPath {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = Dir(d, 0o755)
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		f := byPath[p]
		hdr := &tar.Header{Name: p, Mode: f.Mode, ModTime: epoch, Format: tar.FormatPAX}
		switch f.Type {
		case TypeDir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, p+"/"
		case TypeSymlink:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Target
		case TypeFile:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Data))
		default:
			return nil, fmt.Errorf("layer entry %q: unknown type %d", p, f.Type)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %q: %w", p, err)
		}
		if f.Type == TypeFile {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, fmt.Errorf("layer entry %q: %w", p, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// blob is a content-addressed file of the layout.
type blob struct {
	digest string
	data   []byte
}

// Layout returns the files of img's OCI image layout (path → content) and
// the digest of its manifest. The output depends only on img.
func Layout(img Image) (map[string][]byte, string, error) {
	if len(img.Refs) == 0 {
		return nil, "", fmt.Errorf("image without references")
	}
	layer, err := LayerTar(img.Files)
	if err != nil {
		return nil, "", err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, "", err
	}
	if _, err := zw.Write(layer); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	cfg, err := json.Marshal(ConfigFile{
		Created:      epoch,
		Architecture: "amd64",
		OS:           "linux",
		Config:       img.Config,
		RootFS:       RootFS{Type: "layers", DiffIDs: []string{digestOf(layer)}},
		History:      []History{{Created: epoch, CreatedBy: "skiff images/imagebuild"}},
	})
	if err != nil {
		return nil, "", err
	}
	man, err := json.Marshal(Manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		Config:        Descriptor{MediaType: MediaTypeConfig, Digest: digestOf(cfg), Size: int64(len(cfg))},
		Layers:        []Descriptor{{MediaType: MediaTypeLayer, Digest: digestOf(gz.Bytes()), Size: int64(gz.Len())}},
	})
	if err != nil {
		return nil, "", err
	}
	idx := Index{SchemaVersion: 2, MediaType: MediaTypeIndex}
	for _, ref := range img.Refs {
		idx.Manifests = append(idx.Manifests, Descriptor{
			MediaType: MediaTypeManifest,
			Digest:    digestOf(man),
			Size:      int64(len(man)),
			// containerd's importer names the image after
			// io.containerd.image.name; other tools read ref.name. Both
			// hold the full reference, which the OCI spec allows.
			Annotations: map[string]string{AnnotationRefName: ref, AnnotationContainerdName: ref},
			Platform:    &Platform{Architecture: "amd64", OS: "linux"},
		})
	}
	idxJSON, err := json.Marshal(idx)
	if err != nil {
		return nil, "", err
	}
	out := map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json": idxJSON,
	}
	for _, b := range []blob{{digestOf(cfg), cfg}, {digestOf(man), man}, {digestOf(gz.Bytes()), gz.Bytes()}} {
		out["blobs/sha256/"+strings.TrimPrefix(b.digest, "sha256:")] = b.data
	}
	return out, digestOf(man), nil
}

// Write writes img as an OCI image layout tar to w and returns the digest of
// its manifest.
func Write(w io.Writer, img Image) (string, error) {
	files, digest, err := Layout(img)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tar.NewWriter(w)
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: epoch}); err != nil {
			return "", err
		}
	}
	for _, n := range names {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return "", err
		}
	}
	return digest, tw.Close()
}

// WriteFile writes img as an OCI image layout tar to file, atomically
// (through a temporary file in the same directory).
func WriteFile(file string, img Image) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".image-*.tar")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // after the rename this fails harmlessly
	digest, err := Write(tmp, img)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write image %s: %w", file, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return "", fmt.Errorf("write image %s: %w", file, err)
	}
	return digest, nil
}
