//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff/skiff/images/imagebuild"
	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/containerd"
)

// TestAgentJoins starts `skiff server --disable-agent` and, as a separate
// process with its own data dir and node name, `skiff agent --server …
// --token $(cat DATA-DIR/server/token)`. The agent pins the CA, gets its
// client certificate through a CSR, registers with its labels and taints,
// runs a busybox pod, picks up an image tarball dropped into its images/
// directory, and stops cleanly on SIGTERM. CLI mistakes end with one line
// and a non-zero exit before anything starts.
func TestAgentJoins(t *testing.T) {
	requireAgentHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	root := t.TempDir()
	images := filepath.Join(root, "images")
	if _, err := imagebuild.Build(ctx, imagebuild.Config{OutDir: images}); err != nil {
		t.Fatal(err)
	}
	s := &Server{DataDir: filepath.Join(root, "server"), logPath: filepath.Join(root, "server.log")}
	s.Kubeconfig = filepath.Join(s.DataDir, "kubeconfig.yaml")
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			s.dumpLog(t)
		}
	})
	s.Port = freePort(t)
	if err := s.startControlPlane(); err != nil {
		t.Fatal(err)
	}
	k := s.Kubectl(t, "/usr/bin/kubectl")
	server := fmt.Sprintf("https://127.0.0.1:%d", s.Port)
	tokenBytes, err := os.ReadFile(filepath.Join(s.DataDir, "server", "token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenBytes))
	if !strings.HasPrefix(token, "K10") || !strings.Contains(token, "::") {
		t.Fatalf("token %q is not a K10 token", token)
	}
	_, cred, _ := strings.Cut(token, "::")

	t.Run("cli errors", func(t *testing.T) {
		wrong := "K10" + strings.Repeat("0", 64) + "::" + cred
		for _, tc := range []struct {
			name     string
			args     []string
			code     int
			contains string
		}{
			{"no server", []string{"agent", "--token", token}, 2, "skiff agent: --server is required"},
			{"bare token", []string{"agent", "--server", server, "--token", cred}, 2, "--token has no CA hash"},
			{"wrong hash", []string{"agent", "--server", server, "--token", wrong, "--data-dir", filepath.Join(root, "wrong"), "--node-name", "wrong"}, 1,
				"does not match the token's CA hash sha256:" + strings.Repeat("0", 64)},
			{"images without files", []string{"images", "import"}, 2, "no files given"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var stderr bytes.Buffer
				cmd := exec.CommandContext(ctx, skiffBin, tc.args...)
				cmd.Stderr = &stderr
				err := cmd.Run()
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				out := strings.TrimRight(stderr.String(), "\n")
				if code != tc.code || strings.Contains(out, "\n") || !strings.Contains(out, tc.contains) {
					t.Errorf("skiff %s: exit %d, stderr %q; want exit %d and one line containing %q", strings.Join(tc.args, " "), code, out, tc.code, tc.contains)
				}
			})
		}
	})

	node := fmt.Sprintf("e2e-join-%d", os.Getpid())
	run := filepath.Join("/run/skiff", node)
	agentData := filepath.Join(root, "agent")
	address := agent.ContainerdSocket("", node)
	a := &agentProc{logPath: filepath.Join(root, "agent.log")}
	t.Cleanup(func() {
		a.stop(t)
		if t.Failed() {
			a.dumpLog(t)
		}
		if err := containerd.Teardown(address, agentData, run); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if err := agent.TeardownNetwork(node, run); err != nil {
			t.Errorf("network teardown: %v", err)
		}
		if err := removeNodeCgroups(node); err != nil {
			t.Errorf("cgroups: %v", err)
		}
		if err := os.RemoveAll(run); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	for _, f := range []string{imagebuild.PauseFile, imagebuild.BusyboxFile} {
		copyFile(t, filepath.Join(images, f), filepath.Join(agentData, "agent", "images", f))
	}
	if err := a.start(skiffBin, "agent", "--server", server, "--token", token,
		"--data-dir", agentData, "--node-name", node, "--kubelet-port", "0",
		"--node-label", "skiff.test/joined=yes", "--node-taint", "skiff.test/dedicated=e2e:NoSchedule"); err != nil {
		t.Fatal(err)
	}

	waitKubectl(t, ctx, k, "node "+node+" Ready", func(out string) bool {
		return out == "True"
	}, "get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
	if got := k.JSONPath(t, `{.metadata.labels.skiff\.test/joined} {.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}`, "node", node); got != "yes skiff.test/dedicated=e2e:NoSchedule" {
		t.Errorf("node labels and taints: %q", got)
	}
	for name, mode := range map[string]os.FileMode{"client.crt": 0o600, "client.key": 0o600} {
		if fi, err := os.Stat(filepath.Join(agentData, "agent", name)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, want mode %v", name, err, mode)
		}
	}
	id, _, _ := strings.Cut(cred, ".")
	csr := k.OK(t, "get", "csr", "--no-headers")
	if f := strings.Fields(csr); len(f) < 6 || f[2] != "kubernetes.io/kube-apiserver-client-kubelet" || f[3] != "system:bootstrap:"+id || f[len(f)-1] != "Approved,Issued" {
		t.Errorf("kubectl get csr:\n%s", csr)
	}

	k.OK(t, "run", "web", "--image=busybox", "--restart=Never",
		`--overrides={"apiVersion":"v1","spec":{"nodeName":"`+node+`"}}`, "--", "sh", "-c", "echo hello from a joined node; sleep 3600")
	waitKubectl(t, ctx, k, "pod web Running", func(out string) bool {
		return out == "Running "+node
	}, "get", "pod", "web", "-o", "jsonpath={.status.phase} {.spec.nodeName}")
	waitKubectl(t, ctx, k, "the log of pod web", func(out string) bool {
		return strings.Contains(out, "hello from a joined node")
	}, "logs", "web")

	// skiff images import puts testapp into the agent's containerd; after
	// it is removed, dropping the tarball into images/ brings it back.
	const testapp = "skiff.local/testapp:latest"
	if out, err := exec.CommandContext(ctx, skiffBin, "images", "import", "--node-name", node, filepath.Join(images, imagebuild.TestappFile)).CombinedOutput(); err != nil {
		t.Fatalf("skiff images import: %v\n%s", err, out)
	}
	waitImage(t, ctx, address, testapp, true)
	if out, err := exec.CommandContext(ctx, "ctr", "--address", address, "-n", containerd.Namespace, "images", "rm", "--sync", testapp).CombinedOutput(); err != nil {
		t.Fatalf("ctr images rm: %v\n%s", err, out)
	}
	waitImage(t, ctx, address, testapp, false)
	tmp := filepath.Join(agentData, "agent", "images", ".testapp.partial")
	copyFile(t, filepath.Join(images, imagebuild.TestappFile), tmp)
	if err := os.Rename(tmp, filepath.Join(agentData, "agent", "images", imagebuild.TestappFile)); err != nil {
		t.Fatal(err)
	}
	waitImage(t, ctx, address, testapp, true)

	k.OK(t, "delete", "pod", "web", "--grace-period=1", "--wait=false")
	waitKubectl(t, ctx, k, "pod web gone", func(out string) bool { return strings.TrimSpace(out) == "" }, "get", "pods", "-o", "name")
	if code := a.stop(t); code != 0 {
		t.Errorf("agent exited with %d after SIGTERM", code)
	}

	t.Run("external runtime", func(t *testing.T) {
		testExternalRuntime(t, ctx, k, server, token, root, images)
	})
}

// testExternalRuntime joins a second node whose agent uses a containerd
// it did not start (--container-runtime-endpoint), runs a host-network
// pod there (the pod network is left to that runtime), and checks that
// stopping the agent leaves the runtime running.
func testExternalRuntime(t *testing.T, ctx context.Context, k *Kubectl, server, token, root, images string) {
	node := fmt.Sprintf("e2e-joinx-%d", os.Getpid())
	run := filepath.Join("/run/skiff", node)
	agentData := filepath.Join(root, "agentx")
	rtRoot := filepath.Join(root, "external-containerd")
	// The runtime's own network configuration, which the agent leaves
	// alone: loopback only, enough for the runtime to report its network
	// ready and to run host-network pods.
	cniDir := filepath.Join(rtRoot, "cni", "net.d")
	if err := os.MkdirAll(cniDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cniDir, "10-loopback.conflist"),
		[]byte(`{"cniVersion":"1.0.0","name":"lo-only","plugins":[{"type":"loopback"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := containerd.Start(ctx, containerd.Config{Root: rtRoot, State: filepath.Join(run, "external")})
	if err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	a := &agentProc{logPath: filepath.Join(root, "agentx.log")}
	t.Cleanup(func() {
		a.stop(t)
		if t.Failed() {
			a.dumpLog(t)
		}
		if err := d.Stop(context.Background()); err != nil {
			t.Errorf("stop containerd: %v", err)
		}
		if err := containerd.Teardown(d.Address(), rtRoot, agentData, run); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if err := agent.TeardownNetwork(node, run); err != nil {
			t.Errorf("network teardown: %v", err)
		}
		if err := removeNodeCgroups(node); err != nil {
			t.Errorf("cgroups: %v", err)
		}
		if err := os.RemoveAll(run); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	endpoint := "unix://" + d.Address()
	for _, f := range []string{imagebuild.PauseFile, imagebuild.BusyboxFile} {
		if out, err := exec.CommandContext(ctx, skiffBin, "images", "import", "--container-runtime-endpoint", endpoint, filepath.Join(images, f)).CombinedOutput(); err != nil {
			t.Fatalf("skiff images import: %v\n%s", err, out)
		}
	}
	if err := a.start(skiffBin, "agent", "--server", server, "--token", token, "--data-dir", agentData,
		"--node-name", node, "--kubelet-port", "0", "--container-runtime-endpoint", endpoint); err != nil {
		t.Fatal(err)
	}
	waitKubectl(t, ctx, k, "node "+node+" Ready", func(out string) bool {
		return out == "True"
	}, "get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
	k.OK(t, "run", "hostweb", "--image=busybox", "--restart=Never",
		`--overrides={"apiVersion":"v1","spec":{"nodeName":"`+node+`","hostNetwork":true}}`, "--", "sleep", "3600")
	waitKubectl(t, ctx, k, "pod hostweb Running", func(out string) bool {
		return out == "Running"
	}, "get", "pod", "hostweb", "-o", "jsonpath={.status.phase}")
	if _, err := os.Stat(filepath.Join(agentData, "agent", "containerd")); err == nil {
		t.Error("the agent made a containerd of its own")
	}
	k.OK(t, "delete", "pod", "hostweb", "--grace-period=1")
	if code := a.stop(t); code != 0 {
		t.Errorf("agent exited with %d after SIGTERM", code)
	}
	select {
	case <-d.Done():
		t.Error("stopping the agent stopped the external containerd")
	default:
	}
}

// startControlPlane starts `skiff server --disable-agent` on a cluster
// CIDR of its own (the joined agent bridges its pods on this machine).
func (s *Server) startControlPlane() error {
	cidr, err := clusterCIDRFor(s.DataDir)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(skiffBin, "server", "--data-dir", s.DataDir, "--https-listen-port", fmt.Sprint(s.Port),
		"--bind-address", "127.0.0.1", "--disable-agent", "--cluster-cidr", cidr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(60 * time.Second); err != nil {
		return err
	}
	return waitFile(s.Kubeconfig, 10*time.Second)
}

// agentProc is a `skiff agent` process in its own process group.
type agentProc struct {
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

func (a *agentProc) start(bin string, args ...string) error {
	logFile, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	a.cmd, a.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit code is read from ProcessState in stop
		close(a.exited)
	}()
	return nil
}

// stop sends SIGTERM to the agent (SIGKILL to its group after 30 s) and
// returns its exit code; -1 when it was not running.
func (a *agentProc) stop(t *testing.T) int {
	t.Helper()
	if a.cmd == nil {
		return -1
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM) // already exited: reported below
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("skiff agent did not exit 30s after SIGTERM; killing it")
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL) // ESRCH: gone
		<-a.exited
	}
	code := a.cmd.ProcessState.ExitCode()
	a.cmd = nil
	return code
}

func (a *agentProc) dumpLog(t *testing.T) {
	data, _ := os.ReadFile(a.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	t.Logf("skiff agent log (last lines of %s):\n%s", a.logPath, strings.Join(lines, "\n"))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitImage polls containerd until ref is (present) or is not there.
func waitImage(t *testing.T, ctx context.Context, address, ref string, present bool) {
	t.Helper()
	for {
		out, err := exec.CommandContext(ctx, "ctr", "--address", address, "-n", containerd.Namespace, "images", "ls", "-q").Output()
		has := err == nil && strings.Contains("\n"+string(out), "\n"+ref+"\n")
		if err == nil && has == present {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("image %s present=%v never reached (last: %v %s)", ref, present, err, out)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
