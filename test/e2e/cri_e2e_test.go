//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/images/imagebuild"
	"github.com/skiff/skiff/internal/containerd"
	"github.com/skiff/skiff/internal/cri"
)

// TestCRIContainerd drives a private containerd through the CRI the way
// the node agent will: Skiff's images built by the code behind
// `make images` and imported, a host-network pod sandbox, a busybox
// container that writes to its log and exits, and a testapp container that
// serves HTTP and answers ExecSync. Everything it starts is stopped and
// unmounted, even when it fails.
func TestCRIContainerd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, bin := range []string{"containerd", "ctr", "runc", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (make deps)", bin)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	dir := t.TempDir()
	if err := os.MkdirAll("/run/skiff", 0o755); err != nil {
		t.Fatal(err)
	}
	run, err := os.MkdirTemp("/run/skiff", "e2e-cri-")
	if err != nil {
		t.Fatal(err)
	}
	images, err := imagebuild.Build(ctx, imagebuild.Config{OutDir: filepath.Join(dir, "images")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := containerd.Start(ctx, containerd.Config{
		Root:  filepath.Join(dir, "agent", "containerd"),
		State: filepath.Join(run, "containerd"),
	})
	if err != nil {
		os.RemoveAll(run)
		t.Fatal(err)
	}
	rt, err := cri.Dial(d.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { criCleanup(t, d, rt, dir, run) })

	if err := containerd.ImportImages(ctx, d.Address(), images...); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"busybox", "skiff.local/testapp", containerd.DefaultSandboxImage} {
		waitFor(t, ctx, "image "+ref, func() (bool, error) {
			st, err := rt.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: ref}, false)
			return st.GetImage() != nil, err
		})
	}

	logDir := filepath.Join(dir, "pods", "e2e_web_uid1")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sbCfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "e2e", Uid: "uid1"},
		LogDirectory: logDir,
		Labels:       map[string]string{"app": "web"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	sb, err := rt.RunPodSandbox(ctx, sbCfg, "")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("busybox logs and exit code", func(t *testing.T) {
		id := createAndStart(t, ctx, rt, sb, sbCfg, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "echo"},
			Image:    &runtimeapi.ImageSpec{Image: "busybox"},
			Command:  []string{"sh", "-c", "echo hello from busybox; echo oops >&2; exit 3"},
			LogPath:  "echo/0.log",
		})
		st := waitExited(t, ctx, rt, id)
		if st.ExitCode != 3 || st.Reason != "Error" {
			t.Errorf("exit code %d reason %q, want 3 Error", st.ExitCode, st.Reason)
		}
		if want := filepath.Join(logDir, "echo/0.log"); st.LogPath != want {
			t.Errorf("log path %s, want %s", st.LogPath, want)
		}
		// stdout and stderr are separate pipes: their order is not kept.
		got := readCRILog(t, st.LogPath)
		sort.Strings(got)
		want := []string{"stderr oops", "stdout hello from busybox"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("log %q, want %q", got, want)
		}
		if err := rt.RemoveContainer(ctx, id); err != nil {
			t.Error(err)
		}
	})

	t.Run("testapp serves and answers ExecSync", func(t *testing.T) {
		port, echoPort := freePort(t), freePort(t)
		id := createAndStart(t, ctx, rt, sb, sbCfg, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Image:    &runtimeapi.ImageSpec{Image: "skiff.local/testapp:latest"},
			Envs: []*runtimeapi.KeyValue{
				{Key: "PORT", Value: []byte(fmt.Sprint(port))},
				{Key: "ECHO_PORT", Value: []byte(fmt.Sprint(echoPort))},
			},
			LogPath: "app/0.log",
		})
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		waitFor(t, ctx, "testapp to serve", func() (bool, error) {
			resp, err := http.Get(base + "/healthz")
			if err != nil {
				return false, nil // not listening yet
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, nil
		})

		get := []string{"/testapp", "get", base + "/readyz"}
		res, err := rt.ExecSync(ctx, id, get, 10*time.Second)
		if err != nil || res.ExitCode != 0 || string(res.Stdout) != "ok\n" {
			t.Errorf("ExecSync %v = %q exit %d, %v; want ok", get, res.Stdout, res.ExitCode, err)
		}
		resp, err := http.Post(base+"/readyz?state=fail", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		res, err = rt.ExecSync(ctx, id, get, 10*time.Second)
		if err != nil || res.ExitCode != 1 {
			t.Errorf("ExecSync %v after failing readiness = exit %d, %v; want 1", get, res.ExitCode, err)
		}

		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", echoPort))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, "ping\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || line != "ping\n" {
			t.Errorf("tcp echo = %q, %v", line, err)
		}

		// testapp exits 0 on SIGTERM: a graceful stop, not a kill.
		if err := rt.StopContainer(ctx, id, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		st := waitExited(t, ctx, rt, id)
		if st.ExitCode != 0 || st.Reason != "Completed" {
			t.Errorf("after stop: exit code %d reason %q, want 0 Completed", st.ExitCode, st.Reason)
		}
		if log := strings.Join(readCRILog(t, st.LogPath), "\n"); !strings.Contains(log, "listening on") || !strings.Contains(log, "terminated") {
			t.Errorf("testapp log lacks its start and stop lines:\n%s", log)
		}
	})

	if err := rt.StopPodSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if err := rt.RemovePodSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if list, err := rt.ListContainers(ctx, nil); err != nil || len(list) != 0 {
		t.Errorf("containers left after removing the sandbox: %v, %v", list, err)
	}
	waitFor(t, ctx, "shims to exit", func() (bool, error) {
		pids, err := containerd.ShimPIDs(d.Address())
		return len(pids) == 0, err
	})
}

func createAndStart(t *testing.T, ctx context.Context, rt cri.RuntimeService, sb string, sbCfg *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig) string {
	t.Helper()
	id, err := rt.CreateContainer(ctx, sb, cfg, sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func waitExited(t *testing.T, ctx context.Context, rt cri.RuntimeService, id string) *runtimeapi.ContainerStatus {
	t.Helper()
	var st *runtimeapi.ContainerStatus
	waitFor(t, ctx, "container "+id+" to exit", func() (bool, error) {
		resp, err := rt.ContainerStatus(ctx, id, false)
		st = resp.GetStatus()
		return st.GetState() == runtimeapi.ContainerState_CONTAINER_EXITED, err
	})
	return st
}

// waitFor polls cond every 50 ms until it holds, fails or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() (bool, error)) {
	t.Helper()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readCRILog returns the lines of a CRI log file as "stream message",
// checking the "timestamp stream tag message" format.
func readCRILog(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) != 4 || (f[1] != "stdout" && f[1] != "stderr") || (f[2] != "F" && f[2] != "P") {
			t.Errorf("malformed CRI log line %q", line)
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
			t.Errorf("log line %q: %v", line, err)
		}
		out = append(out, f[1]+" "+f[3])
	}
	return out
}

// criCleanup removes every sandbox, stops containerd, and then kills and
// unmounts whatever is left under the test's directories.
func criCleanup(t *testing.T, d *containerd.Daemon, rt *cri.Client, dir, run string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if sbs, err := rt.ListPodSandbox(ctx, nil); err == nil {
		for _, sb := range sbs {
			if err := rt.StopPodSandbox(ctx, sb.Id); err != nil {
				t.Logf("cleanup: %v", err)
			}
			if err := rt.RemovePodSandbox(ctx, sb.Id); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
	}
	rt.Close()
	if err := d.Stop(ctx); err != nil {
		t.Errorf("stop containerd: %v", err)
	}
	if err := containerd.Teardown(d.Address(), dir, run); err != nil {
		t.Errorf("teardown: %v", err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, dir) || strings.Contains(line, run) {
			t.Errorf("mount left behind: %s", line)
		}
	}
	if err := os.RemoveAll(run); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}
