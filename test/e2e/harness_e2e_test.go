//go:build e2e

// Package e2e holds the end-to-end tier: it builds the skiff binary once,
// starts `skiff server` processes on free ports with throwaway data dirs, and
// drives them with the real kubectl binaries installed on the machine,
// asserting the output upstream Kubernetes gives.
//
// Run it with `go test -tags e2e ./test/e2e/ -count=1` (as root in CI).
// SKIFF_E2E_BINARY=PATH uses a prebuilt skiff instead of building one, and
// SKIFF_E2E_KUBECTL=PATH,PATH replaces the kubectl binaries the scenarios run
// with (by default /usr/bin/kubectl and kubectl.1.27 of the Cloud SDK).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// skiffBin is the binary TestMain builds; every server in the suite runs it.
var skiffBin string

// editorScript is the EDITOR every kubectl runs with: it applies the sed
// program in $E2E_SED to the file kubectl edit opens.
var editorScript string

const editorSource = `#!/bin/sh
# EDITOR for kubectl edit in the e2e suite: apply the sed program in $E2E_SED.
exec sed -i -e "$E2E_SED" "$1"
`

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "skiff-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	// SKIFF_E2E_BINARY runs the suite against a binary built elsewhere.
	skiffBin = os.Getenv("SKIFF_E2E_BINARY")
	if skiffBin == "" {
		skiffBin = filepath.Join(dir, "skiff")
		build := exec.Command("go", "build", "-o", skiffBin, "github.com/skiff/skiff/cmd/skiff")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/skiff: %v\n%s", err, out)
			return 1
		}
	}
	editorScript = filepath.Join(dir, "editor.sh")
	if err := os.WriteFile(editorScript, []byte(editorSource), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := m.Run()
	stopSharedNode()
	return code
}

// kubectlBinary is one installed kubectl the scenarios run with.
type kubectlBinary struct {
	name string // short version label used as the subtest name
	path string
}

// kubectlBinaries are the kubectl versions every scenario runs with: the
// system one (1.32) and the oldest supported (1.27). SKIFF_E2E_KUBECTL, a
// comma-separated list of paths, replaces the list.
func kubectlBinaries() []kubectlBinary {
	if env := os.Getenv("SKIFF_E2E_KUBECTL"); env != "" {
		var bins []kubectlBinary
		for _, p := range strings.Split(env, ",") {
			bins = append(bins, kubectlBinary{name: filepath.Base(p), path: p})
		}
		return bins
	}
	return []kubectlBinary{
		{name: "kubectl-1.32", path: "/usr/bin/kubectl"},
		{name: "kubectl-1.27", path: "/usr/lib/google-cloud-sdk/bin/kubectl.1.27"},
	}
}

// forEachKubectl runs fn in a parallel subtest per kubectl binary, each with
// a server of its own, so that scenarios never see each other's objects.
func forEachKubectl(t *testing.T, fn func(t *testing.T, k *Kubectl)) {
	t.Helper()
	for _, bin := range kubectlBinaries() {
		t.Run(bin.name, func(t *testing.T) {
			if _, err := os.Stat(bin.path); err != nil {
				t.Skipf("%s not installed: %v", bin.path, err)
			}
			t.Parallel()
			srv := StartServer(t)
			fn(t, srv.Kubectl(t, bin.path))
		})
	}
}

// Server is a `skiff server --disable-agent` process.
type Server struct {
	DataDir    string
	Port       int
	Kubeconfig string
	// KubeconfigLate reports whether, on the last start, /readyz answered
	// ok before the kubeconfig file existed.
	KubeconfigLate bool
	logPath        string

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	err    error         // cmd.Wait's result, valid once exited is closed
}

// StartServer starts a server on a free port with a data dir under
// t.TempDir(), waits until /readyz answers ok, and stops it when the test ends.
func StartServer(t *testing.T) *Server {
	t.Helper()
	root := t.TempDir()
	s := &Server{
		DataDir: filepath.Join(root, "data"),
		logPath: filepath.Join(root, "server.log"),
	}
	s.Kubeconfig = filepath.Join(s.DataDir, "kubeconfig.yaml")
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			s.dumpLog(t)
		}
	})
	// Another process may take the free port before the server binds it.
	for attempt := 0; ; attempt++ {
		s.Port = freePort(t)
		err := s.start()
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(s.logTail(), "address already in use") {
			continue
		}
		t.Fatalf("start skiff server: %v", err)
	}
	return s
}

