package apiserver

import (
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/skiff/skiff/internal/streaming"
)

// serveNodeProxy serves nodes/{name}/proxy/{path}: any method, on to the
// node agent's {path} (upgrades included), with the caller's query.
func (rs *resource) serveNodeProxy(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	base, err := rs.s.kubeletURL(r, ri.Name)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	// The path after .../nodes/{name}/proxy, trailing slash and escaping
	// kept.
	marker := "/nodes/" + ri.Name + "/proxy"
	path := r.URL.EscapedPath()
	i := strings.Index(path, marker)
	if i < 0 {
		rs.s.writeError(w, r, apierrors.NewBadRequest("malformed node proxy path"))
		return
	}
	rest := path[i+len(marker):]
	if rest == "" {
		rest = "/"
	}
	target, err := base.Parse(rest)
	if err != nil {
		rs.s.writeError(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	target.RawQuery = r.URL.RawQuery
	if streaming.IsUpgrade(r) {
		rs.s.proxyToKubelet(w, r, target)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), r.Body)
	if err != nil {
		rs.s.writeError(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	req.Header = streaming.ForwardHeader(r.Header, true)
	req.Header.Del("Connection")
	req.ContentLength = r.ContentLength
	resp, err := rs.s.kubelet.transport.RoundTrip(req)
	if err != nil {
		rs.s.writeError(w, r, unreachable(r.Method, target, err))
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		if k == "Connection" || k == "Transfer-Encoding" || k == "Keep-Alive" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	copyFlushing(w, resp.Body)
}
