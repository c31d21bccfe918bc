package apiserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/streaming"
)

// Upgrade protocols the API server terminates itself; every other
// upgrade passes through to the node agent unchanged.
const (
	// wsExecProtocol is kubectl's (≥ 1.30) WebSocket protocol for exec and
	// attach, translated to SPDY towards the agent.
	wsExecProtocol = "v5.channel.k8s.io"
	// wsPortForwardProtocol tunnels port-forward's SPDY over WebSocket.
	wsPortForwardProtocol = "SPDY/3.1+portforward.k8s.io"
)

// execParams are the query parameters of pods/exec and pods/attach
// (upstream's PodExecOptions and PodAttachOptions).
type execParams struct {
	container                  string
	command                    []string
	stdin, stdout, stderr, tty bool
}

func parseExecParams(q url.Values) execParams {
	on := func(name string) bool {
		v := strings.ToLower(q.Get(name))
		return v == "true" || v == "1"
	}
	p := execParams{container: q.Get("container"), command: q["command"],
		stdin: on("stdin"), stdout: on("stdout"), stderr: on("stderr"), tty: on("tty")}
	if p.tty {
		p.stderr = false
	}
	return p
}

// agentQuery is the query of the agent's /exec and /attach endpoints.
func (p execParams) agentQuery() url.Values {
	q := url.Values{}
	for _, c := range p.command {
		q.Add("command", c)
	}
	set := func(name string, on bool) {
		if on {
			q.Set(name, "1")
		}
	}
	set("input", p.stdin)
	set("output", p.stdout)
	set("error", p.stderr)
	set("tty", p.tty)
	return q
}

// servePodConnect serves pods/exec, pods/attach and pods/portforward: it
// checks the request against the pod, then proxies the upgraded
// connection to the pod's node agent (translating WebSocket to SPDY where
// the agent would not understand it).
func (rs *resource) servePodConnect(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	sub := ri.Subresource
	if ri.Verb != "get" && ri.Verb != "create" {
		rs.s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/" + sub}, ri.Verb))
		return
	}
	pod, err := rs.podFor(r, ri)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	var agentPath string
	var params execParams
	switch sub {
	case "exec", "attach":
		params = parseExecParams(r.URL.Query())
		if err := checkExec(pod, sub, params); err != nil {
			rs.s.writeError(w, r, err)
			return
		}
		if params.container, err = podContainer(pod, params.container); err != nil {
			rs.s.writeError(w, r, err)
			return
		}
		agentPath = "/" + sub + "/" + pod.Namespace + "/" + pod.Name + "/" + params.container
	case "portforward":
		agentPath = "/portForward/" + pod.Namespace + "/" + pod.Name
	}
	if pod.Spec.NodeName == "" {
		rs.s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	base, err := rs.s.kubeletURL(r, pod.Spec.NodeName)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	target := base.JoinPath(agentPath)
	if sub == "portforward" {
		target.RawQuery = r.URL.RawQuery
	} else {
		target.RawQuery = params.agentQuery().Encode()
	}
	switch {
	case !streaming.IsUpgrade(r):
		rs.s.writeError(w, r, apierrors.NewBadRequest("Upgrade request required"))
	case sub != "portforward" && offersWebSocketProtocol(r, wsExecProtocol):
		rs.s.translateExec(w, r, target, params, pod.Spec.NodeName)
	case sub == "portforward" && offersWebSocketProtocol(r, wsPortForwardProtocol):
		rs.s.tunnelPortForward(w, r, target, pod)
	default:
		rs.s.proxyToKubelet(w, r, target)
	}
}

// checkExec applies upstream's checks of an exec or attach request.
func checkExec(pod *corev1.Pod, sub string, p execParams) error {
	if !p.stdin && !p.stdout && !p.stderr {
		return apierrors.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	if sub == "exec" && len(p.command) == 0 {
		return apierrors.NewBadRequest("you must specify at least one command for the container")
	}
	if ph := pod.Status.Phase; ph == corev1.PodSucceeded || ph == corev1.PodFailed {
		what := "exec into"
		if sub == "attach" {
			what = "attach to"
		}
		return apierrors.NewBadRequest(fmt.Sprintf("cannot %s a container in a completed pod; current phase is %s", what, ph))
	}
	return nil
}

// proxyToKubelet passes an upgrade request through to the node agent.
func (s *Server) proxyToKubelet(w http.ResponseWriter, r *http.Request, target *url.URL) {
	if err := streaming.Proxy(w, r, s.kubelet.tls, target, streaming.ForwardHeader(r.Header, true)); err != nil {
		s.writeError(w, r, dialFailed(err))
	}
}

// offersWebSocketProtocol reports whether r is a WebSocket upgrade that
// offers protocol.
func offersWebSocketProtocol(r *http.Request, protocol string) bool {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if strings.TrimSpace(p) == protocol {
				return true
			}
		}
	}
	return false
}

// hijackable returns the innermost ResponseWriter that can be hijacked:
// golang.org/x/net/websocket asserts http.Hijacker directly instead of
// unwrapping as http.ResponseController does.
func hijackable(w http.ResponseWriter) http.ResponseWriter {
	for {
		if _, ok := w.(http.Hijacker); ok {
			return w
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}
