package critest

import (
	"testing"

	"github.com/skiff/skiff/internal/cri/fakecri"
)

func TestFakeCRI(t *testing.T) {
	t.Parallel()
	rt := fakecri.New(fakecri.Config{Images: []string{"busybox", "registry.k8s.io/pause:3.10"}})
	runSuite(t, target{rt: rt, images: rt, image: "busybox", logDir: t.TempDir()})
}
