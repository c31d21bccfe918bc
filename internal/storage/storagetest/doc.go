// Package storagetest is the conformance suite every storage.Store must
// pass, with the fixtures it needs: a JSON codec for ConfigMaps and a
// throwaway embedded etcd.
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			return etcd3.New(storagetest.StartEtcd(t), storagetest.Codec{}, storagetest.NewConfigMap)
//		})
//	}
//
// Run calls newStore once per case, in parallel subtests, so each case sees
// an empty store whose revisions only it moves. Stores that implement
// Compactor also run the cases about compacted revisions; a store that
// keeps a window of recent events (the watch cache) must keep fewer than
// 50 of them for its watches to expire in those cases.
//
// Only _test.go files and test/ may import this package.
package storagetest
