// Package containerd runs a private containerd for one node agent and
// imports image tarballs into it.
//
// Start writes a generated config.toml and starts Debian's containerd with
// every path of its own: the persistent root under Config.Root
// (<data-dir>/agent/containerd), the state, the sockets and the pods'
// network namespaces under Config.State (/run/skiff/<node>/containerd). It
// never reads /etc/containerd nor touches a system containerd's socket, so
// several agents can run side by side on one machine. The CRI plugin is set
// up for Skiff: sandbox_image is Skiff's pause image (see images/), the
// snapshotter is overlayfs, runc is the default runtime with cgroupfs
// (SystemdCgroup=false), the streaming server listens on 127.0.0.1 on a
// random port, and CNI reads Config.CNIConfDir and Config.CNIBinDir.
//
//	d, err := containerd.Start(ctx, containerd.Config{Root: root, State: state, Logger: log})
//	defer d.Stop(ctx)
//	err = containerd.ImportImages(ctx, d.Address(), "build/images/busybox.tar")
//	rt, err := cri.Dial(ctx, d.Endpoint())
//
// Start returns once the CRI answers Version. Until Stop, the Daemon
// supervises the process: when containerd exits on its own it is restarted
// with a backoff (1 s doubling to 30 s). Stopping containerd does not stop
// running containers: their shims (containerd-shim-runc-v2) outlive it, as
// they must for an agent restart not to restart pods; ShimPIDs finds them
// for a full cleanup.
//
// Images are imported with Debian's ctr (`ctr images import` into the
// k8s.io namespace) rather than containerd's Go client, whose module would
// pull containerd's whole dependency tree into go.mod; see ImportImages.
//
// Only the agent's composition root, the CLI's image import command and
// tests may import this package. A Daemon is safe for concurrent use, and
// Stop may be called more than once.
package containerd
