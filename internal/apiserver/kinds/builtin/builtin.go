// Package builtin lists every built-in kind the API server serves.
package builtin

import "github.com/skiff/skiff/internal/apiserver/kinds"

// All returns the built-in kinds, in discovery order: the core group first,
// then the named groups in upstream's priority order.
func All() []kinds.Kind {
	var all []kinds.Kind
	all = append(all, core()...)
	all = append(all, workloads()...)
	all = append(all, platform()...)
	return all
}
