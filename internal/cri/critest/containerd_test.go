package critest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/images/imagebuild"
	"github.com/skiff/skiff/internal/containerd"
	"github.com/skiff/skiff/internal/cri"
)

// TestContainerd runs the suite against a private containerd started in a
// temporary directory, with Skiff's images built and imported. It needs
// root and Debian's containerd, runc and ctr.
func TestContainerd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, bin := range []string{"containerd", "ctr", "runc", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s", bin)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	images, err := imagebuild.Build(ctx, imagebuild.Config{OutDir: filepath.Join(dir, "images")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := containerd.Start(ctx, containerd.Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Stop(stopCtx); err != nil {
			t.Errorf("stop containerd: %v", err)
		}
		if err := containerd.Teardown(d.Address(), dir); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	if err := containerd.ImportImages(ctx, d.Address(), images...); err != nil {
		t.Fatal(err)
	}
	client, err := cri.Dial(d.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for {
		st, err := client.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: "busybox"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if st.Image != nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("busybox not visible through the CRI after import")
		case <-time.After(50 * time.Millisecond):
		}
	}
	runSuite(t, target{rt: client, images: client, image: "busybox", logDir: filepath.Join(dir, "logs")})
}
