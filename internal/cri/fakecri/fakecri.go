package fakecri

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
)

// Identity reported by Version.
const (
	RuntimeName    = "fakecri"
	RuntimeVersion = "0.1.0"
)

// ExecFunc runs a command in a running container for ExecSync.
type ExecFunc func(containerID string, cmd []string) (cri.ExecResult, error)

// Config sets up a Runtime. Every field is optional.
type Config struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Images are references present at start, as if imported.
	Images []string
	// Exec runs ExecSync commands (default DefaultExec).
	Exec ExecFunc
	// StreamBaseURL prefixes the URLs of Exec, Attach and PortForward
	// (default "http://127.0.0.1:0").
	StreamBaseURL string
}

// Runtime is the in-memory runtime. The zero value is not usable; call New.
type Runtime struct {
	cfg Config

	mu         sync.Mutex
	sandboxes  map[string]*sandbox
	containers map[string]*container
	images     map[string]*runtimeapi.Image // by image ID
	calls      []string
	errs       map[string][]error
	// ipSeq numbers the sandboxes given a pod IP.
	ipSeq int
}

var (
	_ cri.RuntimeService = (*Runtime)(nil)
	_ cri.ImageService   = (*Runtime)(nil)
)

// New returns an empty runtime holding cfg.Images.
func New(cfg Config) *Runtime {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Exec == nil {
		cfg.Exec = DefaultExec
	}
	if cfg.StreamBaseURL == "" {
		cfg.StreamBaseURL = "http://127.0.0.1:0"
	}
	r := &Runtime{
		cfg:        cfg,
		sandboxes:  map[string]*sandbox{},
		containers: map[string]*container{},
		images:     map[string]*runtimeapi.Image{},
		errs:       map[string][]error{},
	}
	for _, ref := range cfg.Images {
		r.addImage(ref)
	}
	return r
}

// InjectError makes the next call of method (a method name such as
// "StartContainer") fail with err. Several injected errors fail as many
// calls, in order.
func (r *Runtime) InjectError(method string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[method] = append(r.errs[method], err)
}

// Calls returns the names of the methods called so far, in order.
func (r *Runtime) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// call records method and returns an injected error, if any. r.mu must be
// held.
func (r *Runtime) call(method string) error {
	r.calls = append(r.calls, method)
	if errs := r.errs[method]; len(errs) > 0 {
		r.errs[method] = errs[1:]
		return errs[0]
	}
	return nil
}

func (r *Runtime) now() int64 { return r.cfg.Now().UnixNano() }

// newID returns a random 64-hex-digit ID, the form containerd uses.
func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// Version implements cri.Versioner.
func (r *Runtime) Version(ctx context.Context) (*runtimeapi.VersionResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("Version"); err != nil {
		return nil, err
	}
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: RuntimeName, RuntimeVersion: RuntimeVersion, RuntimeApiVersion: "v1"}, nil
}

// Status implements cri.StatusReporter: the runtime and its network are
// always ready.
func (r *Runtime) Status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("Status"); err != nil {
		return nil, err
	}
	return &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true},
		{Type: runtimeapi.NetworkReady, Status: true},
	}}}, nil
}

// DefaultExec interprets a few commands: echo ARGS (prints them), true,
// false, sh -c "exit N", and sh -c "echo ARGS". Anything else exits 127
// with "not found" on stderr, as a shell would.
func DefaultExec(containerID string, cmd []string) (cri.ExecResult, error) {
	if len(cmd) == 3 && (cmd[0] == "sh" || cmd[0] == "/bin/sh") && cmd[1] == "-c" {
		cmd = strings.Fields(cmd[2])
	}
	if len(cmd) == 0 {
		return cri.ExecResult{}, fmt.Errorf("exec in container %s: empty command", containerID)
	}
	switch cmd[0] {
	case "echo", "/bin/echo":
		return cri.ExecResult{Stdout: []byte(strings.Join(cmd[1:], " ") + "\n")}, nil
	case "true", "/bin/true":
		return cri.ExecResult{}, nil
	case "false", "/bin/false":
		return cri.ExecResult{ExitCode: 1}, nil
	case "exit":
		code := 0
		if len(cmd) > 1 {
			n, err := strconv.Atoi(cmd[1])
			if err != nil {
				return cri.ExecResult{ExitCode: 2, Stderr: []byte("exit: bad number\n")}, nil
			}
			code = n
		}
		return cri.ExecResult{ExitCode: int32(code)}, nil
	}
	return cri.ExecResult{ExitCode: 127, Stderr: []byte(cmd[0] + ": not found\n")}, nil
}

// matchLabels reports whether labels has every key and value of selector.
func matchLabels(selector, labels map[string]string) bool {
	for k, v := range selector {
		if l, ok := labels[k]; !ok || l != v {
			return false
		}
	}
	return true
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
