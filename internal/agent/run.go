package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/skiff/skiff/internal/auth/bootstraptoken"
	"github.com/skiff/skiff/internal/config"
)

// joinRetry is how long Run waits before trying again to reach a server
// that did not answer.
const joinRetry = 5 * time.Second

// Run is `skiff agent`: it joins the cluster at cfg.Server with cfg.Token
// (retrying while the server is unreachable), starts the agent and
// blocks until ctx ends, then stops it (running containers keep running).
func Run(ctx context.Context, cfg config.Agent, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	tok, err := JoinToken(cfg.Token, cfg.CACertHash)
	if err != nil {
		return err
	}
	labels, err := config.ParseNodeLabels(cfg.NodeLabels)
	if err != nil {
		return err
	}
	taints, err := config.ParseNodeTaints(cfg.NodeTaints)
	if err != nil {
		return err
	}
	name, err := config.NodeName(cfg.NodeName)
	if err != nil {
		return err
	}
	dir := filepath.Join(cfg.DataDir, "agent")
	server := strings.TrimSuffix(cfg.Server, "/")
	var creds *Credentials
	for {
		creds, err = Join(ctx, JoinConfig{Server: server, Token: tok, Dir: dir, NodeName: name, Logger: log})
		if err == nil {
			break
		}
		if !errors.Is(err, ErrUnreachable) || ctx.Err() != nil {
			return err
		}
		log.Warn("Cannot reach the server, retrying", "server", server, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(joinRetry):
		}
	}
	a, err := Start(ctx, Config{
		NodeName: name, NodeIP: cfg.NodeIP, Dir: dir,
		REST: creds.REST, ClientCA: creds.ClientCA, Kubelet: cfg.Kubelet,
		ContainerRuntimeEndpoint: cfg.ContainerRuntimeEndpoint,
		NodeLabels:               labels, NodeTaints: taints,
		Logger: log,
	})
	if err != nil {
		return err
	}
	log.Info("Skiff agent is running", "node", name, "server", server)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		renewLoop(ctx, JoinConfig{Server: server, Dir: dir, NodeName: name, Logger: log})
	}()
	<-ctx.Done()
	<-renewed
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.Stop(stopCtx)
}

// JoinToken parses --token and --ca-cert-hash: a full K10 token carries
// its CA hash (which --ca-cert-hash, if also given, must equal); a bare
// <id>.<secret> needs --ca-cert-hash.
func JoinToken(token, caCertHash string) (bootstraptoken.Token, error) {
	t, err := bootstraptoken.Parse(token)
	if err != nil {
		return t, fmt.Errorf("--token: %w", err)
	}
	if caCertHash != "" {
		h, err := bootstraptoken.ParseCAHash(caCertHash)
		if err != nil {
			return t, fmt.Errorf("--ca-cert-hash: %w", err)
		}
		if t.CAHash != "" && t.CAHash != h {
			return t, fmt.Errorf("--ca-cert-hash %s differs from the CA hash in --token %s", h, t.CAHash)
		}
		t.CAHash = h
	}
	if t.CAHash == "" {
		return t, errors.New("--token has no CA hash: pass the full K10… token printed by the server, or add --ca-cert-hash sha256:<hex>")
	}
	return t, nil
}
