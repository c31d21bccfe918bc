package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"syscall"

	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/config"
)

const imagesUsage = `Usage:
  skiff images import [--node-name NAME | --container-runtime-endpoint unix:///PATH] FILE...

Imports OCI or docker-archive tarballs into the containerd of this
machine's agent (the one of --node-name, default the host name), or into
the containerd at --container-runtime-endpoint.
`

func runImages(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "import" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, imagesUsage)
			return 0
		}
		fmt.Fprint(stderr, imagesUsage)
		return 2
	}
	fs := flag.NewFlagSet("skiff images import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	node := fs.String("node-name", "", "the agent's node name (default the host name)")
	endpoint := fs.String("container-runtime-endpoint", "", "containerd socket to import into (unix:///path)")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprintf(stderr, "%s: no files given\n", fs.Name())
		return 2
	}
	address := agent.SocketPath(*endpoint)
	if address == "" {
		name, err := config.NodeName(*node)
		if err != nil {
			return fail(stderr, fs.Name(), err, 1)
		}
		address = agent.ContainerdSocket("", name)
	}
	if _, err := os.Stat(address); err != nil {
		return fail(stderr, fs.Name(), fmt.Errorf("no containerd socket at %s (is the agent running? pass --node-name or --container-runtime-endpoint)", address), 1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, f := range files {
		if err := agent.ImportImages(ctx, address, f); err != nil {
			return fail(stderr, fs.Name(), err, 1)
		}
		fmt.Fprintf(stdout, "imported %s\n", f)
	}
	return 0
}
