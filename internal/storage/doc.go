// Package storage defines the Store interface through which the API server
// keeps objects, the sentinel errors every implementation returns, and the
// selection Predicate used by lists and watches.
//
// Implementations live in sub-packages: etcd3 (the only code that talks to
// etcd), watchcache (a Store decorator that serves reads and watches from
// memory, fed by one etcd watch per resource) and storagetest (the
// conformance suite every implementation must pass).
//
// Only internal/apiserver and internal/server may import this package.
// Every Store is safe for concurrent use.
package storage
