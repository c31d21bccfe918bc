// Command skiff is a Kubernetes-compatible cluster in one binary.
package main

import (
	"os"
	_ "time/tzdata" // cron time zones must not depend on the host's database

	"github.com/skiff/skiff/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
