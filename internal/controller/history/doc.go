// Package history keeps the ControllerRevisions through which the
// DaemonSet and StatefulSet controllers record each pod template they
// have rolled out: encoding a template as revision data, naming a
// revision by the hash of that data, finding or creating the revision of
// the current template (renumbering an older equal one on a rollback,
// adopting an orphan) and deleting old ones beyond the history limit.
// It holds what the two controllers share so that revisions of both are
// named and numbered alike, as upstream's history package does for them.
package history
