#!/usr/bin/env bash
# up.sh: set up this Debian machine and start a single-node Skiff cluster.
# Installs the Debian packages a node needs when they are missing, builds
# skiff and runs `skiff server` in the foreground. The admin kubeconfig is
# written to /var/lib/skiff/kubeconfig.yaml (or --write-kubeconfig).
set -euo pipefail
cd "$(dirname "$0")/.."

./hack/deps.sh
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
go build -o skiff ./cmd/skiff
# The images pods run (busybox, pause, testapp) are built locally: no
# registry is needed; the agent imports build/images/*.tar at start.
make images
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
exec $SUDO ./skiff server "$@"
