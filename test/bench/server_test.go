// Package bench holds the API server benchmarks of docs/benchmarks.md.
//
// They build the skiff binary once, start `skiff server --disable-agent` as
// a separate process on a free port with a throwaway data dir (so that its
// resident memory, embedded etcd included, can be read from
// /proc/<pid>/status), and drive it with client-go with client-side rate
// limiting off. Every server is stopped (SIGTERM, then SIGKILL) and waited
// for when its benchmark ends, failed or not.
//
// The package has only benchmarks, so `go test ./...` runs nothing here. Run
// them with `make bench`, which is
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./test/bench/...
//
// Each benchmark runs a fixed workload per iteration (-benchtime 1x is
// enough) and reports its figures with b.ReportMetric; a readable summary
// of all of them is printed when the run ends. SKIFF_BENCH_BINARY=PATH
// benchmarks a prebuilt binary instead of building one.
package bench

import (
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

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	// workDir holds the built binary and every server's data dir; TestMain
	// removes it.
	workDir     string
	buildOnce   sync.Once
	skiffBinary string
	buildErr    error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "skiff-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	workDir = dir
	defer os.RemoveAll(dir)
	code := m.Run()
	printSummary(os.Stdout)
	return code
}

// binary returns the skiff binary, building it on first use (only when a
// benchmark actually runs, so that `go test ./...` stays cheap).
func binary(b *testing.B) string {
	b.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("SKIFF_BENCH_BINARY"); p != "" {
			skiffBinary = p
			return
		}
		skiffBinary = filepath.Join(workDir, "skiff")
		out, err := exec.Command("go", "build", "-o", skiffBinary, "github.com/skiff/skiff/cmd/skiff").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/skiff: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return skiffBinary
}

// server is one `skiff server --disable-agent` process.
type server struct {
	dataDir    string
	logPath    string
	port       int
	kubeconfig string
	// startedAt is taken just before the process is started, readyAt when
	// /readyz first answered ok.
	startedAt, readyAt time.Time

	cmd    *exec.Cmd
	exited chan struct{}
	err    error // cmd.Wait's result once exited is closed
}

var serverSeq struct {
	sync.Mutex
	n int
}

// startServer starts a server with a fresh data dir and waits for /readyz;
// it is stopped when b ends. args are added to the server's flags. The
// server inherits this process's environment (SKIFF_PPROF, see
// internal/cli/pprof.go, profiles it).
func startServer(b *testing.B, args ...string) *server {
	b.Helper()
	bin := binary(b)
	serverSeq.Lock()
	serverSeq.n++
	root := filepath.Join(workDir, "server-"+strconv.Itoa(serverSeq.n))
	serverSeq.Unlock()
	s := &server{
		dataDir: filepath.Join(root, "data"),
		logPath: filepath.Join(root, "server.log"),
	}
	s.kubeconfig = filepath.Join(s.dataDir, "kubeconfig.yaml")
	if err := os.MkdirAll(root, 0o755); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		s.stop()
		if b.Failed() {
			b.Logf("skiff server log (last lines of %s):\n%s", s.logPath, s.logTail())
		}
		// Data dirs of 10,000 objects add up; the next server needs none.
		_ = os.RemoveAll(root) // best effort: TestMain removes workDir anyway
	})
	for attempt := 0; ; attempt++ {
		s.port = freePort(b)
		err := s.start(bin, args)
		if err == nil {
			return s
		}
		// Another process may have taken the free port first.
		if attempt < 3 && strings.Contains(s.logTail(), "address already in use") {
			continue
		}
		b.Fatalf("start skiff server: %v", err)
	}
}

func (s *server) start(bin string, args []string) error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, append([]string{"server",
		"--data-dir", s.dataDir,
		"--https-listen-port", strconv.Itoa(s.port),
		"--bind-address", "127.0.0.1",
		"--disable-agent",
	}, args...)...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Own process group, and SIGKILL if this process dies without cleaning
	// up (a -timeout panic skips b.Cleanup).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s.startedAt = time.Now()
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
		s.signal(syscall.SIGKILL)
		<-s.exited
		s.cmd = nil
		return err
	}
	s.readyAt = time.Now()
	return waitFile(s.kubeconfig, 10*time.Second)
}

// waitReady polls GET /readyz every 5 ms until it answers 200 "ok", the
// process exits or the timeout passes.
func (s *server) waitReady(timeout time.Duration) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // only a readiness probe on loopback
		},
	}
	defer client.CloseIdleConnections()
	url := fmt.Sprintf("https://127.0.0.1:%d/readyz", s.port)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
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

// stop ends the server with SIGTERM (SIGKILL after 15 s) and waits for it.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	s.signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.signal(syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
}

func (s *server) signal(sig syscall.Signal) {
	// The server leads its own process group (Setpgid); signal the group.
	_ = syscall.Kill(-s.cmd.Process.Pid, sig) // ESRCH: already gone
}

// rssMiB returns the server's resident set size (VmRSS) in MiB.
func (s *server) rssMiB(b *testing.B) float64 {
	b.Helper()
	kb, err := procStatusKB(s.cmd.Process.Pid, "VmRSS")
	if err != nil {
		b.Fatal(err)
	}
	return float64(kb) / 1024
}

// procStatusKB reads one "Field:  N kB" line of /proc/<pid>/status.
func procStatusKB(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// client returns a client-go clientset for the admin kubeconfig with
// client-side rate limiting off. Each call opens its own connection.
func (s *server) client(b *testing.B) *kubernetes.Clientset {
	b.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS = -1 // negative: no client-side rate limiter
	cfg.Burst = 0
	cfg.Timeout = 60 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return cs
}

func (s *server) logTail() string {
	data, _ := os.ReadFile(s.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func waitFile(path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("no kubeconfig at " + path)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func freePort(b *testing.B) int {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cpuSample is CPU time (user+system) used so far by the server and by
// this benchmark process.
type cpuSample struct{ server, client time.Duration }

func (a cpuSample) sub(b cpuSample) cpuSample {
	return cpuSample{server: a.server - b.server, client: a.client - b.client}
}

// cpu samples the CPU time used by the server (from /proc/<pid>/stat, in
// clock ticks of 10 ms) and by this process (getrusage).
func (s *server) cpu(b *testing.B) cpuSample {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		b.Error(err)
		return cpuSample{}
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the whole line.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Error(err)
	}
	return cpuSample{
		server: time.Duration(utime+stime) * tick,
		client: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
	}
}

// loadavg returns the 1-minute load average of the machine, as a reminder
// of what else ran during a figure (the machine is shared).
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

// controllers returns the controllers the server's log says it started
// (the "Starting controllers" line), polling for up to 10 s.
func (s *server) controllers() []string {
	re := regexp.MustCompile(`msg="Starting controllers" controllers="\[([^\]"]*)\]"`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(s.logPath)
		if m := re.FindSubmatch(data); m != nil {
			return strings.Fields(string(m[1]))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
