package config

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	base := DefaultServer(0, "/root")
	cases := []struct {
		name    string
		mutate  func(*Server)
		wantErr string
	}{
		{name: "defaults", mutate: func(*Server) {}},
		{name: "bad port", mutate: func(s *Server) { s.HTTPSPort = 70000 }, wantErr: "not a valid port"},
		{name: "bad bind", mutate: func(s *Server) { s.BindAddress = "nope" }, wantErr: "not an IP"},
		{name: "bad cidr", mutate: func(s *Server) { s.ServiceCIDR = "10.43.0.0" }, wantErr: "--service-cidr"},
		{name: "cluster cidr below a node block", mutate: func(s *Server) { s.ClusterCIDR = "10.42.0.0/25" }, wantErr: "--cluster-cidr"},
		{name: "tls without endpoint", mutate: func(s *Server) { s.DatastoreCAFile = "/x" }, wantErr: "need --datastore-endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.mutate(&s)
			err := s.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	if got := DefaultServer(1000, "/home/u").DataDir; got != "/home/u/.skiff" {
		t.Errorf("non-root data dir = %q", got)
	}
	s := DefaultServer(0, "/root")
	if s.DataDir != "/var/lib/skiff" || s.KubeconfigPath() != "/var/lib/skiff/kubeconfig.yaml" {
		t.Errorf("root defaults = %q %q", s.DataDir, s.KubeconfigPath())
	}
	if got := s.FirstServiceIP().String(); got != "10.43.0.1" {
		t.Errorf("first service IP = %s", got)
	}
}

func TestNodeNameValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"node-1", true}, {"n1.example.com", true}, {"hA-up", false}, {"under_score", false}} {
		s := DefaultServer(0, "/root")
		s.NodeName = tc.name
		err := s.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("--node-name %q: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if got, err := NodeName(tc.name); (err == nil) != tc.ok || (tc.ok && got != tc.name) {
			t.Errorf("NodeName(%q) = %q, %v", tc.name, got, err)
		}
	}
	if got, err := NodeName(""); err == nil && got != strings.ToLower(got) {
		t.Errorf("NodeName(\"\") = %q: the host name must be lower-cased", got)
	}
}
