package apiserver

import (
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/net/websocket"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/streaming"
)

// tunnelPortForward serves a port-forward whose client tunnels SPDY
// over WebSocket (kubectl ≥ 1.30): it opens the SPDY upgrade to the node
// agent first, so that an agent's refusal reaches the client as an HTTP
// error, then accepts the WebSocket and carries the SPDY bytes in binary
// messages both ways.
func (s *Server) tunnelPortForward(w http.ResponseWriter, r *http.Request, target *url.URL, pod *corev1.Pod) {
	header := http.Header{
		"Connection":                {"Upgrade"},
		"Upgrade":                   {"SPDY/3.1"},
		"X-Stream-Protocol-Version": {"portforward.k8s.io"},
	}
	backend, resp, err := streaming.Dial(r.Context(), s.kubelet.tls, http.MethodPost, target, header)
	if err != nil {
		s.writeError(w, r, dialFailed(err))
		return
	}
	if backend == nil {
		defer resp.Body.Close()
		s.writeError(w, r, kubeletError(resp, podsGR, pod.Name))
		return
	}
	defer backend.Close()
	websocket.Server{
		Handshake: func(cfg *websocket.Config, _ *http.Request) error {
			for _, p := range cfg.Protocol {
				if p == wsPortForwardProtocol {
					cfg.Protocol = []string{p}
					return nil
				}
			}
			return fmt.Errorf("requested protocol(s) are not supported: %v; supports %v", cfg.Protocol, []string{wsPortForwardProtocol})
		},
		Handler: func(ws *websocket.Conn) {
			ws.PayloadType = websocket.BinaryFrame
			streaming.Splice(ws, backend)
		},
	}.ServeHTTP(hijackable(w), r)
}
