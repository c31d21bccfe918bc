//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiff/skiff/images/imagebuild"
	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/containerd"
)

// The shared node is one `skiff server` with its agent on a real
// containerd, started by the first test that asks for it and stopped after
// the last test of the package (TestMain). Tests that only need pods to run
// use it, each in a namespace of its own, so the suite pays for containerd,
// the image build and the import once. Tests that stop, kill or reconfigure
// the server or the agent start their own cluster with startWithAgent.
var shared struct {
	once    sync.Once
	err     error
	server  *Server
	node    string
	run     string // /run/skiff/<node>
	address string // containerd socket
	nsSeq   int
	mu      sync.Mutex
}

// SharedNode is what a test gets from sharedNode.
type SharedNode struct {
	Server *Server
	// Node is the node's name; DataDir the server's data dir (the agent's
	// is DataDir/agent).
	Node, DataDir string
	// Kubectl runs /usr/bin/kubectl in the test's own namespace.
	Kubectl *Kubectl
	// Namespace is the test's namespace, deleted when the test ends.
	Namespace string
}

// requireAgentHost skips t unless it runs as root with containerd, runc
// and the CNI plugins installed (make deps).
func requireAgentHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, bin := range []string{"containerd", "ctr", "runc", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (make deps)", bin)
		}
	}
}

// sharedNode returns the shared node, starting it on first use, with a
// fresh namespace for t whose Ready default ServiceAccount exists.
func sharedNode(t *testing.T) *SharedNode {
	t.Helper()
	requireAgentHost(t)
	// Tests on the shared node wait mostly on containers (probe periods,
	// grace periods, restarts), so they run side by side, each in its own
	// namespace; make test-e2e bounds how many with -parallel.
	t.Parallel()
	shared.once.Do(func() { shared.err = startSharedNode() })
	if shared.err != nil {
		t.Fatalf("shared node: %v", shared.err)
	}
	shared.mu.Lock()
	shared.nsSeq++
	ns := fmt.Sprintf("e2e-%s-%d", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), shared.nsSeq)
	shared.mu.Unlock()
	if len(ns) > 63 {
		ns = strings.TrimRight(ns[:63], "-")
	}
	k := shared.server.Kubectl(t, "/usr/bin/kubectl")
	k.OK(t, "create", "namespace", ns)
	k.Namespace = ns
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pods of %s:\n%s", ns, k.Run(t, "get", "pods", "-o", "wide").String())
			t.Logf("events of %s:\n%s", ns, k.Run(t, "get", "events").String())
			shared.server.dumpLog(t)
		}
		k.Run(t, "delete", "namespace", ns, "--wait=false")
	})
	// Pods are rejected until the namespace's default ServiceAccount exists.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitKubectl(t, ctx, k, "default ServiceAccount", func(string) bool { return true }, "get", "serviceaccount", "default")
	return &SharedNode{Server: shared.server, Node: shared.node, DataDir: shared.server.DataDir, Kubectl: k, Namespace: ns}
}

func startSharedNode() error {
	root, err := os.MkdirTemp("", "skiff-e2e-node-")
	if err != nil {
		return err
	}
	shared.node = fmt.Sprintf("e2e-node-%d", os.Getpid())
	shared.run = filepath.Join("/run/skiff", shared.node)
	s := &Server{DataDir: filepath.Join(root, "data"), logPath: filepath.Join(root, "server.log")}
	s.Kubeconfig = filepath.Join(s.DataDir, "kubeconfig.yaml")
	shared.server = s
	shared.address = filepath.Join(shared.run, "containerd", "containerd.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := imagebuild.Build(ctx, imagebuild.Config{OutDir: filepath.Join(s.DataDir, "agent", "images")}); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		ln, err := listenFree()
		if err != nil {
			return err
		}
		s.Port = ln
		err = s.startWithAgent(shared.node)
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(s.logTail(), "address already in use") {
			continue
		}
		return fmt.Errorf("start skiff server: %w\n%s", err, s.logTail())
	}
	// Wait for the node to be Ready, so that tests start on a working node.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, _ := exec.Command("/usr/bin/kubectl", "--kubeconfig", s.Kubeconfig, "get", "node", shared.node,
			"-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`).Output()
		if strings.TrimSpace(string(out)) == "True" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not Ready after 2m\n%s", shared.node, s.logTail())
		}
		<-time.After(200 * time.Millisecond)
	}
}

// stopSharedNode stops the shared node's server and tears down its
// containerd, shims, mounts and directories, if it was started.
func stopSharedNode() {
	if shared.server == nil {
		return
	}
	s := shared.server
	if s.cmd != nil {
		s.kill(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			s.kill(syscall.SIGKILL)
			<-s.exited
		}
		s.cmd = nil
	}
	if err := containerd.Teardown(shared.address, s.DataDir, shared.run); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: shared node teardown:", err)
	}
	if err := agent.TeardownNetwork(shared.node, shared.run); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: shared node network teardown:", err)
	}
	if err := removeNodeCgroups(shared.node); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: shared node cgroups:", err)
	}
	_ = os.RemoveAll(shared.run)
	_ = os.RemoveAll(filepath.Dir(s.DataDir))
}
