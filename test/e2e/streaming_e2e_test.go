//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// streamMode is one way kubectl streams exec, attach, cp and
// port-forward: WebSocket (kubectl ≥ 1.30's default, which the API
// server translates to SPDY towards the agent) or SPDY (forced by
// environment, or an older kubectl).
type streamMode struct {
	name    string
	kubectl string
	env     []string
}

func streamModes() []streamMode {
	modes := []streamMode{
		{name: "websocket", kubectl: "/usr/bin/kubectl"},
		{name: "spdy", kubectl: "/usr/bin/kubectl", env: []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false", "KUBECTL_PORT_FORWARD_WEBSOCKETS=false"}},
	}
	if _, err := os.Stat("/usr/lib/google-cloud-sdk/bin/kubectl.1.27"); err == nil {
		modes = append(modes, streamMode{name: "kubectl-1.27", kubectl: "/usr/lib/google-cloud-sdk/bin/kubectl.1.27"})
	}
	return modes
}

// kubectlFor returns a copy of k running mode's binary with mode's
// environment.
func kubectlFor(k *Kubectl, mode streamMode) *Kubectl {
	c := *k
	c.Path = mode.kubectl
	c.env = append(slices.Clone(k.env), mode.env...)
	return &c
}

// runPod creates a pod from manifest and waits until it runs.
func runPod(t *testing.T, k *Kubectl, name, manifest string) {
	t.Helper()
	k.Apply(t, "create", manifest)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitKubectl(t, ctx, k, "pod "+name+" Running", func(out string) bool { return out == "Running" },
		"get", "pod", name, "-o", "jsonpath={.status.phase}")
}

// busyboxPod is a pod of one busybox container running script.
func busyboxPod(name, script string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", %q]
`, name, script)
}

// triggerScript prints "later" each time /tmp/go appears, so that a test
// decides when a new log line is written.
const triggerScript = `while true; do if [ -f /tmp/go ]; then echo later; rm /tmp/go; fi; sleep 0.1; done`

func TestStreamingLogs(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	runPod(t, k, "logs", busyboxPod("logs", `echo err >&2; sleep 0.2; echo one; echo two; echo three; `+triggerScript))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitKubectl(t, ctx, k, "three lines logged", func(out string) bool { return strings.Contains(out, "three") }, "logs", "logs")

	t.Run("plain", func(t *testing.T) {
		if out := k.OK(t, "logs", "logs"); out != "err\none\ntwo\nthree\n" {
			t.Errorf("kubectl logs = %q", out)
		}
	})
	t.Run("tail", func(t *testing.T) {
		if out := k.OK(t, "logs", "logs", "--tail=2"); out != "two\nthree\n" {
			t.Errorf("kubectl logs --tail=2 = %q", out)
		}
	})
	t.Run("timestamps", func(t *testing.T) {
		out := k.OK(t, "logs", "logs", "--timestamps", "--tail=1")
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z three\n$`).MatchString(out) {
			t.Errorf("kubectl logs --timestamps --tail=1 = %q", out)
		}
	})
	t.Run("limit bytes", func(t *testing.T) {
		if out := k.OK(t, "logs", "logs", "--limit-bytes=6"); out != "err\non" {
			t.Errorf("kubectl logs --limit-bytes=6 = %q", out)
		}
	})
	t.Run("node proxy", func(t *testing.T) {
		if out := k.OK(t, "get", "--raw", "/api/v1/nodes/"+n.Node+"/proxy/healthz"); out != "ok" {
			t.Errorf("node proxy /healthz = %q", out)
		}
		out := k.OK(t, "get", "--raw", "/api/v1/nodes/"+n.Node+"/proxy/containerLogs/"+n.Namespace+"/logs/main?tailLines=1")
		if out != "three\n" {
			t.Errorf("node proxy /containerLogs?tailLines=1 = %q", out)
		}
	})
	t.Run("follow and since", func(t *testing.T) {
		// Lines logged from now on, and only those, are shown by
		// --since-time and --since.
		since := time.Now().Add(time.Second).Truncate(time.Second)
		for time.Now().Before(since.Add(100 * time.Millisecond)) {
			<-time.After(time.Until(since.Add(100 * time.Millisecond)))
		}
		f := k.Start(t, "logs", "-f", "logs")
		if !f.WaitLine(t, "three", 30*time.Second) {
			return
		}
		k.OK(t, "exec", "logs", "--", "touch", "/tmp/go")
		if !f.WaitLine(t, "later", 30*time.Second) {
			return
		}
		if out := k.OK(t, "logs", "logs", "--since-time="+since.UTC().Format(time.RFC3339)); out != "later\n" {
			t.Errorf("kubectl logs --since-time = %q, want only the line logged after it", out)
		}
		if out := k.OK(t, "logs", "logs", "--since=1h"); out != "err\none\ntwo\nthree\nlater\n" {
			t.Errorf("kubectl logs --since=1h = %q", out)
		}
	})
}

