package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/server"
)

const tokenUsage = `Usage:
  skiff token create [--kubeconfig FILE] [--ttl 24h] [--description TEXT]

Creates a new join token for agents and prints it. It talks to the API
server with an admin kubeconfig (default DATA-DIR/kubeconfig.yaml) and
stores the token as a bootstrap token Secret in kube-system, which the
server accepts at once; --ttl 0 makes a token that does not expire.
`

func runToken(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, tokenUsage)
			return 0
		}
		fmt.Fprint(stderr, tokenUsage)
		return 2
	}
	home, _ := os.UserHomeDir()
	dataDir := config.DefaultServer(os.Geteuid(), home).DataDir
	fs := flag.NewFlagSet("skiff token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig (default $KUBECONFIG, else DATA-DIR/kubeconfig.yaml)")
	fs.StringVar(&dataDir, "data-dir", dataDir, "the server's data directory, to find its kubeconfig")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid (0 means forever)")
	desc := fs.String("description", "", "what the token is for")
	if code, ok := parse(fs, args[1:], stderr); !ok {
		return code
	}
	if *ttl < 0 {
		return fail(stderr, fs.Name(), fmt.Errorf("--ttl %v must not be negative", *ttl), 2)
	}
	path := *kubeconfig
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	if path == "" {
		path = filepath.Join(dataDir, "kubeconfig.yaml")
	}
	tok, err := server.CreateJoinToken(context.Background(), path, *ttl, *desc)
	if err != nil {
		return fail(stderr, fs.Name(), err, 1)
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
