package config

import (
	"testing"
)

func TestParseResourceList(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "empty", in: "", want: ""},
		{name: "all", in: "cpu=500m, memory=1Gi,ephemeral-storage=10Gi,pid=100", want: "cpu=500m,ephemeral-storage=10Gi,memory=1Gi,pid=100"},
		{name: "unknown resource", in: "gpu=1", wantErr: true},
		{name: "no value", in: "cpu", wantErr: true},
		{name: "bad quantity", in: "memory=lots", wantErr: true},
		{name: "negative", in: "cpu=-1", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseResourceList(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && FormatResourceList(l) != tc.want {
				t.Errorf("got %q, want %q", FormatResourceList(l), tc.want)
			}
		})
	}
}

func TestKubeletValidate(t *testing.T) {
	k := DefaultKubelet()
	if err := k.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	k.MaxPods, k.NodeStatusUpdateFrequency = 0, 0
	if err := k.Validate(); err == nil {
		t.Error("zero max pods and frequency accepted")
	}
}
