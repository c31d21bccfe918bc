package endpoints

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestFormat(t *testing.T) {
	addrs := []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}}
	cases := []struct {
		name string
		ep   corev1.Endpoints
		want string
	}{
		{"none", corev1.Endpoints{}, "<none>"},
		{"two", corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Addresses: addrs, Ports: []corev1.EndpointPort{{Port: 80}}}}}, "10.0.0.1:80,10.0.0.2:80"},
		{"more", corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Addresses: addrs, Ports: []corev1.EndpointPort{{Name: "a", Port: 80}, {Name: "b", Port: 443}}}}}, "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."},
		{"headless", corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Addresses: addrs}}}, "10.0.0.1,10.0.0.2"},
	}
	for _, tc := range cases {
		if got := Format(&tc.ep); got != tc.want {
			t.Errorf("%s: Format = %q, want %q", tc.name, got, tc.want)
		}
		Default(&tc.ep)
		if errs := Validate(&tc.ep); len(errs) != 0 {
			t.Errorf("%s: Validate: %v", tc.name, errs)
		}
	}
	bad := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "x"}}, Ports: []corev1.EndpointPort{{Port: 0, Protocol: "TCP"}}}}}
	errs := Validate(bad)
	if len(errs) != 2 || errs[0].Error() != `subsets[0].addresses[0].ip: Invalid value: "x": must be a valid IP address` {
		t.Errorf("Validate = %v", errs)
	}
}
