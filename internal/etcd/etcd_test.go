package etcd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func startTest(t *testing.T, dir string) *Server {
	t.Helper()
	srv, err := Start(t.Context(), Config{DataDir: dir, UnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func putGet(t *testing.T, srv *Server, key, val string) string {
	t.Helper()
	cli, err := srv.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if val != "" {
		if _, err := cli.Put(ctx, key, val); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if len(resp.Kvs) != 1 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

func TestStartRestart(t *testing.T) {
	tests := []struct {
		name       string
		dir        func(t *testing.T) string
		wantSocket bool
	}{
		{name: "short path uses a unix socket", dir: func(t *testing.T) string { return t.TempDir() }, wantSocket: true},
		{name: "long path falls back to tcp", dir: func(t *testing.T) string {
			return filepath.Join(t.TempDir(), strings.Repeat("d", 120))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			srv := startTest(t, dir)
			eps := srv.Endpoints()
			if got := strings.HasPrefix(eps[0], "unix://"); got != tc.wantSocket {
				t.Fatalf("endpoint %q: unix socket = %v, want %v", eps[0], got, tc.wantSocket)
			}
			if got := putGet(t, srv, "/k", "v1"); got != "v1" {
				t.Fatalf("got %q, want v1", got)
			}
			srv.Stop()
			srv.Stop() // idempotent

			srv2 := startTest(t, dir)
			if diff := strings.Join(srv2.Endpoints(), ","); diff != strings.Join(eps, ",") {
				t.Errorf("endpoints changed across restart: %v -> %v", eps, srv2.Endpoints())
			}
			if got := putGet(t, srv2, "/k", ""); got != "v1" {
				t.Fatalf("after restart got %q, want v1", got)
			}
		})
	}
}

func TestNewClientExternal(t *testing.T) {
	srv := startTest(t, t.TempDir())
	cli, err := NewClient(ClientConfig{Endpoints: srv.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "/x", "y", clientv3.WithPrevKV()); err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(ClientConfig{Endpoints: srv.Endpoints(), CertFile: "c"}); err == nil {
		t.Error("cert without key: want error")
	}
	if _, err := NewClient(ClientConfig{}); err == nil {
		t.Error("no endpoints: want error")
	}
}
