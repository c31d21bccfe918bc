// Package gc is the garbage collector: it deletes objects whose owners
// (metadata.ownerReferences) are gone and carries out the propagation
// policy chosen when an owner is deleted.
//
//   - Background: once an owner is gone, each dependent that has no other
//     live owner is deleted; a dependent that has one loses the reference to
//     the dead owner instead.
//   - Foreground: an owner carrying the foregroundDeletion finalizer has its
//     dependents deleted first; the finalizer is removed once no dependent
//     with blockOwnerDeletion remains.
//   - Orphan: an owner carrying the orphan finalizer has the references to
//     it removed from its dependents, then the finalizer removed.
//
// It watches the metadata of every resource discovery lists as deletable
// (one metadatainformer per resource, indexed by UID and by owner UID),
// and re-reads discovery when CustomResourceDefinitions change and every
// 30 seconds, starting and stopping informers as resources come and go.
//
//	informer events ─▶ item key (resource, namespace, name, uid) ─▶ sync:
//	    live GET item ─▶ orphan / wait for dependents / classify owners (live GET each) ─▶ patch or delete
//
// Owner existence is always checked with a live GET, never the cache, so
// a lagging cache cannot cause a deletion. Only internal/server constructs
// the collector.
package gc
