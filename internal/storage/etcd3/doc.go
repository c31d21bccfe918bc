// Package etcd3 implements storage.Store on etcd v3. It is the only code in
// Skiff that reads or writes etcd keys.
//
// Objects are kept at the keys callers pass (full keys such as
// /registry/pods/default/web), encoded by a storage.Codec with their
// resourceVersion cleared. A returned object's resourceVersion is the etcd
// ModRevision of its key; a deleted object carries the deletion revision.
//
// Writes are etcd transactions: Create requires the key to be absent,
// GuaranteedUpdate and Delete compare the ModRevision they read and retry
// with the fresh value when another writer won. Lists read every page at one
// revision, and their continue tokens are upstream's base64 JSON
// {"v":"meta.k8s.io/v1","rv":N,"start":"<key after prefix>"}. Watches are
// etcd watches with previous values, translated to watch events and filtered
// by the predicate the way upstream does: a MODIFIED object that starts or
// stops matching becomes ADDED or DELETED. A watch from a compacted revision
// delivers one ERROR event (410 Expired, "too old resource version: X (Y)")
// and ends; List and Get report such revisions as storage.ErrCompacted.
// RequestProgress makes the store's watches that allow bookmarks report
// etcd's current revision, which lets the watch cache serve consistent
// reads without waiting for an event.
//
// Only internal/server (to construct it) and tests may import this package;
// the API server sees a storage.Store. A Store is safe for concurrent use.
package etcd3
