#!/usr/bin/env bash
# deps.sh: install the Debian packages a Skiff node and its tests need,
# when they are missing. Safe to run again; quiet when nothing is missing.
set -euo pipefail
need=()
for p in containerd runc containernetworking-plugins iptables nftables etcd-client busybox-static skopeo openssl; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${need[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
