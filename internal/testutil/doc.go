// Package testutil holds test-only helpers: an in-process `skiff server`
// on free ports with a throwaway data dir, and free-port allocation.
// Import it only from _test.go files and test/.
package testutil
