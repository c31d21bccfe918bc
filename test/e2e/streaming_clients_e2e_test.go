//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
)

// TestStreamingProtocols drives exec and port-forward through client-go
// with one protocol each and no fallback, so that a broken WebSocket path
// cannot hide behind kubectl's fallback to SPDY.
func TestStreamingProtocols(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	port := freePort(t)
	runPod(t, k, "web", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: skiff.local/testapp:latest
    imagePullPolicy: Never
    args: ["--port=%d", "--echo-port=%d"]
  - name: sh
    image: busybox
    command: ["sleep", "3600"]
`, port, freePort(t)))
	cfg, err := clientcmd.BuildConfigFromFlags("", n.Server.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(cfg.Host, "/") + "/api/v1/namespaces/" + n.Namespace + "/pods/web/"
	execURL := func(script string, stdin bool) *url.URL {
		q := url.Values{"container": {"sh"}, "stdout": {"true"}, "stderr": {"true"}, "command": {"sh", "-c", script}}
		if stdin {
			q.Set("stdin", "true")
		}
		u, err := url.Parse(base + "exec?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	executors := map[string]func(u *url.URL) (remotecommand.Executor, error){
		"websocket": func(u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
		},
		"spdy": func(u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewSPDYExecutor(cfg, "POST", u)
		},
	}
	for name, newExec := range executors {
		t.Run("exec/"+name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ex, err := newExec(execURL("cat; echo oops >&2; exit 7", true))
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("from stdin\n"), Stdout: &stdout, Stderr: &stderr})
			var exit exec.CodeExitError
			if !errors.As(err, &exit) || exit.Code != 7 {
				t.Errorf("exit: %v, want code 7", err)
			}
			if stdout.String() != "from stdin\n" || stderr.String() != "oops\n" {
				t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
			}
		})
	}

	// Older WebSocket protocols pass through to the runtime's own
	// WebSocket support (v4 cannot close stdin, so no stdin here).
	t.Run("exec/websocket-v4", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ex, err := remotecommand.NewWebSocketExecutorForProtocols(cfg, "GET", execURL("echo hi; echo oops >&2; exit 7", false).String(), "v4.channel.k8s.io")
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
		var exit exec.CodeExitError
		if !errors.As(err, &exit) || exit.Code != 7 || stdout.String() != "hi\n" || stderr.String() != "oops\n" {
			t.Errorf("exit %v, stdout %q, stderr %q; want code 7, hi, oops", err, stdout.String(), stderr.String())
		}
	})

	// A terminal's size reaches the container, through either protocol.
	for name, newExec := range executors {
		t.Run("resize/"+name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			q := url.Values{"container": {"sh"}, "stdout": {"true"}, "tty": {"true"},
				"command": {"sh", "-c", `for i in $(seq 100); do s=$(stty size 2>/dev/null); [ "$s" = "33 101" ] && break; sleep 0.1; done; echo "size $s"`}}
			u, err := url.Parse(base + "exec?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			ex, err := newExec(u)
			if err != nil {
				t.Fatal(err)
			}
			var stdout bytes.Buffer
			sizes := &fixedSizes{sizes: []remotecommand.TerminalSize{{Width: 101, Height: 33}}}
			if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Tty: true, TerminalSizeQueue: sizes}); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(stdout.String()); got != "size 33 101" {
				t.Errorf("terminal size in the container: %q, want size 33 101", got)
			}
		})
	}

	pfURL, err := url.Parse(base + "portforward")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("portforward/websocket", func(t *testing.T) {
		d, err := portforward.NewSPDYOverWebsocketDialer(pfURL, cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkForward(t, port, func(stop chan struct{}, ready chan struct{}, out io.Writer) (*portforward.PortForwarder, error) {
			return portforward.New(d, []string{fmt.Sprintf("0:%d", port)}, stop, ready, out, out)
		})
	})
	t.Run("portforward/spdy", func(t *testing.T) {
		rt, up, err := spdy.RoundTripperFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		d := spdy.NewDialer(up, &http.Client{Transport: rt}, "POST", pfURL)
		checkForward(t, port, func(stop chan struct{}, ready chan struct{}, out io.Writer) (*portforward.PortForwarder, error) {
			return portforward.New(d, []string{fmt.Sprintf("0:%d", port)}, stop, ready, out, out)
		})
	})
}

// checkForward starts a port forwarder to the pod's port and fetches
// /hostname through it.
func checkForward(t *testing.T, port int, newPF func(stop, ready chan struct{}, out io.Writer) (*portforward.PortForwarder, error)) {
	t.Helper()
	stop, ready := make(chan struct{}), make(chan struct{})
	var out bytes.Buffer
	pf, err := newPF(stop, ready, &out)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- pf.ForwardPorts() }()
	defer func() {
		close(stop)
		select {
		case <-errc:
		case <-time.After(30 * time.Second):
			t.Error("port forwarder did not stop within 30s")
		}
	}()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("port forward: %v\n%s", err, out.String())
	case <-time.After(30 * time.Second):
		t.Fatal("port forward not ready after 30s")
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("forwarded ports %v, %v", ports, err)
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(ports[0].Local))
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get("http://" + addr + "/hostname")
	if err != nil {
		t.Fatalf("GET through the forward: %v\n%s", err, out.String())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(bytes.TrimSpace(b)) == 0 {
		t.Errorf("GET /hostname through the forward: %s %q", resp.Status, b)
	}
}

// fixedSizes yields its sizes, then nil (no more resizes).
type fixedSizes struct {
	sizes []remotecommand.TerminalSize
}

func (f *fixedSizes) Next() *remotecommand.TerminalSize {
	if len(f.sizes) == 0 {
		return nil
	}
	s := f.sizes[0]
	f.sizes = f.sizes[1:]
	return &s
}
