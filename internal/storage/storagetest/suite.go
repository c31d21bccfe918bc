package storagetest

import (
	"testing"

	"github.com/skiff/skiff/internal/storage"
)

// testCase is one conformance case; it gets a fresh, empty store.
type testCase struct {
	name string
	run  func(t *testing.T, s storage.Store)
	// compacts marks cases that need a Compactor.
	compacts bool
}

// Run runs the conformance suite, calling newStore for each case. newStore
// must return an empty store whose revisions no one else moves, and clean
// it up with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	var cases []testCase
	cases = append(cases, crudCases...)
	cases = append(cases, listCases...)
	cases = append(cases, watchCases...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			if _, ok := s.(Compactor); tc.compacts && !ok {
				t.Skip("store does not implement Compactor")
			}
			tc.run(t, s)
		})
	}
}