// Restart starts the server again on the same data dir and port, after Stop
// or Kill.
func (s *Server) Restart(t *testing.T) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("restart skiff server: %v", err)
	}
}

func (s *Server) start() error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "=== skiff server on port %d\n", s.Port)
	cmd := exec.Command(skiffBin, "server",
		"--data-dir", s.DataDir,
		"--https-listen-port", fmt.Sprint(s.Port),
		"--bind-address", "127.0.0.1",
		"--disable-agent",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM} // a killed test run takes its servers along
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.kill(syscall.SIGKILL)
		return err
	}
	// The kubeconfig should exist once the server is ready; note when it
	// comes later (startup_e2e_test.go asserts on it) and wait for it.
	s.KubeconfigLate = false
	if _, err := os.Stat(s.Kubeconfig); err != nil {
		s.KubeconfigLate = true
		if err := waitFile(s.Kubeconfig, 10*time.Second); err != nil {
			return fmt.Errorf("server is ready but wrote no kubeconfig: %w", err)
		}
	}
	return nil
}

// waitFile polls until path exists and is not empty, or timeout passes.
func waitFile(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		fi, err := os.Stat(path)
		if err == nil && fi.Size() > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%s is empty", path)
			}
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		<-tick.C
	}
}

// waitReady polls GET /readyz until it answers 200 "ok", the process exits or
// the timeout passes.
func (s *Server) waitReady(timeout time.Duration) error {
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	defer client.CloseIdleConnections()
	url := fmt.Sprintf("https://127.0.0.1:%d/readyz", s.Port)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok" {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server exited before it was ready: %v\n%s", s.err, s.logTail())
		case <-deadline.C:
			return fmt.Errorf("server not ready after %v, last /readyz: %s\n%s", timeout, last, s.logTail())
		case <-tick.C:
		}
	}
}

