// Package watchcache is a storage.Store decorator that serves the reads and
// watches of one resource from memory, fed by a single List and Watch on
// the underlying store (etcd3), however many clients watch.
//
//	       writes ───────────────────────────────▶ underlying Store (etcd)
//	                                                   │ one List + one Watch
//	Get/List ◀── items (key → object) ◀── reflector ◀──┘
//	Watch    ◀── watcher ◀─ buffered chan ◀── events ring (recent revisions)
//
// A Cache keeps the current objects by key and a ring of recent events
// with their revisions. Get and List with ResourceVersion "0" are answered
// from memory at once; with "" (a consistent read) the cache first learns
// the datastore's current revision and waits, bounded by
// Config.WaitTimeout, until it has caught up (asking the underlying store
// for watch progress when it implements RequestProgress), and otherwise
// delegates to the underlying store. Paged lists at a resourceVersion,
// continue tokens and exact-revision lists are delegated.
//
// A Watch replays buffered events after its resourceVersion (a 410
// "too old resource version" ERROR event when the ring no longer reaches
// back that far), or starts with synthetic ADDED events, then streams live
// events filtered by its predicate. Each watcher has its own goroutine and
// buffered channel; a watcher whose buffer overflows is terminated so that
// it never blocks the others, and its client re-watches from its last
// resourceVersion. If the underlying watch fails, the cache re-lists and
// terminates all watchers, as upstream's cacher does.
//
// Only internal/server (to construct it) and tests may import this
// package. A Cache is safe for concurrent use.
package watchcache
