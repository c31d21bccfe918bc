package kubeletserver

import (
	"net/http"
	"net/url"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/streaming"
)

// streamParams are the query parameters of /exec and /attach, as the API
// server sends them: command (repeated), and input, output, error and
// tty set to "1" or "true".
type streamParams struct {
	command                    []string
	stdin, stdout, stderr, tty bool
}

func parseStreamParams(q url.Values) streamParams {
	on := func(name string) bool {
		v := q.Get(name)
		return v == "1" || v == "true"
	}
	p := streamParams{command: q["command"], stdin: on("input"), stdout: on("output"), stderr: on("error"), tty: on("tty")}
	// A terminal merges stderr into stdout.
	if p.tty {
		p.stderr = false
	}
	return p
}

func (s *Server) serveExec(w http.ResponseWriter, r *http.Request)   { s.serveExecAttach(w, r, true) }
func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) { s.serveExecAttach(w, r, false) }

// serveExecAttach asks the runtime for an exec (or attach) session and
// proxies the client's upgrade to it.
func (s *Server) serveExecAttach(w http.ResponseWriter, r *http.Request, exec bool) {
	if !streaming.IsUpgrade(r) {
		http.Error(w, "Upgrade request required", http.StatusBadRequest)
		return
	}
	ns, pod, uid, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("uid"), r.PathValue("container")
	p := parseStreamParams(r.URL.Query())
	if !p.stdin && !p.stdout && !p.stderr {
		http.Error(w, "you must specify at least 1 of stdin, stdout, stderr", http.StatusBadRequest)
		return
	}
	id, err := s.runningContainer(r.Context(), ns, pod, uid, container)
	if err != nil {
		writeError(w, err)
		return
	}
	var raw string
	if exec {
		if len(p.command) == 0 {
			http.Error(w, "you must specify at least one command for the container", http.StatusBadRequest)
			return
		}
		resp, err := s.cfg.Runtime.Exec(r.Context(), &runtimeapi.ExecRequest{
			ContainerId: id, Cmd: p.command, Tty: p.tty, Stdin: p.stdin, Stdout: p.stdout, Stderr: p.stderr,
		})
		if err != nil {
			writeError(w, err)
			return
		}
		raw = resp.Url
	} else {
		resp, err := s.cfg.Runtime.Attach(r.Context(), &runtimeapi.AttachRequest{
			ContainerId: id, Tty: p.tty, Stdin: p.stdin, Stdout: p.stdout, Stderr: p.stderr,
		})
		if err != nil {
			writeError(w, err)
			return
		}
		raw = resp.Url
	}
	s.proxy(w, r, raw)
}

func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	if !streaming.IsUpgrade(r) {
		http.Error(w, "Upgrade request required", http.StatusBadRequest)
		return
	}
	sb, err := s.sandbox(r.Context(), r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("uid"))
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := s.cfg.Runtime.PortForward(r.Context(), &runtimeapi.PortForwardRequest{PodSandboxId: sb.Id})
	if err != nil {
		writeError(w, err)
		return
	}
	s.proxy(w, r, resp.Url)
}

// proxy hands the upgrade request on to the runtime's streaming server.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := streaming.Proxy(w, r, nil, u, streaming.ForwardHeader(r.Header, true)); err != nil {
		s.log.Warn("Proxying a stream to the runtime failed", "url", u.Redacted(), "err", err)
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
}
