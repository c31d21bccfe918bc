// Package kinds describes the resources the API server serves: the Kind
// record (group, version, resource names, scope, subresources) and the
// per-kind Strategy (defaults, validation, create/update preparation,
// table columns and selectable fields) that sub-packages provide, one per
// kind, under kinds/<group>/<kind>/. kinds/builtin lists them all.
//
// Strategies are pure: no I/O and no clock (the time a table row is
// printed at is passed in). Everything here is safe for concurrent use
// once constructed.
//
// Only internal/apiserver and its sub-packages import this package.
package kinds
