#!/usr/bin/env bash
# up.sh: set up this Debian machine and start a single-node Skiff cluster.
# Installs the Debian packages a node needs when they are missing, builds
# skiff and runs `skiff server` in the foreground. The admin kubeconfig is
# written to /var/lib/skiff/kubeconfig.yaml (or --write-kubeconfig).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for p in containerd runc containernetworking-plugins iptables nftables etcd-client busybox-static skopeo; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "Installing Debian packages: ${need[*]}"
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	$SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
go build -o skiff ./cmd/skiff
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
exec $SUDO ./skiff server "$@"
