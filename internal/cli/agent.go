package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/config"
)

func agentFlags(fs *flag.FlagSet, c *config.Agent) {
	fs.StringVar(&c.Server, "server", c.Server, "URL of the skiff server to join (https://host:6443)")
	fs.StringVar(&c.Token, "token", c.Token, "join `TOKEN`: K10…::<id>.<secret> from DATA-DIR/server/token on the server, or from skiff token create")
	fs.StringVar(&c.CACertHash, "ca-cert-hash", c.CACertHash, "sha256:<hex> pin of the server CA, for a token given as <id>.<secret>")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the node's credentials, containerd and pod data (DIR/agent)")
	fs.StringVar(&c.NodeName, "node-name", c.NodeName, "name of this node (default the host name)")
	fs.StringVar(&c.NodeIP, "node-ip", c.NodeIP, "InternalIP of this node (default the default route's source address)")
	fs.StringVar(&c.ContainerRuntimeEndpoint, "container-runtime-endpoint", c.ContainerRuntimeEndpoint, "use this existing CRI socket (unix:///path) instead of starting containerd")
	fs.Var(listFlag{&c.NodeLabels}, "node-label", "label key=value of the node at registration (repeatable)")
	fs.Var(listFlag{&c.NodeTaints}, "node-taint", "taint key=value:Effect of the node at registration (repeatable)")
	fs.BoolVar(&c.Debug, "debug", c.Debug, "log at debug level")
	kubeletFlags(fs, &c.Kubelet)
}

func runAgent(args []string, stderr io.Writer) int {
	home, _ := os.UserHomeDir()
	cfg := config.DefaultAgent(os.Geteuid(), home)
	fs := flag.NewFlagSet("skiff agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	agentFlags(fs, &cfg)
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if err := cfg.Validate(); err != nil {
		return fail(stderr, "skiff agent", err, 2)
	}
	if _, err := agent.JoinToken(cfg.Token, cfg.CACertHash); err != nil {
		return fail(stderr, "skiff agent", err, 2)
	}
	log := newLogger(stderr, cfg.Debug)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := agent.Run(ctx, cfg, log); err != nil {
		return fail(stderr, "skiff agent", err, 1)
	}
	return 0
}

// parse parses args into fs; ok is false when the command must end
// with code (help asked, a bad flag, or a stray argument).
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}

// fail prints err on one line after the command's name and returns code.
func fail(stderr io.Writer, cmd string, err error, code int) int {
	fmt.Fprintf(stderr, "%s: %s\n", cmd, strings.ReplaceAll(err.Error(), "\n", "; "))
	return code
}
