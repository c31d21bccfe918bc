package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff/skiff/internal/cri"
	"github.com/skiff/skiff/internal/kubelet/expansion"
)

// Result is the outcome of a probe, or the state a worker reports.
type Result int8

// Results. Unknown means no decision yet (a startup probe that has not
// succeeded, for example).
const (
	Unknown Result = iota
	Success
	Failure
)

func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	}
	return "Unknown"
}

// maxBody is how much of an HTTP probe's answer is read (upstream's
// limit).
const maxBody = 10 << 10

// Runner runs single probes. Set Exec for exec probes; it must not be
// copied after first use. It is safe for concurrent use.
type Runner struct {
	// Exec runs exec probes in containers.
	Exec cri.Execer
	// UserAgent is sent by HTTP probes unless their headers set one
	// ("kube-probe/1.37").
	UserAgent string

	once      sync.Once
	transport *http.Transport // shared by HTTP probes
}

// Target is what a probe or hook is aimed at.
type Target struct {
	// ContainerID is the runtime's container ID (for exec).
	ContainerID string
	// PodIP is the default host of httpGet, tcpSocket and grpc.
	PodIP string
	// Container is the container's spec (for named ports and env).
	Container *corev1.Container
}

// Run runs handler once against t with timeout and returns the outcome
// and its output (the failure message for events). An error means the
// probe could not be run at all ("errored" in upstream's events).
func (r *Runner) Run(ctx context.Context, h *corev1.ProbeHandler, timeout time.Duration, t Target) (Result, string, error) {
	switch {
	case h.Exec != nil:
		return r.exec(ctx, h.Exec.Command, timeout, t)
	case h.HTTPGet != nil:
		return r.httpGet(ctx, h.HTTPGet, timeout, t)
	case h.TCPSocket != nil:
		return r.tcp(ctx, h.TCPSocket, timeout, t)
	case h.GRPC != nil:
		return r.grpc(ctx, h.GRPC, timeout, t)
	}
	return Unknown, "", errors.New("missing probe handler")
}

func (r *Runner) exec(ctx context.Context, cmd []string, timeout time.Duration, t Target) (Result, string, error) {
	cmd = expandCommand(cmd, t.Container)
	ctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	res, err := r.Exec.ExecSync(ctx, t.ContainerID, cmd, timeout)
	if err != nil {
		if isTimeout(err) || ctx.Err() != nil {
			return Failure, fmt.Sprintf("command %q timed out", strings.Join(cmd, " ")), nil
		}
		return Unknown, "", err
	}
	out := string(res.Stdout) + string(res.Stderr)
	if res.ExitCode != 0 {
		return Failure, out, nil
	}
	return Success, out, nil
}

// isTimeout reports whether a runtime error says the command outlived its
// timeout.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || status.Code(errors.Unwrap(err)) == codes.DeadlineExceeded {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "DeadlineExceeded") || strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "timeout")
}

// expandCommand expands $(VAR) references to the container's literal
// env values, as upstream does for exec probes (valueFrom variables are
// not known here and stay as written).
func expandCommand(cmd []string, c *corev1.Container) []string {
	if c == nil || len(c.Env) == 0 {
		return cmd
	}
	vars := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			vars[e.Name] = e.Value
		}
	}
	out := make([]string, len(cmd))
	for i, a := range cmd {
		out[i] = expansion.Expand(a, vars)
	}
	return out
}

// ResolvePort turns a probe's or hook's port (a number, or the name of
// one of the container's ports) into a number.
func ResolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	if c != nil {
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return int(cp.ContainerPort), nil
			}
		}
	}
	return 0, fmt.Errorf("couldn't find port: %s", p.StrVal)
}

// HTTPURL returns the URL an httpGet probe or hook requests.
func HTTPURL(h *corev1.HTTPGetAction, t Target) (*url.URL, error) {
	port, err := ResolvePort(h.Port, t.Container)
	if err != nil {
		return nil, err
	}
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("invalid port number: %d", port)
	}
	host := h.Host
	if host == "" {
		host = t.PodIP
	}
	scheme := strings.ToLower(string(h.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := h.Path
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + path)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// NewHTTPRequest builds the GET request of an httpGet probe or hook with
// its headers, upstream's default User-Agent and Accept.
func NewHTTPRequest(ctx context.Context, u *url.URL, headers []corev1.HTTPHeader, userAgent string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", userAgent)
	}
	if _, ok := req.Header["Accept"]; !ok {
		req.Header.Set("Accept", "*/*")
	}
	return req, nil
}

// newTransport returns a transport for probes and hooks: no keep-alives
// (each probe is a new connection, as upstream), no proxy, certificates
// not verified (as upstream).
func newTransport() *http.Transport {
	return &http.Transport{
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes never verify, as upstream
		DisableKeepAlives:  true,
		DisableCompression: true,
		Proxy:              nil,
	}
}

// NewHTTPClient returns a client for lifecycle hooks, with timeout (0:
// none), following redirects only to the same host.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return newHTTPClient(timeout, newTransport())
}

func newHTTPClient(timeout time.Duration, t http.RoundTripper) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if req.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// httpClient returns a client over the runner's shared transport.
func (r *Runner) httpClient(timeout time.Duration) *http.Client {
	r.once.Do(func() { r.transport = newTransport() })
	return newHTTPClient(timeout, r.transport)
}

func (r *Runner) httpGet(ctx context.Context, h *corev1.HTTPGetAction, timeout time.Duration, t Target) (Result, string, error) {
	u, err := HTTPURL(h, t)
	if err != nil {
		return Unknown, "", err
	}
	req, err := NewHTTPRequest(ctx, u, h.HTTPHeaders, r.UserAgent)
	if err != nil {
		return Unknown, "", err
	}
	resp, err := r.httpClient(timeout).Do(req)
	if err != nil {
		return Failure, err.Error(), nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return Failure, err.Error(), nil
	}
	if resp.StatusCode >= http.StatusOK && resp.StatusCode < http.StatusBadRequest {
		return Success, string(body), nil
	}
	return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), nil
}

func (r *Runner) tcp(ctx context.Context, s *corev1.TCPSocketAction, timeout time.Duration, t Target) (Result, string, error) {
	port, err := ResolvePort(s.Port, t.Container)
	if err != nil {
		return Unknown, "", err
	}
	host := s.Host
	if host == "" {
		host = t.PodIP
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return Failure, err.Error(), nil
	}
	_ = conn.Close() // the connection was only a check
	return Success, "", nil
}

func (r *Runner) grpc(ctx context.Context, g *corev1.GRPCAction, timeout time.Duration, t Target) (Result, string, error) {
	addr := net.JoinHostPort(t.PodIP, strconv.Itoa(int(g.Port)))
	service := ""
	if g.Service != nil {
		service = *g.Service
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent(r.UserAgent))
	if err != nil {
		return Failure, fmt.Sprintf("error: failed to connect service %q: %+v", addr, err), nil
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		st, ok := status.FromError(err)
		switch {
		case ok && st.Code() == codes.Unavailable:
			return Failure, fmt.Sprintf("error: failed to connect service %q: %s", addr, st.Message()), nil
		case ok && st.Code() == codes.Unimplemented:
			return Failure, fmt.Sprintf("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", st.Message()), nil
		case ok && st.Code() == codes.DeadlineExceeded:
			return Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout), nil
		}
		return Failure, fmt.Sprintf("error: health rpc probe failed: %+v", err), nil
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String()), nil
	}
	return Success, "", nil
}
