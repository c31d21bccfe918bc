package containerd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff/skiff/images/imagebuild"
	"github.com/skiff/skiff/internal/cri"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestConfigTOML(t *testing.T) {
	t.Parallel()
	cfg, err := Config{Root: "/var/lib/skiff/agent/containerd", State: "/run/skiff/n1/containerd", RestrictOOMScoreAdj: true}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	toml := cfg.TOML()
	for _, want := range []string{
		`root = "/var/lib/skiff/agent/containerd/root"`,
		`state = "/run/skiff/n1/containerd/state"`,
		`address = "/run/skiff/n1/containerd/containerd.sock"`,
		`sandbox_image = "registry.k8s.io/pause:3.10"`,
		`snapshotter = "overlayfs"`,
		`SystemdCgroup = false`,
		`stream_server_port = "0"`,
		`netns_mounts_under_state_dir = true`,
		`bin_dir = "/usr/lib/cni"`,
		`restrict_oom_score_adj = true`,
		`Root = "/run/skiff/n1/containerd/runc"`,
		`conf_dir = "/var/lib/skiff/agent/containerd/cni/net.d"`,
		`path = "/var/lib/skiff/agent/containerd/opt"`,
	} {
		if !strings.Contains(toml, want+"\n") {
			t.Errorf("config lacks %s:\n%s", want, toml)
		}
	}
	if strings.Contains(toml, "/var/lib/containerd") || strings.Contains(toml, "/run/containerd") {
		t.Errorf("config refers to the system containerd's paths:\n%s", toml)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no root", Config{State: "/run/x"}},
		{"no state", Config{Root: "/var/x"}},
		{"socket too long", Config{Root: "/var/x", State: "/run/" + strings.Repeat("s", 100)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.cfg.withDefaults(); err == nil {
				t.Error("no error")
			}
		})
	}
}

// requireContainerd skips unless the test runs as root with Debian's
// containerd, ctr and runc installed.
func requireContainerd(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, bin := range []string{"containerd", "ctr", "runc", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s", bin)
		}
	}
}

func TestStartImportStop(t *testing.T) {
	requireContainerd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	images, err := imagebuild.Build(ctx, imagebuild.Config{OutDir: filepath.Join(dir, "images")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "run")}
	d, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Stop(context.Background()) // idempotent; the test checks its result
		if err := Teardown(d.Address(), dir); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	if _, err := Start(ctx, cfg); err == nil || !strings.Contains(err.Error(), "already answers") {
		t.Errorf("second Start on the same socket: %v, want an error", err)
	}
	rt, err := cri.Dial(d.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	v, err := rt.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.RuntimeName != "containerd" || v.RuntimeApiVersion != "v1" {
		t.Errorf("version %+v", v)
	}
	if err := ImportImages(ctx, d.Address(), images...); err != nil {
		t.Fatal(err)
	}
	for _, ref := range append(append(imagebuild.PauseRefs, imagebuild.BusyboxRefs...), "busybox", "skiff.local/testapp") {
		st, err := rt.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: ref}, false)
		if err != nil {
			t.Fatal(err)
		}
		if st.Image == nil {
			t.Errorf("image %s not found after import", ref)
		}
	}
	pid := d.PID()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Done():
	default:
		t.Error("Done not closed after Stop")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("containerd %d still runs after Stop", pid)
	}
}

func TestSupervisorRestartsContainerd(t *testing.T) {
	requireContainerd(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	d, err := Start(ctx, Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Stop(context.Background()) // idempotent
		if err := Teardown(d.Address(), dir); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	first := d.PID()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rt, err := cri.Dial(d.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for {
		if pid := d.PID(); pid != 0 && pid != first {
			if _, err := rt.Version(ctx); err == nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("containerd was not restarted")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestTeardownKillsOrphans stops containerd while a container runs (its
// shim survives, as it must) and checks that Teardown kills the shim and
// the container and leaves no mount behind.
func TestTeardownKillsOrphans(t *testing.T) {
	requireContainerd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	images, err := imagebuild.Build(ctx, imagebuild.Config{OutDir: filepath.Join(dir, "images")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Start(ctx, Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Stop(context.Background()) // idempotent
		_ = Teardown(d.Address(), dir)   // the test checks the first call
	})
	if err := ImportImages(ctx, d.Address(), images...); err != nil {
		t.Fatal(err)
	}
	rt, err := cri.Dial(d.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	sbCfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "orphan", Namespace: "test", Uid: "u1"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	sb, err := rt.RunPodSandbox(ctx, sbCfg, "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := rt.CreateContainer(ctx, sb, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "sleep"},
		Image:    &runtimeapi.ImageSpec{Image: "busybox"},
		Command:  []string{"sleep", "3600"},
	}, sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	shims, err := ShimPIDs(d.Address())
	if err != nil {
		t.Fatal(err)
	}
	if len(shims) == 0 {
		t.Fatal("no shim outlived containerd")
	}
	found, err := findShims(d.Address())
	if err != nil {
		t.Fatal(err)
	}
	var sockets []string
	for _, s := range found {
		sock := s.socketPath(d.Address())
		if _, err := os.Stat(sock); err != nil {
			t.Errorf("shim %d (%s/%s): socket: %v", s.pid, s.namespace, s.id, err)
		}
		sockets = append(sockets, sock)
	}
	orphans := descendants(shims)
	if err := Teardown(d.Address(), dir); err != nil {
		t.Fatal(err)
	}
	for _, pid := range orphans {
		for {
			// A killed child of this process's tree would linger as a
			// zombie only if we were its parent; these are reparented.
			err := syscall.Kill(pid, 0)
			if err != nil {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("process %d survived Teardown", pid)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	for _, sock := range sockets {
		if _, err := os.Stat(sock); err == nil {
			t.Errorf("shim socket %s left behind", sock)
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), dir) {
		t.Errorf("mounts left under %s:\n%s", dir, mounts)
	}
}

func TestFindCNIBinDir(t *testing.T) {
	root := t.TempDir()
	debian, opt := filepath.Join(root, "usr-lib-cni"), filepath.Join(root, "opt-cni-bin")
	for _, d := range []string{debian, opt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := findCNIBinDir(debian, opt); got != debian {
		t.Errorf("no plugins anywhere: %s, want the first %s", got, debian)
	}
	if err := os.WriteFile(filepath.Join(opt, "bridge"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := findCNIBinDir(debian, opt); got != opt {
		t.Errorf("bridge only in %s: got %s", opt, got)
	}
	if err := os.WriteFile(filepath.Join(debian, "bridge"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := findCNIBinDir(debian, opt); got != debian {
		t.Errorf("bridge in both: got %s, want the first %s", got, debian)
	}
}
