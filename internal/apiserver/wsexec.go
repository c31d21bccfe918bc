package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
)

// translateExec serves an exec or attach session whose client speaks
// the v5.channel.k8s.io WebSocket protocol: it accepts the WebSocket,
// runs the session against the node agent over SPDY, and reports how it
// ended on the error channel, as upstream's StreamTranslator does.
//
// v5 frames every message with its channel number (0 stdin, 1 stdout,
// 2 stderr, 3 error, 4 resize); a message [255, n] closes channel n's
// sending side, which is how the client signals the end of stdin.
func (s *Server) translateExec(w http.ResponseWriter, r *http.Request, target *url.URL, p execParams, node string) {
	rt, upgrader, err := spdy.RoundTripperFor(s.kubelet.rest)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	executor, err := remotecommand.NewSPDYExecutorForTransports(rt, upgrader, http.MethodPost, target)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	kind := func(on bool, t wsstream.ChannelType) wsstream.ChannelType {
		if on {
			return t
		}
		return wsstream.IgnoreChannel
	}
	channels := []wsstream.ChannelType{
		kind(p.stdin, wsstream.ReadChannel),
		kind(p.stdout, wsstream.WriteChannel),
		kind(p.stderr, wsstream.WriteChannel),
		wsstream.WriteChannel,
		// Without a terminal the client never sends on the resize
		// channel, so its end tells when the client has gone.
		wsstream.ReadChannel,
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		wsExecProtocol: {Binary: true, Channels: channels},
	})
	_, streams, err := conn.Open(hijackable(w), r)
	if err != nil {
		s.log.Debug("WebSocket handshake failed", "err", err)
		return // the handshake has answered the client
	}
	defer conn.Close()
	opts := remotecommand.StreamOptions{Tty: p.tty}
	if p.stdin {
		opts.Stdin = streams[remotecommandconsts.StreamStdIn]
	}
	if p.stdout {
		opts.Stdout = streams[remotecommandconsts.StreamStdOut]
	}
	if p.stderr {
		opts.Stderr = streams[remotecommandconsts.StreamStdErr]
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if p.tty {
		opts.TerminalSizeQueue = &sizeQueue{dec: json.NewDecoder(streams[remotecommandconsts.StreamResize])}
	} else {
		go func() {
			// The copy ends when the connection does: the client has gone,
			// and nobody is left to see the output.
			_, _ = io.Copy(io.Discard, streams[remotecommandconsts.StreamResize])
			cancel()
		}()
	}
	err = executor.StreamWithContext(ctx, opts)
	st := sessionStatus(err)
	if err != nil && st.Reason != remotecommandconsts.NonZeroExitCodeReason {
		s.log.Debug("Exec session failed", "node", node, "err", err)
	}
	b, _ := json.Marshal(st)                               // a Status always marshals
	_, _ = streams[remotecommandconsts.StreamErr].Write(b) // the client may be gone
	// The client waits for the server to close the connection.
}

// sessionStatus is the v4/v5 error-channel message for how a session
// ended.
func sessionStatus(err error) metav1.Status {
	if err == nil {
		return metav1.Status{Status: metav1.StatusSuccess}
	}
	var exit exec.CodeExitError
	if errors.As(err, &exit) {
		return metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommandconsts.NonZeroExitCodeReason,
			Message: err.Error(),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
				Type: remotecommandconsts.ExitCodeCauseType, Message: strconv.Itoa(exit.Code),
			}}},
		}
	}
	return metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Message: err.Error()}
}

// sizeQueue reads the terminal sizes the client sends on the resize
// channel, one JSON object each.
type sizeQueue struct{ dec *json.Decoder }

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	var size remotecommand.TerminalSize
	if err := q.dec.Decode(&size); err != nil {
		return nil // the channel closed: no more resizes
	}
	return &size
}
