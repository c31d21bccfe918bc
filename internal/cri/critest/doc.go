// Package critest is the conformance suite of package cri: the same tests
// run against the in-memory fakecri.Runtime (always) and against a private
// containerd through cri.Client (when run as root with containerd, runc and
// ctr installed), so that unit tests written against the fake hold for the
// real runtime.
//
// The package has only this file outside its tests: the suite lives in
// _test.go files, so that "testing" stays out of non-test code (see
// internal/archtest). To check another runtime, add a _test.go file here
// that builds a target and calls runSuite.
package critest
