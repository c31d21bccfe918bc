package kubelet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestPodNamespaces(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name string
		spec corev1.PodSpec
		want *runtimeapi.NamespaceOption
	}{
		{name: "pod network", want: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}},
		{name: "host network", spec: corev1.PodSpec{HostNetwork: true},
			want: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}},
		{name: "shared process namespace", spec: corev1.PodSpec{ShareProcessNamespace: &yes},
			want: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_POD, Ipc: runtimeapi.NamespaceMode_POD}},
		{name: "host pid and ipc", spec: corev1.PodSpec{HostPID: true, HostIPC: true},
			want: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_NODE, Ipc: runtimeapi.NamespaceMode_NODE}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := podNamespaces(&corev1.Pod{Spec: tc.spec})
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodHostname(t *testing.T) {
	long := strings.Repeat("a", 62) + "-b"
	for _, tc := range []struct {
		name, pod, hostname, want string
	}{
		{name: "pod name", pod: "web", want: "web"},
		{name: "spec.hostname", pod: "web-0", hostname: "db", want: "db"},
		{name: "long name cut without a trailing dash", pod: long, want: strings.Repeat("a", 62)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tc.pod}, Spec: corev1.PodSpec{Hostname: tc.hostname}}
			if got := podHostname(p); got != tc.want {
				t.Errorf("podHostname = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPortMappings(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "a", Ports: []corev1.ContainerPort{
			{ContainerPort: 80, HostPort: 8080},
			{ContainerPort: 9090}, // no hostPort: not mapped
			{ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP, HostIP: "127.0.0.1"},
		}},
		{Name: "b", Ports: []corev1.ContainerPort{{ContainerPort: 7, HostPort: 7007, Protocol: corev1.ProtocolSCTP}}},
	}}}
	want := []*runtimeapi.PortMapping{
		{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: 8080},
		{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53, HostPort: 5353, HostIp: "127.0.0.1"},
		{Protocol: runtimeapi.Protocol_SCTP, ContainerPort: 7, HostPort: 7007},
	}
	if diff := cmp.Diff(want, portMappings(p), protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseResolvConf(t *testing.T) {
	got := parseResolvConf([]byte(`# generated
nameserver 10.0.0.2
nameserver 10.0.0.3 # second
domain old.example
search corp.example example.org
options ndots:2 edns0
; comment
nameserver
`))
	want := resolvConf{servers: []string{"10.0.0.2", "10.0.0.3"}, searches: []string{"corp.example", "example.org"}, options: []string{"ndots:2", "edns0"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(resolvConf{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got.onlyLoopback() {
		t.Error("onlyLoopback with real servers")
	}
	if !(resolvConf{servers: []string{"127.0.0.53"}}).onlyLoopback() {
		t.Error("onlyLoopback false for systemd-resolved's stub")
	}
}

func TestDNSConfig(t *testing.T) {
	host := resolvConf{servers: []string{"10.0.0.2"}, searches: []string{"corp.example"}, options: []string{"ndots:1", "edns0"}}
	two := "2"
	for _, tc := range []struct {
		name   string
		policy corev1.DNSPolicy
		conf   *corev1.PodDNSConfig
		want   *runtimeapi.DNSConfig
	}{
		{name: "ClusterFirst falls back to the node's", policy: corev1.DNSClusterFirst,
			want: &runtimeapi.DNSConfig{Servers: []string{"10.0.0.2"}, Searches: []string{"corp.example"}, Options: []string{"ndots:1", "edns0"}}},
		{name: "Default", policy: corev1.DNSDefault,
			want: &runtimeapi.DNSConfig{Servers: []string{"10.0.0.2"}, Searches: []string{"corp.example"}, Options: []string{"ndots:1", "edns0"}}},
		{name: "None uses dnsConfig alone", policy: corev1.DNSNone,
			conf: &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.example"}},
			want: &runtimeapi.DNSConfig{Servers: []string{"1.1.1.1"}, Searches: []string{"a.example"}}},
		{name: "dnsConfig appended, options replaced by name", policy: corev1.DNSDefault,
			conf: &corev1.PodDNSConfig{
				Nameservers: []string{"10.0.0.2", "1.1.1.1", "8.8.8.8", "9.9.9.9"},
				Searches:    []string{"corp.example", "b.example"},
				Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}, {Name: "rotate"}},
			},
			want: &runtimeapi.DNSConfig{
				Servers:  []string{"10.0.0.2", "1.1.1.1", "8.8.8.8"},
				Searches: []string{"corp.example", "b.example"},
				Options:  []string{"edns0", "ndots:2", "rotate"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{Spec: corev1.PodSpec{DNSPolicy: tc.policy, DNSConfig: tc.conf}}
			if diff := cmp.Diff(tc.want, dnsConfig(p, host), protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputePodStatusIPs(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	st := computePodStatus(pod, podObservation{nodeIP: "192.168.1.2", podIPs: []string{"10.42.0.5", "fd00::5"}}, now)
	if st.HostIP != "192.168.1.2" || len(st.HostIPs) != 1 || st.HostIPs[0].IP != "192.168.1.2" {
		t.Errorf("hostIP %q hostIPs %v", st.HostIP, st.HostIPs)
	}
	if want := []corev1.PodIP{{IP: "10.42.0.5"}, {IP: "fd00::5"}}; st.PodIP != "10.42.0.5" || !cmp.Equal(st.PodIPs, want) {
		t.Errorf("podIP %q podIPs %v, want 10.42.0.5 %v", st.PodIP, st.PodIPs, want)
	}
	// A sync that could not read the IPs keeps the last ones.
	pod.Status = st
	st = computePodStatus(pod, podObservation{nodeIP: "192.168.1.2"}, now)
	if st.PodIP != "10.42.0.5" || len(st.PodIPs) != 2 {
		t.Errorf("podIP %q podIPs %v after a sync without IPs, want the last ones", st.PodIP, st.PodIPs)
	}
}

// TestSyncPodNetworkModes syncs a pod-network and a host-network pod on
// fakecri: the first gets its own network namespace and the sandbox's IP,
// the second the node's namespace and the node IP.
func TestSyncPodNetworkModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		hostNetwork bool
		mode        runtimeapi.NamespaceMode
	}{
		{name: "pod network", mode: runtimeapi.NamespaceMode_POD},
		{name: "host network", hostNetwork: true, mode: runtimeapi.NamespaceMode_NODE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "busybox")
			p := testPod(corev1.RestartPolicyAlways, corev1.PullIfNotPresent)
			p.Spec.HostNetwork = tc.hostNetwork
			h.create(t, p)
			pod, _ := h.sync(t)
			sbs, err := h.rt.ListPodSandbox(context.Background(), nil)
			if err != nil || len(sbs) != 1 {
				t.Fatalf("sandboxes %v, %v", sbs, err)
			}
			st, err := h.rt.PodSandboxStatus(context.Background(), sbs[0].Id, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Status.GetLinux().GetNamespaces().GetOptions().GetNetwork(); got != tc.mode {
				t.Errorf("sandbox network mode %v, want %v", got, tc.mode)
			}
			wantIP := "10.0.0.5"
			if !tc.hostNetwork {
				wantIP = st.Status.GetNetwork().GetIp()
			}
			if pod.Status.PodIP != wantIP || len(pod.Status.PodIPs) != 1 || pod.Status.PodIPs[0].IP != wantIP || wantIP == "" {
				t.Errorf("podIP %q podIPs %v, want %q", pod.Status.PodIP, pod.Status.PodIPs, wantIP)
			}
		})
	}
}

func TestHostsFile(t *testing.T) {
	aliases := []corev1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"foo.local", "bar.local"}}}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		ips  []string
		want string
	}{
		{name: "pod network", pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}}, ips: []string{"10.42.0.5"},
			want: "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
				"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
				"10.42.0.5\tweb\n"},
		{name: "subdomain and aliases", ips: []string{"10.42.0.6", "fd00::6"},
			pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "ns"}, Spec: corev1.PodSpec{Hostname: "db", Subdomain: "dbs", HostAliases: aliases}},
			want: "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
				"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
				"10.42.0.6\tdb.dbs.ns.svc.cluster.local\tdb\nfd00::6\tdb.dbs.ns.svc.cluster.local\tdb\n" +
				"\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n"},
		{name: "host network", ips: []string{"192.0.2.2"},
			pod:  &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "h"}, Spec: corev1.PodSpec{HostNetwork: true, HostAliases: aliases}},
			want: "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost node\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(hostsFile(tc.pod, tc.ips, []byte("127.0.0.1 localhost node")))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEtcHostsMount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pod")
	k := &Kubelet{}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	c := &corev1.Container{Name: "c"}
	if m, err := k.etcHostsMount(pod, c, nil, dir); err != nil || m != nil {
		t.Errorf("without pod IPs: %v, %v; want no mount", m, err)
	}
	m, err := k.etcHostsMount(pod, c, []string{"10.42.0.5"}, dir)
	if err != nil || m == nil || m.ContainerPath != "/etc/hosts" {
		t.Fatalf("mount %v, %v", m, err)
	}
	b, err := os.ReadFile(m.HostPath)
	if err != nil || !strings.HasSuffix(string(b), "10.42.0.5\tweb\n") {
		t.Errorf("hosts file %q, %v", b, err)
	}
	own := &corev1.Container{Name: "own", VolumeMounts: []corev1.VolumeMount{{Name: "h", MountPath: "/etc/hosts"}}}
	if m, err := k.etcHostsMount(pod, own, []string{"10.42.0.5"}, dir); err != nil || m != nil {
		t.Errorf("container mounting /etc/hosts itself: %v, %v; want no mount", m, err)
	}
}

// TestSyncPodWaitsForNetwork fails the runtime's status check once: a
// pod-network pod then gets no sandbox (and a NetworkNotReady event) until
// the next sync, while a host-network pod does not wait.
func TestSyncPodWaitsForNetwork(t *testing.T) {
	t.Parallel()
	for _, hostNetwork := range []bool{false, true} {
		h := newHarness(t, "busybox")
		p := testPod(corev1.RestartPolicyAlways, corev1.PullIfNotPresent)
		p.Spec.HostNetwork = hostNetwork
		h.create(t, p)
		h.rt.InjectError("Status", errors.New("runtime is starting"))
		h.sync(t)
		sbs, err := h.rt.ListPodSandbox(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 0, true: 1}[hostNetwork]; len(sbs) != want {
			t.Fatalf("hostNetwork %v: %d sandboxes while the network is not ready, want %d", hostNetwork, len(sbs), want)
		}
		if hostNetwork {
			continue
		}
		if pod, _ := h.sync(t); pod.Status.PodIP == "" {
			t.Errorf("no pod IP once the network is ready: %+v", pod.Status)
		}
	}
}
