//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// nodeNetwork returns the pod CIDR and InternalIP of node.
func nodeNetwork(t *testing.T, k *Kubectl, node string) (netip.Prefix, string) {
	t.Helper()
	out := k.JSONPath(t, `{.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}`, "node", node)
	f := strings.Fields(out)
	if len(f) != 2 {
		t.Fatalf("node %s: podCIDR and InternalIP %q", node, out)
	}
	p, err := netip.ParsePrefix(f[0])
	if err != nil {
		t.Fatalf("node %s: podCIDR %q: %v", node, f[0], err)
	}
	return p, f[1]
}

// waitRunning waits until every container of pod runs and is ready, and
// returns the pod's IP.
func waitRunning(t *testing.T, ctx context.Context, k *Kubectl, pod string) string {
	t.Helper()
	waitKubectl(t, ctx, k, "pod "+pod+" Running and ready", func(out string) bool {
		f := strings.Fields(out)
		if len(f) < 2 || f[0] != "Running" {
			return false
		}
		for _, r := range f[1:] {
			if r != "true" {
				return false
			}
		}
		return true
	}, "get", "pod", pod, "-o", "jsonpath={.status.phase} {.status.containerStatuses[*].ready}")
	return k.JSONPath(t, "{.status.podIP}", "pod", pod)
}

// httpGet polls url until it answers with an HTTP response (of any
// status) or ctx ends, and returns the status code and body.
func httpGet(t *testing.T, ctx context.Context, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return resp.StatusCode, string(b)
			}
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: no answer: %v", url, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// natRules returns the host's nat table (iptables-save).
func natRules(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	return string(out)
}

// TestPodNetworkWeb is the README's example: `kubectl run web
// --image=busybox -- httpd -f -p 8080` runs, `kubectl get pods -o wide`
// shows a pod IP of the node's pod CIDR (not the node IP), and an HTTP
// request from the node to that IP is answered.
func TestPodNetworkWeb(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	podCIDR, nodeIP := nodeNetwork(t, k, n.Node)

	k.OK(t, "run", "web", "--image=busybox", "--", "httpd", "-f", "-p", "8080")
	ip := waitRunning(t, ctx, k, "web")
	wide := k.OK(t, "get", "pods", "-o", "wide")
	lines := strings.Split(strings.TrimSpace(wide), "\n")
	if len(lines) != 2 {
		t.Fatalf("kubectl get pods -o wide:\n%s", wide)
	}
	f := strings.Fields(lines[1])
	if len(f) < 7 || f[0] != "web" || f[2] != "Running" || f[5] != ip || f[6] != n.Node {
		t.Errorf("kubectl get pods -o wide (want web Running on %s with IP %s):\n%s", n.Node, ip, wide)
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || !podCIDR.Contains(addr) || ip == nodeIP {
		t.Fatalf("pod IP %q: want an address of the node's pod CIDR %v, not the node IP %s", ip, podCIDR, nodeIP)
	}
	if ips := k.JSONPath(t, "{.status.podIPs[*].ip} {.status.hostIP}", "pod", "web"); ips != ip+" "+nodeIP {
		t.Errorf("podIPs and hostIP %q, want %q", ips, ip+" "+nodeIP)
	}
	// busybox httpd serves its working directory (/), which has no
	// index.html: any HTTP answer shows the pod is reachable.
	code, body := httpGet(t, ctx, "http://"+net.JoinHostPort(ip, "8080")+"/")
	t.Logf("GET http://%s:8080/ from the node: %d %q", ip, code, body)
	if code < 200 || code > 499 {
		t.Errorf("GET from the node: status %d", code)
	}
}

// TestPodNetworkLocalhost runs two containers of one pod that talk over
// localhost (they share the pod's network namespace); the pod's hostname
// is its name, its resolv.conf carries the node's nameservers and its
// /etc/hosts, written by the kubelet, maps its IP to its name.
func TestPodNetworkLocalhost(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: pair
spec:
  containers:
  - name: server
    image: skiff.local/testapp:latest
    imagePullPolicy: Never
  - name: client
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "until wget -qO- http://localhost:8080/hostname 2>/dev/null; do sleep 0.2; done; echo; echo hostname=$(hostname); cat /etc/resolv.conf /etc/hosts; sleep 3600"]
`)
	ip := waitRunning(t, ctx, k, "pair")
	var logs string
	waitKubectl(t, ctx, k, "client's log", func(out string) bool {
		logs = out
		return strings.Contains(out, "nameserver")
	}, "logs", "pair", "-c", "client")
	if !strings.Contains("\n"+logs, "\npair\n") || !strings.Contains(logs, "hostname=pair\n") {
		t.Errorf("client's log (want the server's answer over localhost and the hostname pair):\n%s", logs)
	}
	if !strings.Contains(logs, "# Kubernetes-managed hosts file.\n") || !strings.Contains(logs, "\n"+ip+"\tpair\n") {
		t.Errorf("pod /etc/hosts lacks the kubelet's header or %s\tpair:\n%s", ip, logs)
	}
	for _, ns := range hostNameservers(t) {
		if !strings.Contains(logs, "nameserver "+ns) {
			t.Errorf("pod resolv.conf lacks the node's nameserver %s:\n%s", ns, logs)
		}
	}
}

// hostNameservers returns the nameservers of the node's resolv.conf (at
// most three, as a pod gets).
func hostNameservers(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "nameserver" && len(out) < 3 {
			out = append(out, fs[1])
		}
	}
	return out
}

// TestPodNetworkHostPort runs a pod with a hostPort: it answers on the
// node IP and that port; once the pod is deleted CNI DEL has removed its
// port mapping and masquerade rules.
func TestPodNetworkHostPort(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, nodeIP := nodeNetwork(t, k, n.Node)
	port := freePort(t)
	k.Apply(t, "create", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: hp
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: skiff.local/testapp:latest
    imagePullPolicy: Never
    ports:
    - containerPort: 8080
      hostPort: %d
`, port))
	ip := waitRunning(t, ctx, k, "hp")
	code, body := httpGet(t, ctx, fmt.Sprintf("http://%s/hostname", net.JoinHostPort(nodeIP, fmt.Sprint(port))))
	if code != http.StatusOK || strings.TrimSpace(body) != "hp" {
		t.Errorf("GET node-IP:%d/hostname = %d %q, want 200 \"hp\"", port, code, body)
	}
	dports := fmt.Sprintf("--dports %d ", port)
	if rules := natRules(t); !strings.Contains(rules, dports) || !strings.Contains(rules, "-s "+ip+"/32") {
		t.Errorf("nat table lacks the pod's hostPort or masquerade rules:\n%s", rules)
	}

	k.OK(t, "delete", "pod", "hp", "--wait=false")
	waitKubectl(t, ctx, k, "pod hp gone", func(out string) bool { return strings.TrimSpace(out) == "" }, "get", "pods", "-o", "name")
	deadline := time.Now().Add(30 * time.Second)
	for {
		rules := natRules(t)
		if !strings.Contains(rules, dports) && !strings.Contains(rules, "-s "+ip+"/32") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted pod's nat rules are still there:\n%s", rules)
		}
		time.Sleep(200 * time.Millisecond) // polling the kernel's tables
	}
}

