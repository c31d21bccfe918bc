package nodeports

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func withPort(p *v1.Pod, ip string, proto v1.Protocol, port int32) *v1.Pod {
	p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{HostIP: ip, Protocol: proto, HostPort: port, ContainerPort: 80})
	return p
}

func TestFilter(t *testing.T) {
	nodes := []*v1.Node{frameworktest.Node("a", nil, "1", "1Gi"), frameworktest.Node("b", nil, "1", "1Gi")}
	existing := []*v1.Pod{withPort(frameworktest.Pod("web", "a", nil, "", ""), "", "", 8080), withPort(frameworktest.Pod("dns", "b", nil, "", ""), "127.0.0.1", v1.ProtocolUDP, 53)}
	tests := []struct {
		name string
		pod  *v1.Pod
		want map[string]string
	}{
		{name: "same port", pod: withPort(frameworktest.Pod("p", "", nil, "", ""), "", v1.ProtocolTCP, 8080), want: map[string]string{"a": ErrReason, "b": ""}},
		{name: "other protocol", pod: withPort(frameworktest.Pod("p", "", nil, "", ""), "", v1.ProtocolUDP, 8080), want: map[string]string{"a": "", "b": ""}},
		{name: "wildcard conflicts with a specific IP", pod: withPort(frameworktest.Pod("p", "", nil, "", ""), "0.0.0.0", v1.ProtocolUDP, 53), want: map[string]string{"a": "", "b": ErrReason}},
		{name: "other IP", pod: withPort(frameworktest.Pod("p", "", nil, "", ""), "127.0.0.2", v1.ProtocolUDP, 53), want: map[string]string{"a": "", "b": ""}},
		{name: "no host ports skips", pod: frameworktest.Pod("p", "", nil, "", ""), want: map[string]string{"a": "", "b": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(Name, New, "", nodes, existing, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := h.Filter(tc.pod)
			if diff := cmp.Diff(tc.want, frameworktest.Reasons(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
