// Package fakecri is an in-memory container runtime implementing
// cri.RuntimeService and cri.ImageService, for unit and integration tests
// of the node agent. It runs no processes: sandboxes and containers are
// records that move through the CRI's states (a container is CREATED, then
// RUNNING, then EXITED) when the CRI calls say so, or when a test calls
// ExitContainer. ExecSync runs Config.Exec, by default a tiny interpreter
// of echo, true, false and `sh -c "exit N"`.
//
// It follows the CRI's contract where the real runtime (containerd, checked
// by package critest) does: missing objects are errors wrapping
// cri.ErrNotFound, removing what does not exist is not an error, image
// references are normalized ("busybox" is docker.io/library/busybox:latest),
// and ImageStatus of a missing image returns a nil Image.
//
// Tests can inject one-shot errors per method (InjectError) and read the
// methods called so far (Calls). A Runtime is safe for concurrent use.
// Only tests and test/ may import this package.
package fakecri