// TestPodNetworkHostNetwork runs a hostNetwork pod: its IP is the node IP.
func TestPodNetworkHostNetwork(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, nodeIP := nodeNetwork(t, k, n.Node)
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: hostnet
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: sleep
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`)
	if ip := waitRunning(t, ctx, k, "hostnet"); ip != nodeIP {
		t.Errorf("hostNetwork pod IP %q, want the node IP %s", ip, nodeIP)
	}
	if ips := k.JSONPath(t, "{.status.podIPs[*].ip} {.status.hostIP}", "pod", "hostnet"); ips != nodeIP+" "+nodeIP {
		t.Errorf("podIPs and hostIP %q, want the node IP twice", ips)
	}
}

// clusterCIDRSeq counts the cluster CIDRs handed to e2e servers.
var clusterCIDRSeq atomic.Int32

// clusterCIDRs keeps each data dir's cluster CIDR, so that a restarted
// server keeps its own.
var clusterCIDRs struct {
	sync.Mutex
	byDir map[string]string
}

// clusterCIDRFor returns the --cluster-cidr of the server of dataDir,
// picking a free one on first use.
func clusterCIDRFor(dataDir string) (string, error) {
	clusterCIDRs.Lock()
	defer clusterCIDRs.Unlock()
	if c, ok := clusterCIDRs.byDir[dataDir]; ok {
		return c, nil
	}
	c, err := freeClusterCIDR()
	if err != nil {
		return "", err
	}
	if clusterCIDRs.byDir == nil {
		clusterCIDRs.byDir = map[string]string{}
	}
	clusterCIDRs.byDir[dataDir] = c
	return c, nil
}

// freeClusterCIDR returns a 10.X.0.0/16 that no route of the machine
// overlaps, for an e2e server's --cluster-cidr: several servers (of this
// run, or of other runs on the machine) each bridge their pods' /24s on
// this one host, and two bridges on one subnet would break both.
func freeClusterCIDR() (string, error) {
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return "", fmt.Errorf("ip route: %w", err)
	}
	var routes []netip.Prefix
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		dst := f[0]
		if dst == "local" || dst == "broadcast" || dst == "unicast" {
			if len(f) < 2 {
				continue
			}
			dst = f[1]
		}
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		if p, err := netip.ParsePrefix(dst); err == nil {
			routes = append(routes, p)
		}
	}
	start := (os.Getpid()*7 + int(clusterCIDRSeq.Add(1))*13) % 150
	for i := range 150 {
		p := netip.MustParsePrefix(fmt.Sprintf("10.%d.0.0/16", 100+(start+i)%150))
		free := true
		for _, r := range routes {
			if r.Bits() > 0 && r.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p.String(), nil
		}
	}
	return "", fmt.Errorf("no free 10.x.0.0/16 for a cluster CIDR")
}
