package localpath

import (
	"context"
	"fmt"
	"os"
)

// Directories makes and removes the directory of a volume on a node. Both
// methods are idempotent; path is absolute on that node.
type Directories interface {
	Create(ctx context.Context, node, path string) error
	Remove(ctx context.Context, node, path string) error
}

// NodeLocal is the Directories of a server that is also node Node: it
// manages directories of that node on the local filesystem and leaves
// every other node's to that node (the agent). The zero value (no local
// node) touches nothing.
type NodeLocal struct {
	// Node is this machine's node name ("" for a server without agent).
	Node string
}

// Create makes path (world-writable, so that any pod user may write, as
// upstream's local-path provisioner does) if node is local.
func (d NodeLocal) Create(_ context.Context, node, path string) error {
	if d.Node == "" || node != d.Node {
		return nil
	}
	if err := os.MkdirAll(path, 0o777); err != nil {
		return fmt.Errorf("create volume directory %s: %w", path, err)
	}
	// MkdirAll's mode is filtered by the umask.
	if err := os.Chmod(path, 0o777); err != nil { //nolint:gosec // volumes are shared with arbitrary pod users
		return fmt.Errorf("create volume directory %s: %w", path, err)
	}
	return nil
}

// Remove deletes path and its contents if node is local.
func (d NodeLocal) Remove(_ context.Context, node, path string) error {
	if d.Node == "" || node != d.Node {
		return nil
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("remove volume directory %s: %w", path, err)
	}
	return nil
}
