package prober

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff/skiff/internal/cri"
	"github.com/skiff/skiff/internal/cri/fakecri"
)

// hostPort splits a test server's address.
func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func TestHTTPGetProbe(t *testing.T) {
	t.Parallel()
	var gotUA, gotHeader string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA, gotHeader = r.Header.Get("User-Agent"), r.Header.Get("X-Test")
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/redirect":
			w.WriteHeader(http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.Listener.Addr().String())
	r := &Runner{UserAgent: "kube-probe/1.37"}
	c := &corev1.Container{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}
	for _, tc := range []struct {
		name       string
		path       string
		port       intstr.IntOrString
		headers    []corev1.HTTPHeader
		want       Result
		wantOut    string
		wantUA     string
		wantHeader string
	}{
		{name: "200 by number", path: "/ok", port: intstr.FromInt32(int32(port)), want: Success, wantUA: "kube-probe/1.37"},
		{name: "200 by name", path: "ok", port: intstr.FromString("http"), want: Success, wantUA: "kube-probe/1.37"},
		{name: "302 succeeds", path: "/redirect", port: intstr.FromInt32(int32(port)), want: Success, wantUA: "kube-probe/1.37"},
		{name: "500 fails", path: "/bad", port: intstr.FromInt32(int32(port)), want: Failure, wantOut: "HTTP probe failed with statuscode: 500", wantUA: "kube-probe/1.37"},
		{name: "headers", path: "/ok", port: intstr.FromInt32(int32(port)), want: Success,
			headers: []corev1.HTTPHeader{{Name: "User-Agent", Value: "mine"}, {Name: "X-Test", Value: "x"}}, wantUA: "mine", wantHeader: "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: tc.path, Port: tc.port, HTTPHeaders: tc.headers}}
			res, out, err := r.Run(context.Background(), h, time.Second, Target{PodIP: host, Container: c})
			if err != nil || res != tc.want || tc.wantOut != "" && out != tc.wantOut {
				t.Fatalf("Run = %v %q %v; want %v %q", res, out, err, tc.want, tc.wantOut)
			}
			if gotUA != tc.wantUA || gotHeader != tc.wantHeader {
				t.Errorf("User-Agent %q X-Test %q; want %q %q", gotUA, gotHeader, tc.wantUA, tc.wantHeader)
			}
		})
	}
	// A named port the container lacks cannot be probed.
	h := &corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("nope")}}
	if _, _, err := r.Run(context.Background(), h, time.Second, Target{PodIP: host, Container: c}); err == nil {
		t.Error("unknown named port: no error")
	}
}

func TestTCPProbe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port := hostPort(t, ln.Addr().String())
	r := &Runner{}
	h := &corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}
	if res, out, err := r.Run(context.Background(), h, time.Second, Target{PodIP: host}); res != Success || err != nil {
		t.Fatalf("open port: %v %q %v", res, out, err)
	}
	ln.Close()
	res, out, err := r.Run(context.Background(), h, time.Second, Target{PodIP: host})
	if res != Failure || err != nil || !strings.Contains(out, "connection refused") {
		t.Fatalf("closed port: %v %q %v; want Failure, connection refused", res, out, err)
	}
}

func TestExecProbe(t *testing.T) {
	t.Parallel()
	rt := fakecri.New(fakecri.Config{Exec: func(id string, cmd []string) (cri.ExecResult, error) {
		switch cmd[0] {
		case "slow":
			return cri.ExecResult{}, context.DeadlineExceeded
		case "check":
			if cmd[1] == "hello" {
				return cri.ExecResult{Stdout: []byte("fine\n")}, nil
			}
		}
		return cri.ExecResult{ExitCode: 1, Stderr: []byte("bad " + strings.Join(cmd[1:], " ") + "\n")}, nil
	}})
	rt.AddImage("busybox")
	id := runContainer(t, rt)
	r := &Runner{Exec: rt}
	c := &corev1.Container{Env: []corev1.EnvVar{{Name: "WORD", Value: "hello"}}}
	for _, tc := range []struct {
		cmd     []string
		want    Result
		wantOut string
	}{
		{[]string{"check", "$(WORD)"}, Success, "fine\n"},
		{[]string{"check", "other"}, Failure, "bad other\n"},
		{[]string{"slow"}, Failure, `command "slow" timed out`},
	} {
		h := &corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: tc.cmd}}
		res, out, err := r.Run(context.Background(), h, time.Second, Target{ContainerID: id, Container: c})
		if res != tc.want || out != tc.wantOut || err != nil {
			t.Errorf("%v: %v %q %v; want %v %q", tc.cmd, res, out, err, tc.want, tc.wantOut)
		}
	}
}

func TestGRPCProbe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	host, port := hostPort(t, ln.Addr().String())
	r := &Runner{UserAgent: "kube-probe/1.37"}
	h := &corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: int32(port)}}
	if res, out, err := r.Run(context.Background(), h, 2*time.Second, Target{PodIP: host}); res != Success || err != nil {
		t.Fatalf("serving: %v %q %v", res, out, err)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	res, out, err := r.Run(context.Background(), h, 2*time.Second, Target{PodIP: host})
	if res != Failure || err != nil || out != `service unhealthy (responded with "NOT_SERVING")` {
		t.Fatalf("not serving: %v %q %v", res, out, err)
	}
}

func TestHTTPSProbeSkipsVerification(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	host, port := hostPort(t, srv.Listener.Addr().String())
	h := &corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Scheme: corev1.URISchemeHTTPS, Path: "/", Port: intstr.FromInt32(int32(port))}}
	if res, out, err := (&Runner{}).Run(context.Background(), h, time.Second, Target{PodIP: host}); res != Success || err != nil {
		t.Fatalf("https probe: %v %q %v", res, out, err)
	}
}
