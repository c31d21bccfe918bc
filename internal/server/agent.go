package server

import (
	"context"
	"path/filepath"
	"time"

	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/config"
)

// startAgent starts the node agent of this server's own node, unless
// --disable-agent. It imports the images of <data-dir>/agent/images and
// of build/images (relative to the working directory, where `make
// images` writes them).
func (s *Server) startAgent(ctx context.Context) error {
	if s.cfg.DisableAgent {
		return nil
	}
	name, err := config.NodeName(s.cfg.NodeName)
	if err != nil {
		return err
	}
	rc, err := s.nodeClientConfig(name)
	if err != nil {
		return err
	}
	a, err := agent.Start(ctx, agent.Config{
		NodeName:  name,
		Dir:       filepath.Join(s.cfg.DataDir, "agent"),
		ImageDirs: []string{filepath.Join("build", "images")},
		REST:      rc,
		Kubelet:   s.cfg.Kubelet,
		ClientCA:  s.bundle.ClientCAPEM(),
		Logger:    s.log,
	})
	if err != nil {
		return err
	}
	s.agent = a
	return nil
}

// stopAgent stops the agent (not its running containers), if one runs.
func (s *Server) stopAgent() {
	if s.agent == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.agent.Stop(ctx); err != nil {
		s.log.Error("Stopping the node agent failed", "err", err)
	}
	s.agent = nil
}
