package agent

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"

	"github.com/skiff/skiff/internal/kubelet/kubeletserver"
)

// serveNodeAPI starts the node's API (logs, exec, attach, port-forward)
// on Kubelet.Port and returns the port it listens on, 0 when ClientCA is
// not set. It serves until ctx ends; wait returns once it has stopped.
func (a *Agent) serveNodeAPI(ctx context.Context) (port int32, wait func(), err error) {
	wait = func() {}
	if len(a.cfg.ClientCA) == 0 {
		a.log.Warn("No client CA given: not serving the node API; kubectl logs, exec and port-forward will not reach this node")
		return 0, wait, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(a.cfg.ClientCA) {
		return 0, wait, fmt.Errorf("agent: client CA: no certificate in PEM")
	}
	srv, err := kubeletserver.New(kubeletserver.Config{
		Runtime:   a.rt,
		ClientCAs: pool,
		Address:   net.JoinHostPort("", strconv.Itoa(a.cfg.Kubelet.Port)),
		Hosts:     []string{a.cfg.NodeName, a.cfg.NodeIP},
		Logger:    a.cfg.Logger,
	})
	if err != nil {
		return 0, wait, fmt.Errorf("agent: %w", err)
	}
	p, err := srv.Listen()
	if err != nil {
		return 0, wait, fmt.Errorf("agent: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx); err != nil {
			a.log.Error("Node API stopped", "err", err)
		}
	}()
	a.log.Info("Serving the node API", "port", p)
	return int32(p), func() { <-done }, nil
}
