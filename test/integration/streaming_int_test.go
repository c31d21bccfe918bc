//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	streamhttp "k8s.io/streaming/pkg/httpstream"
	streamspdy "k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/skiff/skiff/internal/cri/fakecri"
	"github.com/skiff/skiff/internal/kubelet/kubeletserver"
)

// fakeExecRuntime stands in for a runtime's streaming server: every
// session speaks SPDY v4.channel.k8s.io, prints "hello from exec" and
// exits 3.
func fakeExecRuntime(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := streamhttp.Handshake(r, w, []string{"v4.channel.k8s.io"}); err != nil {
			return // Handshake answered
		}
		streams := make(chan streamhttp.Stream, 8)
		conn := streamspdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s streamhttp.Stream, _ <-chan struct{}) error {
			streams <- s
			return nil
		})
		if conn == nil {
			return
		}
		defer conn.Close()
		byType := map[string]streamhttp.Stream{}
		for len(byType) < 3 { // error, stdout, stderr
			select {
			case s := <-streams:
				byType[s.Headers().Get("streamType")] = s
			case <-time.After(10 * time.Second):
				t.Errorf("fake runtime: got streams %v", byType)
				return
			}
		}
		_, _ = io.WriteString(byType["stdout"], "hello from exec\n")
		byType["stdout"].Close()
		byType["stderr"].Close()
		st := metav1.Status{Status: metav1.StatusFailure, Reason: "NonZeroExitCode", Message: "exit 3",
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: "3"}}}}
		b, _ := json.Marshal(st)
		_, _ = byType["error"].Write(b)
		byType["error"].Close()
		<-conn.CloseChan()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestStreamingThroughAPIServer runs pods/log, nodes/proxy and pods/exec
// (over SPDY and over WebSocket, which the API server translates) from
// client-go through the API server to a node API over fakecri.
func TestStreamingThroughAPIServer(t *testing.T) {
	t.Parallel()
	s, c := startAPI(t)
	ctx := ctxT(t)

	// The node agent: a pod "web" with a running container "app" that
	// logged two lines.
	rt := fakecri.New(fakecri.Config{Images: []string{"busybox"}, StreamBaseURL: fakeExecRuntime(t).URL})
	logDir := t.TempDir()
	sbCfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "u1"},
		Labels:       map[string]string{"io.kubernetes.pod.name": "web", "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": "u1"},
		LogDirectory: logDir,
	}
	sb, err := rt.RunPodSandbox(ctx, sbCfg, "")
	if err != nil {
		t.Fatal(err)
	}
	cid, err := rt.CreateContainer(ctx, sb, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, Image: &runtimeapi.ImageSpec{Image: "busybox"},
		Labels: map[string]string{"io.kubernetes.container.name": "app"}, LogPath: "app/0.log",
	}, sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, cid); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(logDir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "app", "0.log"), []byte("2026-01-02T03:04:05Z stdout F one\n2026-01-02T03:04:06Z stdout F two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(s.Config.DataDir, "server", "tls", "client-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	ks, err := kubeletserver.New(kubeletserver.Config{Runtime: rt, ClientCAs: pool, Address: "127.0.0.1:0", Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	port, err := ks.Listen()
	if err != nil {
		t.Fatal(err)
	}
	kctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ks.Serve(kctx) }()
	t.Cleanup(func() {
		stop()
		<-served
	})

	// The API objects: the node (advertising the node API) and the pod
	// running on it.
	node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "busybox", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if _, err := c.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("logs", func(t *testing.T) {
		tail := int64(1)
		b, err := c.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
		if err != nil || string(b) != "two\n" {
			t.Errorf("logs --tail=1 = %q, %v", b, err)
		}
		// Stream decodes the error Status, as kubectl logs does.
		_, err = c.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{Previous: true}).Stream(ctx)
		if err == nil || err.Error() != `previous terminated container "app" in pod "web" not found` {
			t.Errorf("logs --previous: %v", err)
		}
	})
	t.Run("node proxy", func(t *testing.T) {
		b, err := c.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/n1/proxy/containerLogs/default/web/app").DoRaw(ctx)
		if err != nil || string(b) != "one\ntwo\n" {
			t.Errorf("nodes/proxy containerLogs = %q, %v", b, err)
		}
	})
	for _, proto := range []string{"spdy", "websocket"} {
		t.Run("exec/"+proto, func(t *testing.T) {
			cfg := s.RESTConfig()
			u := c.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("web").SubResource("exec").
				VersionedParams(&corev1.PodExecOptions{Container: "app", Command: []string{"true"}, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
			var ex remotecommand.Executor
			var err error
			if proto == "spdy" {
				ex, err = remotecommand.NewSPDYExecutor(cfg, "POST", u)
			} else {
				ex, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
			}
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
			var exit exec.CodeExitError
			if !errors.As(err, &exit) || exit.Code != 3 || stdout.String() != "hello from exec\n" {
				t.Errorf("exec: %v, stdout %q, stderr %q; want exit code 3 and hello from exec", err, stdout.String(), stderr.String())
			}
		})
	}
}
