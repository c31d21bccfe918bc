package fakecri

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
)

// fakeImageSize is the size every fake image reports, in bytes.
const fakeImageSize = 1 << 20

func imageID(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// addImage adds ref as an image of its own and returns it. r.mu must be
// held (or r not yet shared).
func (r *Runtime) addImage(ref string) *runtimeapi.Image {
	ref = cri.NormalizeImageRef(ref)
	if img := r.findImage(ref); img != nil {
		return img
	}
	img := &runtimeapi.Image{Id: imageID(ref), RepoTags: []string{ref}, Size: fakeImageSize}
	r.images[img.Id] = img
	return img
}

// findImage returns the image with the given ID, reference or name, or nil.
// r.mu must be held.
func (r *Runtime) findImage(ref string) *runtimeapi.Image {
	if img, ok := r.images[ref]; ok {
		return img
	}
	full := cri.NormalizeImageRef(ref)
	for _, img := range r.images {
		for _, t := range img.RepoTags {
			if t == full {
				return img
			}
		}
	}
	return nil
}

// AddImage makes ref present, as if imported, and returns its image ID.
func (r *Runtime) AddImage(ref string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addImage(ref).Id
}

// PullImage implements cri.ImageManager: every pull succeeds (inject an
// error to fail one) and makes the image present.
func (r *Runtime) PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("PullImage"); err != nil {
		return "", err
	}
	return r.addImage(image.GetImage()).Id, nil
}

// ImageStatus implements cri.ImageManager.
func (r *Runtime) ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec, verbose bool) (*runtimeapi.ImageStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("ImageStatus"); err != nil {
		return nil, err
	}
	img := r.findImage(image.GetImage())
	if img == nil {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	return &runtimeapi.ImageStatusResponse{Image: proto.Clone(img).(*runtimeapi.Image)}, nil
}

// ListImages implements cri.ImageManager.
func (r *Runtime) ListImages(ctx context.Context, filter *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("ListImages"); err != nil {
		return nil, err
	}
	var out []*runtimeapi.Image
	if want := filter.GetImage().GetImage(); want != "" {
		if img := r.findImage(want); img != nil {
			out = append(out, proto.Clone(img).(*runtimeapi.Image))
		}
		return out, nil
	}
	for _, img := range r.images {
		out = append(out, proto.Clone(img).(*runtimeapi.Image))
	}
	return out, nil
}

// RemoveImage implements cri.ImageManager.
func (r *Runtime) RemoveImage(ctx context.Context, image *runtimeapi.ImageSpec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("RemoveImage"); err != nil {
		return err
	}
	if img := r.findImage(image.GetImage()); img != nil {
		delete(r.images, img.Id)
	}
	return nil
}

// ImageFsInfo implements cri.ImageFsInfoer: one filesystem holding every
// image.
func (r *Runtime) ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("ImageFsInfo"); err != nil {
		return nil, err
	}
	fs := &runtimeapi.FilesystemUsage{
		Timestamp:  r.now(),
		FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: "/fakecri/images"},
		UsedBytes:  &runtimeapi.UInt64Value{Value: uint64(len(r.images)) * fakeImageSize},
		InodesUsed: &runtimeapi.UInt64Value{Value: uint64(len(r.images))},
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{fs}}, nil
}
