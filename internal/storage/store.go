package storage

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// Sentinel errors. Implementations wrap them with the key, so callers branch
// with errors.Is and the API server maps them to a metav1.Status once.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict means a precondition (resourceVersion or UID) did not hold.
	ErrConflict = errors.New("conflict")
	// ErrCompacted means the requested resourceVersion is older than the
	// oldest one still available (HTTP 410 Gone, "too old resource version").
	ErrCompacted = errors.New("resource version too old")
	// ErrTooLarge means a resourceVersion from the future was asked for and
	// did not arrive in time (upstream answers 504 "Too large resource version").
	ErrTooLarge = errors.New("too large resource version")
	// ErrInvalidContinue means a continue token could not be decoded.
	ErrInvalidContinue = errors.New("invalid continue token")
)

// Codec turns objects into the bytes kept in the datastore and back.
// Decode must return a fresh object the caller owns.
type Codec interface {
	Encode(obj runtime.Object) ([]byte, error)
	Decode(data []byte) (runtime.Object, error)
}

// Preconditions must hold on the stored object for a write to proceed;
// otherwise the write fails with ErrConflict.
type Preconditions struct {
	UID             *types.UID
	ResourceVersion *string
}

// UpdateFunc computes the new object from the current one. It must not
// modify current (it may come from a cache); returning an error aborts the
// update with that error.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// ValidateDeleteFunc may veto a delete after seeing the current object.
type ValidateDeleteFunc func(current runtime.Object) error

// ResourceVersionMatch mirrors metav1.ResourceVersionMatch.
type ResourceVersionMatch string

const (
	MatchNotOlderThan ResourceVersionMatch = "NotOlderThan"
	MatchExact        ResourceVersionMatch = "Exact"
)

// GetOptions select which version of an object Get returns.
// ResourceVersion "" means the latest (a quorum read); "0" means any
// version the store has at hand.
type GetOptions struct {
	ResourceVersion string
	IgnoreNotFound  bool
}

// ListOptions select the objects of a List.
//
// ResourceVersion semantics are upstream's: "" is a consistent (most
// recent) read, "0" is any version (served from cache, limit ignored),
// any other value with Match NotOlderThan (the default) is at least that
// version, with Match Exact exactly that version (paginated from etcd).
// Limit and Continue page through the result in key order.
type ListOptions struct {
	ResourceVersion string
	Match           ResourceVersionMatch
	Limit           int64
	Continue        string
	Predicate       Predicate
	// Recursive lists every key under the prefix; otherwise the prefix is a
	// single key. Always true for lists of collections.
	Recursive bool
}

// ListResult is one page of a List. Items are owned by the caller.
type ListResult struct {
	Items []runtime.Object
	// ResourceVersion is the revision the list is consistent at.
	ResourceVersion int64
	// Continue is non-empty when more items remain.
	Continue string
	// RemainingItemCount is set when known and a page was cut short.
	RemainingItemCount *int64
}

// WatchOptions start a watch.
//
// ResourceVersion "" sends synthetic ADDED events for every current object
// and then changes; "0" does the same from any version at hand; any other
// value streams changes after it, or fails with ErrCompacted if too old.
// SendInitialEvents overrides that choice as upstream's field does and, when
// true, is followed by a BOOKMARK carrying the annotation
// "k8s.io/initial-events-end": "true". With AllowBookmarks the store sends
// BOOKMARK events (objects carrying only a resourceVersion) now and then.
type WatchOptions struct {
	ResourceVersion   string
	Predicate         Predicate
	Recursive         bool
	AllowBookmarks    bool
	SendInitialEvents *bool
}

// Store keeps the objects of one resource. Keys are full datastore keys
// such as /registry/pods/default/web; prefixes end in "/".
//
// Returned objects carry metadata.resourceVersion set to the datastore
// revision at which they were last modified, and are owned by the caller.
type Store interface {
	// Create stores obj at key, failing with ErrAlreadyExists.
	Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error)
	// Get returns the object at key or ErrNotFound.
	Get(ctx context.Context, key string, opts GetOptions) (runtime.Object, error)
	// List returns the objects under prefix that match opts.Predicate.
	List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error)
	// GuaranteedUpdate reads the object at key, applies tryUpdate and writes
	// the result only if the object did not change meanwhile, retrying with
	// the fresh object on a race. Preconditions are checked on every try.
	// If tryUpdate returns an object equal to current, nothing is written
	// and current is returned.
	GuaranteedUpdate(ctx context.Context, key string, preconditions *Preconditions, tryUpdate UpdateFunc) (runtime.Object, error)
	// Delete removes the object at key after preconditions and validate
	// pass, and returns the last stored state (with the deletion revision
	// as resourceVersion).
	Delete(ctx context.Context, key string, preconditions *Preconditions, validate ValidateDeleteFunc) (runtime.Object, error)
	// Watch streams changes under key (a prefix if opts.Recursive). The
	// watch ends when ctx ends or Stop is called. Unlike other methods'
	// results, event objects may be shared between watchers (so that one
	// change costs one object, not one per watcher): callers must not
	// modify them.
	Watch(ctx context.Context, key string, opts WatchOptions) (watch.Interface, error)
	// CurrentRevision returns the datastore's latest revision.
	CurrentRevision(ctx context.Context) (int64, error)
}