func TestStreamingLogsContainers(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: two
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: a
    image: busybox
    command: ["sh", "-c", "echo from-a; sleep 3600"]
  - name: b
    image: busybox
    command: ["sh", "-c", "echo from-b; sleep 3600"]
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitKubectl(t, ctx, k, "pod two Running", func(out string) bool { return out == "Running" }, "get", "pod", "two", "-o", "jsonpath={.status.phase}")
	waitKubectl(t, ctx, k, "container b logged", func(out string) bool { return out == "from-b\n" }, "logs", "two", "-c", "b")
	if out := k.OK(t, "logs", "two", "-c", "a"); out != "from-a\n" {
		t.Errorf("kubectl logs -c a = %q", out)
	}
	// kubectl picks a container itself; the API asks for one.
	r := k.Run(t, "get", "--raw", "/api/v1/namespaces/"+n.Namespace+"/pods/two/log")
	if want := "a container name must be specified for pod two, choose one of: [a b]"; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("log without a container: want an error with %q\n%s", want, r)
	}
	r = k.Run(t, "logs", "two", "-c", "c")
	if want := "container c is not valid for pod two"; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("log of an unknown container: want an error with %q\n%s", want, r)
	}
}

func TestStreamingLogsWaitingAndPrevious(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: waiting
spec:
  containers:
  - name: main
    image: skiff.local/not-here:1
    imagePullPolicy: Never
`)
	k.Apply(t, "create", busyboxPod("restarts", `echo "run $(cat /proc/sys/kernel/random/uuid)"; sleep 3; exit 1`))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitKubectl(t, ctx, k, "pod waiting reported", func(out string) bool { return out != "" }, "get", "pod", "waiting", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}")
	reason := k.JSONPath(t, "{.status.containerStatuses[0].state.waiting.reason}", "pod", "waiting")
	r := k.Run(t, "logs", "waiting")
	if want := fmt.Sprintf(`Error from server (BadRequest): container "main" in pod "waiting" is waiting to start: %s`, reason); r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("logs of a waiting container: want %q\n%s", want, r)
	}
	r = k.Run(t, "logs", "waiting", "--previous")
	if want := `previous terminated container "main" in pod "waiting" not found`; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("previous logs of a container that never ran: want %q\n%s", want, r)
	}

	waitKubectl(t, ctx, k, "pod restarts restarted", func(out string) bool { n, _ := strconv.Atoi(out); return n >= 1 },
		"get", "pod", "restarts", "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
	// Wait for the restarted container's own line, then compare.
	waitKubectl(t, ctx, k, "restarted container logged", func(out string) bool { return strings.HasPrefix(out, "run ") }, "logs", "restarts")
	prev, cur := k.OK(t, "logs", "restarts", "--previous"), k.OK(t, "logs", "restarts")
	re := regexp.MustCompile(`^run [0-9a-f-]{36}\n$`)
	if !re.MatchString(prev) || !re.MatchString(cur) || prev == cur {
		t.Errorf("logs --previous = %q and logs = %q: want two different runs", prev, cur)
	}
}

func TestStreamingExec(t *testing.T) {
	n := sharedNode(t)
	runPod(t, n.Kubectl, "sh", busyboxPod("sh", `echo attached; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done`))
	for _, mode := range streamModes() {
		t.Run(mode.name, func(t *testing.T) {
			k := kubectlFor(n.Kubectl, mode)
			t.Run("protocol", func(t *testing.T) {
				// kubectl upgrades with GET for WebSocket, POST for SPDY;
				// a failed WebSocket upgrade would fall back silently.
				method := "POST"
				if mode.name == "websocket" {
					method = "GET"
				}
				r := k.Run(t, "-v=6", "exec", "sh", "--", "true")
				re := regexp.MustCompile(`(GET|POST) https://\S+/pods/sh/exec\S* 101 Switching Protocols`)
				m := re.FindAllStringSubmatch(r.Stderr, -1)
				if r.Code != 0 || len(m) != 1 || m[0][1] != method {
					t.Errorf("want exactly one upgrade, with %s:\n%s", method, r)
				}
			})
			t.Run("exit code", func(t *testing.T) {
				r := k.Run(t, "exec", "sh", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
				if r.Code != 3 || r.Stdout != "out\n" || !strings.Contains(r.Stderr, "err\n") {
					t.Errorf("want exit code 3, stdout out and stderr err:\n%s", r)
				}
				if out := k.OK(t, "exec", "sh", "--", "echo", "ok"); out != "ok\n" {
					t.Errorf("exec echo ok = %q", out)
				}
			})
			t.Run("stdin", func(t *testing.T) {
				r := k.RunStdin(t, "line 1\nline 2\n", "exec", "-i", "sh", "--", "sh", "-c", "wc -l; cat /etc/hostname >/dev/null")
				if r.Code != 0 || strings.TrimSpace(r.Stdout) != "2" {
					t.Errorf("exec -i wc -l: want 2\n%s", r)
				}
			})
			t.Run("tty", func(t *testing.T) {
				out, code := runInPTY(t, k, "tty; echo $((6*7)); exit 5\n", "exec", "-it", "sh", "--", "sh")
				if code != 5 || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "42") {
					t.Errorf("exec -it: want a pts, 42 and exit code 5; got code %d, output:\n%s", code, out)
				}
			})
			t.Run("cp", func(t *testing.T) {
				src := k.WriteFile(t, "in-"+mode.name+".txt", "copied both ways\n")
				k.OK(t, "cp", src, "sh:/tmp/in.txt")
				if out := k.OK(t, "exec", "sh", "--", "cat", "/tmp/in.txt"); out != "copied both ways\n" {
					t.Fatalf("file copied into the pod holds %q", out)
				}
				dst := filepath.Join(k.Dir, "out-"+mode.name+".txt")
				k.OK(t, "cp", "sh:/tmp/in.txt", dst)
				if b, err := os.ReadFile(dst); err != nil || string(b) != "copied both ways\n" {
					t.Errorf("file copied from the pod: %q, %v", b, err)
				}
			})
			t.Run("attach", func(t *testing.T) {
				s := k.Start(t, "attach", "sh")
				s.WaitLine(t, `tick \d+`, 30*time.Second)
			})
			t.Run("errors", func(t *testing.T) {
				r := k.Run(t, "exec", "sh", "-c", "nope", "--", "true")
				if r.Code == 0 || !strings.Contains(r.Stderr, "container nope is not valid for pod sh") {
					t.Errorf("exec into an unknown container:\n%s", r)
				}
			})
		})
	}
}

