package containerd

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
)

// Namespace is the containerd namespace the CRI plugin keeps its images,
// containers and sandboxes in.
const Namespace = "k8s.io"

// ImportImages imports OCI image layout or docker-archive tarballs into the
// k8s.io namespace of the containerd at address (a socket path), unpacked
// for the overlayfs snapshotter, so the CRI sees them at once. Each image is
// named after the full reference its archive annotates (see
// images/imagebuild).
//
// It runs Debian's ctr ("ctr images import") rather than containerd's Go
// client, whose module and its dependency tree would fight this module's
// go.mod; it can move to the client (or to the CRI-only path of a local
// registry) later without changing callers.
func ImportImages(ctx context.Context, address string, files ...string) error {
	for _, f := range files {
		cmd := exec.CommandContext(ctx, "ctr", "--address", address, "--namespace", Namespace,
			"images", "import", "--snapshotter", "overlayfs", f)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("import image %s: %w: %s", f, err, bytes.TrimSpace(out.Bytes()))
		}
	}
	return nil
}
