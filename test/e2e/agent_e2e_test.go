//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAgentRunsPod starts `skiff server` with its embedded agent on a real
// containerd, waits for the node to be Ready, runs a busybox pod to
// Running with `kubectl run`, and deletes it. Containerd, its shims and
// mounts are cleaned up even when the test fails.
func TestAgentRunsPod(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, node, k := ownNode(t, ctx, "agent") // returns once the node is Ready
	if out := k.OK(t, "get", "nodes"); !strings.Contains(out, node+"   Ready ") && !strings.Contains(out, node+"  Ready ") {
		t.Errorf("kubectl get nodes does not show %s Ready:\n%s", node, out)
	}
	nodeInfo := k.JSONPath(t, "{.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion} {.status.capacity.pods}", "node", node)
	if !strings.HasPrefix(nodeInfo, "v1.37.2 containerd://") || !strings.HasSuffix(nodeInfo, " 110") {
		t.Errorf("node info %q", nodeInfo)
	}
	if lease := k.JSONPath(t, "{.spec.holderIdentity}", "lease", "-n", "kube-node-lease", node); lease != node {
		t.Errorf("lease holder %q, want %s", lease, node)
	}

	k.OK(t, "run", "web", "--image=busybox", "--", "sh", "-c", "echo hello; sleep 3600")
	waitKubectl(t, ctx, k, "pod web Running", func(out string) bool {
		return out == "Running true"
	}, "get", "pod", "web", "-o", "jsonpath={.status.phase} {.status.containerStatuses[0].ready}")

	wide := k.OK(t, "get", "pods", "-o", "wide")
	lines := strings.Split(strings.TrimSpace(wide), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME ") || !strings.Contains(lines[0], "NODE") {
		t.Fatalf("kubectl get pods -o wide:\n%s", wide)
	}
	f := strings.Fields(lines[1])
	podCIDR, nodeIP := nodeNetwork(t, k, node)
	hostIP := k.JSONPath(t, "{.status.hostIP}", "pod", "web")
	if hostIP != nodeIP {
		t.Errorf("hostIP %s, want the node IP %s", hostIP, nodeIP)
	}
	if len(f) < 7 || f[0] != "web" || f[1] != "1/1" || f[2] != "Running" || f[3] != "0" || f[6] != node {
		t.Errorf("kubectl get pods -o wide:\n%s", wide)
	}
	if ip, err := netip.ParseAddr(f[5]); err != nil || !podCIDR.Contains(ip) {
		t.Errorf("pod IP %q, want an address of the node's pod CIDR %v:\n%s", f[5], podCIDR, wide)
	}
	cid := k.JSONPath(t, "{.status.containerStatuses[0].containerID}", "pod", "web")
	if !strings.HasPrefix(cid, "containerd://") {
		t.Errorf("containerID %q", cid)
	}

	k.OK(t, "delete", "pod", "web", "--grace-period=3", "--wait=false")
	waitKubectl(t, ctx, k, "pod web gone", func(out string) bool {
		return strings.TrimSpace(out) == ""
	}, "get", "pods", "-o", "name")
}

// startWithAgent starts `skiff server` with its agent for node and waits
// until /readyz passes and the kubeconfig exists.
func (s *Server) startWithAgent(node string) error {
	cidr, err := clusterCIDRFor(s.DataDir)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(skiffBin, "server",
		"--data-dir", s.DataDir,
		"--https-listen-port", fmt.Sprint(s.Port),
		"--bind-address", "127.0.0.1",
		"--node-name", node,
		// Any free port: several agents may run on this machine.
		"--kubelet-port", "0",
		"--cluster-cidr", cidr,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM} // a killed test run takes its servers along
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

// waitKubectl runs kubectl args every 200 ms until ok accepts its stdout
// or ctx ends.
func waitKubectl(t *testing.T, ctx context.Context, k *Kubectl, what string, ok func(string) bool, args ...string) {
	t.Helper()
	last := ""
	for {
		r := k.Run(t, args...)
		if r.Code == 0 && ok(r.Stdout) {
			return
		}
		last = r.String()
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s; last:\n%s", what, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