// runInPTY runs kubectl with a pseudo-terminal as its stdin, stdout and
// stderr (so that -t takes effect), types input, and returns what the
// terminal showed and kubectl's exit code.
func runInPTY(t *testing.T, k *Kubectl, input string, args ...string) (string, int) {
	t.Helper()
	ptmx, tty, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.Path, k.args(args)...)
	cmd.Env = k.env
	cmd.Dir = k.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// A session of its own with the terminal as its controlling tty, as a
	// user's shell would start it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		tty.Close()
		t.Fatal(err)
	}
	tty.Close()
	var out bytes.Buffer
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return // EIO once kubectl exits
			}
		}
	}()
	// Type once the remote shell shows its prompt, so the input reaches
	// the shell rather than being echoed before the session exists.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		ready := strings.Contains(out.String(), "# ")
		mu.Unlock()
		if ready || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(ptmx, input); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	ptmx.Close()
	<-done
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("kubectl %s: %v", shellJoin(args), err)
	}
	mu.Lock()
	defer mu.Unlock()
	return out.String(), code
}

// openPTY opens a pseudo-terminal pair.
func openPTY() (ptmx, tty *os.File, err error) {
	ptmx, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		ptmx.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		ptmx.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		return nil, nil, err
	}
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		ptmx.Close()
		tty.Close()
		return nil, nil, err
	}
	return ptmx, tty, nil
}

