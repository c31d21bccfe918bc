// Package cri is Skiff's view of a container runtime: small role interfaces
// over the Container Runtime Interface (k8s.io/cri-api, v1), a gRPC client
// that implements them against any CRI endpoint (containerd, CRI-O), and
// the sentinel errors both share.
//
// The interfaces take and return the CRI's own protobuf types
// (runtimeapi.PodSandboxConfig, runtimeapi.ContainerStatus, ...), so that
// nothing is lost between the node agent and the runtime:
//
//	RuntimeService = Versioner + StatusReporter + SandboxManager
//	                 + ContainerManager + Streamer
//	ImageService   = ImageManager + ImageFsInfoer
//
// Consumers should depend on the smallest role they need (a prober needs
// only an Execer, an image GC only an ImageManager). Client implements
// both services; package fakecri implements them in memory for tests, and
// package critest checks that the two behave alike.
//
// Errors: a missing sandbox, container or image is reported as an error
// wrapping ErrNotFound (the gRPC NotFound code of a remote runtime is
// translated once, in Client). Removing something that does not exist is
// not an error, as the CRI specifies.
//
// The CRI itself is safe for concurrent use, and so are Client and
// fakecri.Runtime. Any package may import cri; fakecri only tests may.
package cri