// Stop ends the server with SIGTERM (SIGKILL after a grace period) and waits
// for it. It does nothing if the server is not running.
func (s *Server) Stop(t *testing.T) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	s.kill(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("skiff server did not exit 15s after SIGTERM; killing it")
		s.kill(syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill(t *testing.T) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	s.kill(syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

func (s *Server) kill(sig syscall.Signal) {
	// The server runs in its own process group; signal the group so that
	// anything it started goes too.
	_ = syscall.Kill(-s.cmd.Process.Pid, sig) // ESRCH: already gone
}

func (s *Server) logTail() string {
	data, _ := os.ReadFile(s.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func (s *Server) dumpLog(t *testing.T) {
	t.Logf("skiff server log (last lines of %s):\n%s", s.logPath, s.logTail())
}

func itoa(n int) string { return strconv.Itoa(n) }

// listenFree returns a free TCP port on 127.0.0.1.
func listenFree() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Kubectl runs one kubectl binary against one server, with a discovery
// cache of its own and EDITOR set to the suite's sed script.
type Kubectl struct {
	Server *Server
	Path   string
	Dir    string // scratch directory for manifests and files
	// Namespace, when set, is passed as --namespace to every command.
	Namespace string
	env       []string
}

// Kubectl returns a runner for the kubectl at path against s.
func (s *Server) Kubectl(t *testing.T, path string) *Kubectl {
	home := t.TempDir()
	return &Kubectl{
		Server: s,
		Path:   path,
		Dir:    home,
		env: append(os.Environ(),
			"KUBECONFIG="+s.Kubeconfig,
			"HOME="+home,
			"KUBECACHEDIR="+filepath.Join(home, "cache"),
			"EDITOR="+editorScript,
			"KUBE_EDITOR=",
			"KUBECTL_EXTERNAL_DIFF=",
			"LANG=C",
		),
	}
}

// args returns args with --namespace first when k has a Namespace.
func (k *Kubectl) args(args []string) []string {
	if k.Namespace == "" {
		return args
	}
	return append([]string{"--namespace=" + k.Namespace}, args...)
}

// Result is what one kubectl command produced.
type Result struct {
	Args   []string
	Stdout string
	Stderr string
	Code   int
}

func (r Result) String() string {
	return fmt.Sprintf("kubectl %s\n  exit code: %d\n  stdout:\n%s\n  stderr:\n%s",
		shellJoin(r.Args), r.Code, indent(r.Stdout), indent(r.Stderr))
}

// cmdTimeout bounds every kubectl command: none of them should take long.
const cmdTimeout = 60 * time.Second

// Run runs kubectl with args and returns its result whatever its exit code.
func (k *Kubectl) Run(t *testing.T, args ...string) Result {
	t.Helper()
	return k.run(t, "", nil, args...)
}

// RunStdin runs kubectl with stdin as its standard input.
func (k *Kubectl) RunStdin(t *testing.T, stdin string, args ...string) Result {
	t.Helper()
	return k.run(t, stdin, nil, args...)
}

// RunEnv runs kubectl with extra environment variables.
func (k *Kubectl) RunEnv(t *testing.T, env []string, args ...string) Result {
	t.Helper()
	return k.run(t, "", env, args...)
}

func (k *Kubectl) run(t *testing.T, stdin string, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.Path, k.args(args)...)
	cmd.Env = append(append([]string{}, k.env...), env...)
	cmd.Dir = k.Dir
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	default:
		t.Fatalf("kubectl %s: %v", shellJoin(args), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("kubectl %s: timed out after %v\n%s", shellJoin(args), cmdTimeout, r)
	}
	return r
}

// OK runs kubectl, fails the test now unless it exits 0, and returns stdout.
// Use it for set-up steps; assert scenarios with Run and the want helpers.
func (k *Kubectl) OK(t *testing.T, args ...string) string {
	t.Helper()
	r := k.Run(t, args...)
	if r.Code != 0 {
		t.Fatalf("set-up step failed:\n%s", r)
	}
	return r.Stdout
}

// Apply pipes manifest to `kubectl <verb> -f -` (verb is create or apply)
// and fails the test now unless it succeeds.
func (k *Kubectl) Apply(t *testing.T, verb, manifest string) string {
	t.Helper()
	r := k.RunStdin(t, manifest, verb, "-f", "-")
	if r.Code != 0 {
		t.Fatalf("set-up step failed:\n%s", r)
	}
	return r.Stdout
}

// WriteFile writes content to name in the kubectl's scratch dir and returns
// its path.
func (k *Kubectl) WriteFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(k.Dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// JSONPath returns `kubectl get <args> -o jsonpath=<expr>`, failing now if
// the get fails.
func (k *Kubectl) JSONPath(t *testing.T, expr string, args ...string) string {
	t.Helper()
	return k.OK(t, append(append([]string{"get"}, args...), "-o", "jsonpath="+expr)...)
}

// Stream is a long-running kubectl (get -w) whose stdout is read line by line.
type Stream struct {
	args  []string
	lines chan string
	cmd   *exec.Cmd

	mu   sync.Mutex
	seen []string
	err  bytes.Buffer
}

// Start starts a long-running kubectl; it is killed when the test ends.
func (k *Kubectl) Start(t *testing.T, args ...string) *Stream {
	t.Helper()
	cmd := exec.Command(k.Path, k.args(args)...)
	cmd.Env = k.env
	cmd.Dir = k.Dir
	s := &Stream{args: args, lines: make(chan string, 100), cmd: cmd}
	cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.err}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kubectl %s: %v", shellJoin(args), err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(s.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // it may have ended on its own
		for range s.lines {
		}
		<-done
		_ = cmd.Wait()
	})
	return s
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// WaitLine reads lines until one fully matches the regexp pattern, and
// reports whether one did before timeout. On failure it records what it saw.
func (s *Stream) WaitLine(t *testing.T, pattern string, timeout time.Duration) bool {
	t.Helper()
	re := regexp.MustCompile("^(?:" + pattern + ")$")
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				s.mu.Lock()
				defer s.mu.Unlock()
				t.Errorf("kubectl %s: ended before printing a line matching %q\n  stdout:\n%s\n  stderr:\n%s",
					shellJoin(s.args), pattern, indent(strings.Join(s.seen, "\n")), indent(s.err.String()))
				return false
			}
			s.mu.Lock()
			s.seen = append(s.seen, line)
			s.mu.Unlock()
			if re.MatchString(line) {
				return true
			}
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Errorf("kubectl %s: no line matching %q within %v\n  stdout:\n%s\n  stderr:\n%s",
				shellJoin(s.args), pattern, timeout, indent(strings.Join(s.seen, "\n")), indent(s.err.String()))
			return false
		}
	}
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$*()[]{}|&;<>!?\\") {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