func TestStreamingPortForward(t *testing.T) {
	n := sharedNode(t)
	// Pods share the node's network in this slice: a free port keeps this
	// pod's server apart from everything else on the machine.
	port := freePort(t)
	k := n.Kubectl
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
`, port, freePort(t)))
	for _, mode := range streamModes() {
		t.Run(mode.name, func(t *testing.T) {
			k := kubectlFor(n.Kubectl, mode)
			s := k.Start(t, "-v=6", "port-forward", "pod/web", fmt.Sprintf(":%d", port))
			line := regexp.MustCompile(fmt.Sprintf(`^Forwarding from 127\.0\.0\.1:(\d+) -> %d$`, port))
			var local string
			deadline := time.After(30 * time.Second)
			for local == "" {
				select {
				case l, ok := <-s.lines:
					if !ok {
						t.Fatalf("kubectl port-forward ended:\n%s", s.err.String())
					}
					if m := line.FindStringSubmatch(l); m != nil {
						local = m[1]
					}
				case <-deadline:
					t.Fatal("kubectl port-forward printed no Forwarding line")
				}
			}
			for i := range 3 { // several connections over one forward
				resp, err := http.Get("http://127.0.0.1:" + local + "/hostname")
				if err != nil {
					t.Fatalf("GET %d through the forward: %v", i, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || len(bytes.TrimSpace(b)) == 0 {
					t.Errorf("GET /hostname through the forward: %s %q", resp.Status, b)
				}
			}
			// WebSocket upgrades with GET, SPDY with POST (see TestStreamingExec).
			method := "POST"
			if mode.name == "websocket" {
				method = "GET"
			}
			s.mu.Lock()
			stderr := s.err.String()
			s.mu.Unlock()
			if !strings.Contains(stderr, method+" https://") || !regexp.MustCompile(method+` https://\S+/pods/web/portforward 101 Switching Protocols`).MatchString(stderr) {
				t.Errorf("want the forward upgraded with %s:\n%s", method, stderr)
			}
		})
	}
}

// TestStreamingUnreachableNode asks for the logs of, and an exec into, a
// pod whose node's agent does not answer: the API server says why.
func TestStreamingUnreachableNode(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	node := "ghost-" + n.Namespace
	port := freePort(t) // nothing listens there
	k.Apply(t, "create", "apiVersion: v1\nkind: Node\nmetadata:\n  name: "+node+"\n")
	t.Cleanup(func() { k.Run(t, "delete", "node", node, "--wait=false") })
	k.OK(t, "patch", "node", node, "--subresource=status", "--type=merge", "-p",
		fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":%d}}}}`, port))
	k.Apply(t, "create", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: stranded
spec:
  nodeName: %s
  containers:
  - name: main
    image: busybox
`, node))
	k.OK(t, "patch", "pod", "stranded", "--subresource=status", "--type=merge", "-p",
		`{"status":{"phase":"Running","containerStatuses":[{"name":"main","image":"busybox","imageID":"","ready":true,"restartCount":0,"state":{"running":{}}}]}}`)
	r := k.Run(t, "logs", "stranded")
	want := fmt.Sprintf(`Get "https://127.0.0.1:%d/containerLogs/%s/stranded/main"`, port, n.Namespace)
	if r.Code == 0 || !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "connection refused") {
		t.Errorf("logs from an unreachable node: want %s… connection refused\n%s", want, r)
	}
	for _, mode := range streamModes() {
		r := kubectlFor(k, mode).Run(t, "exec", "stranded", "--", "true")
		// SPDY is refused before the upgrade ("error dialing backend");
		// a WebSocket session learns it from the session's status.
		if r.Code == 0 || !strings.Contains(r.Stderr, "dial tcp 127.0.0.1:"+strconv.Itoa(port)+": connect: connection refused") {
			t.Errorf("%s: exec on an unreachable node: want connection refused\n%s", mode.name, r)
		}
	}
}
