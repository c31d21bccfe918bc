package endpointslice

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func TestDefault(t *testing.T) {
	s := &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}}}
	Kind().Strategy.Default(s)
	want := []discoveryv1.EndpointPort{{Name: ptr.To(""), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](80)}}
	if diff := cmp.Diff(want, s.Ports); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		slice discoveryv1.EndpointSlice
		want  []string
	}{
		{
			name: "valid",
			slice: discoveryv1.EndpointSlice{
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, NodeName: ptr.To("n1"), Hostname: ptr.To("web-0")}},
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
			},
		},
		{name: "no address type", want: []string{"FieldValueRequired addressType"}},
		{
			name: "bad addresses",
			slice: discoveryv1.EndpointSlice{
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints: []discoveryv1.Endpoint{
					{},
					{Addresses: []string{"fd00::1", "127.0.0.1", "nope"}},
				},
			},
			want: []string{
				"FieldValueRequired endpoints[0].addresses",
				"FieldValueInvalid endpoints[1].addresses[0]",
				"FieldValueInvalid endpoints[1].addresses[1]",
				"FieldValueInvalid endpoints[1].addresses[2]",
			},
		},
		{
			name: "bad ports",
			slice: discoveryv1.EndpointSlice{
				AddressType: discoveryv1.AddressTypeFQDN,
				Ports: []discoveryv1.EndpointPort{
					{Name: ptr.To("Bad_Name")},
					{Protocol: ptr.To(corev1.Protocol("ICMP"))},
					{},
				},
			},
			want: []string{
				"FieldValueInvalid ports[0].name",
				"FieldValueNotSupported ports[1].protocol",
				"FieldValueDuplicate ports[2].name",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.slice.DeepCopy()
			Kind().Strategy.Default(s)
			if diff := cmp.Diff(tc.want, errStrings(Kind().Strategy.Validate(s))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4}
	s := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv6}
	if diff := cmp.Diff([]string{"FieldValueInvalid addressType"}, errStrings(Kind().Strategy.ValidateUpdate(s, old))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	created := metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	now := created.Add(10 * time.Second)
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abc", CreationTimestamp: created},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}, {Name: ptr.To("metrics")}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1"}}, {Addresses: []string{"10.0.0.2"}},
			{Addresses: []string{"10.0.0.3"}}, {Addresses: []string{"10.0.0.4", "10.0.0.5"}},
		},
	}
	want := []interface{}{"web-abc", "IPv4", "80,metrics", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "10s"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(s, now)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	empty := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "e", CreationTimestamp: created}, AddressType: discoveryv1.AddressTypeIPv4}
	if diff := cmp.Diff([]interface{}{"e", "IPv4", "<unset>", "<unset>", "10s"}, Kind().Strategy.Row(empty, now)); diff != "" {
		t.Errorf("empty (-want +got):\n%s", diff)
	}
}
