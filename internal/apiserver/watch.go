package apiserver

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/storage"
)

func ptrValues(r *http.Request) *url.Values {
	q := r.URL.Query()
	return &q
}

func (rs *resource) watch(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r, "Table", "PartialObjectMetadata")
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if out.info.StreamSerializer == nil {
		rs.s.writeError(w, r, apierrors.NewBadRequest("no stream serializer for "+out.info.MediaType))
		return
	}
	opts, err := rs.listOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if opts.SendInitialEvents != nil && *opts.SendInitialEvents && opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
		rs.s.writeError(w, r, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "", field.ErrorList{
			field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
		}))
		return
	}
	pred, err := rs.predicate(opts)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	key := rs.listPrefix(ri.Namespace)
	recursive := true
	if ri.Name != "" {
		key, recursive = rs.key(ri.Namespace, ri.Name), false
	}
	if fs := opts.FieldSelector; fs != "" && ri.Name == "" {
		// kubectl get NAME -w watches a list with metadata.name=NAME.
		if name, ok := pred.Field.RequiresExactMatch("metadata.name"); ok && (ri.Namespace != "" || !rs.kind.Namespaced) {
			key, recursive = rs.key(ri.Namespace, name), false
		}
	}
	ctx := r.Context()
	// For a watch "from now", the revision before it starts bounds what it
	// will have sent: a safe version for a bookmark before any event.
	startRV := ""
	if opts.ResourceVersion == "" && opts.AllowWatchBookmarks {
		if rev, err := rs.store.CurrentRevision(ctx); err == nil {
			startRV = strconv.FormatInt(rev, 10)
		}
	}
	wi, err := rs.store.Watch(ctx, key, storage.WatchOptions{
		ResourceVersion:   opts.ResourceVersion,
		Predicate:         pred,
		Recursive:         recursive,
		AllowBookmarks:    opts.AllowWatchBookmarks,
		SendInitialEvents: opts.SendInitialEvents,
	})
	if err != nil {
		rs.s.writeError(w, r, toStatusError(err, rs.kind.GroupResource(), ""))
		return
	}
	defer wi.Stop()

	framer := out.info.StreamSerializer.Framer.NewFrameWriter(w)
	enc := streaming.NewEncoder(framer, out.info.StreamSerializer.Serializer)
	embedded := out.info.Serializer
	w.Header().Set("Content-Type", out.info.MediaType)
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	timeout := watchTimeout(opts)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// As upstream, a client that allows bookmarks gets one shortly before
	// the watch times out, so it can resume from the newest version.
	var bookmarkC <-chan time.Time
	if opts.AllowWatchBookmarks && timeout > 2*time.Second {
		bt := time.NewTimer(timeout - 2*time.Second)
		defer bt.Stop()
		bookmarkC = bt.C
	}
	lastRV := startRV
	if opts.ResourceVersion != "0" && opts.ResourceVersion != "" {
		lastRV = opts.ResourceVersion
	}
	var buf bytes.Buffer
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-rs.s.stopping:
			return
		case <-timer.C:
			return
		case <-bookmarkC:
			if lastRV == "" {
				continue
			}
			bm := rs.kind.New()
			if m, err := meta.Accessor(bm); err == nil {
				m.SetResourceVersion(lastRV)
			}
			if err := rs.sendEvent(r, out, enc, embedded, &buf, watch.Event{Type: watch.Bookmark, Object: bm}, false); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			if m, err := meta.Accessor(ev.Object); err == nil && ev.Type != watch.Error {
				lastRV = m.GetResourceVersion()
			}
			if err := rs.sendEvent(r, out, enc, embedded, &buf, ev, first); err != nil {
				return
			}
			if ev.Type != watch.Bookmark && ev.Type != watch.Error {
				first = false
			}
			if flusher != nil && len(wi.ResultChan()) == 0 {
				flusher.Flush()
			}
		}
	}
}

// watchObject converts one event's object to what the client negotiated.
func (rs *resource) watchObject(r *http.Request, out output, ev watch.Event, first bool) (runtime.Object, error) {
	if ev.Type == watch.Error {
		if st, ok := ev.Object.(*metav1.Status); ok {
			st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		}
		return ev.Object, nil
	}
	obj := ev.Object
	if ev.Type != watch.Bookmark {
		var err error
		if obj, err = rs.fromStorage(obj); err != nil {
			return nil, err
		}
	}
	switch out.as {
	case "Table":
		if ev.Type == watch.Bookmark {
			m, _ := meta.Accessor(obj)
			t := &metav1.Table{ListMeta: metav1.ListMeta{ResourceVersion: m.GetResourceVersion()}}
			t.TypeMeta = metav1.TypeMeta{Kind: "Table", APIVersion: out.asGV.String()}
			return t, nil
		}
		t, err := rs.toTable(r, []runtime.Object{obj}, nil)
		if err != nil {
			return nil, err
		}
		if !first {
			t.ColumnDefinitions = nil
		}
		return t, nil
	case "PartialObjectMetadata":
		return partialMetadata(obj, out.asGV), nil
	}
	if ev.Type == watch.Bookmark {
		obj.GetObjectKind().SetGroupVersionKind(rs.kind.GVK)
	}
	return obj, nil
}

// encodeFor encodes obj with the embedded serializer. Watch objects are
// shared between watchers, so an object that already names its kind is
// encoded as is, without the kind-setting encoder (which writes to it).
func (s *Server) encodeFor(out output, ser runtime.Encoder, obj runtime.Object, buf *bytes.Buffer) error {
	if !obj.GetObjectKind().GroupVersionKind().Empty() {
		return ser.Encode(obj, buf)
	}
	enc := runtime.WithVersionEncoder{Encoder: ser, ObjectTyper: s.scheme}
	if gvks, _, err := s.scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		enc.Version = gvks[0].GroupVersion()
	} else {
		enc.Version = obj.GetObjectKind().GroupVersionKind().GroupVersion()
	}
	return enc.Encode(obj, buf)
}

// sendEvent writes one watch event in the negotiated form. A change seen
// by many watchers in the same plain form is encoded once (encodedEvents).
func (rs *resource) sendEvent(r *http.Request, out output, enc streaming.Encoder, embedded runtime.Encoder, buf *bytes.Buffer, ev watch.Event, first bool) error {
	var key eventKey
	shareable := out.as == "" && rs.storage == nil && rs.crd == nil && (ev.Type == watch.Added || ev.Type == watch.Modified || ev.Type == watch.Deleted)
	if shareable {
		if m, err := meta.Accessor(ev.Object); err == nil && m.GetResourceVersion() != "" {
			key = eventKey{prefix: rs.prefix, ns: m.GetNamespace(), name: m.GetName(), rv: m.GetResourceVersion(), typ: ev.Type, media: out.info.MediaType}
			if raw, ok := rs.s.encoded.Get(key); ok {
				return enc.Encode(&metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: raw.([]byte)}})
			}
		} else {
			shareable = false
		}
	}
	obj, err := rs.watchObject(r, out, ev, first)
	if err != nil {
		obj = &apierrors.NewInternalError(err).ErrStatus
	}
	buf.Reset()
	if err := rs.s.encodeFor(out, embedded, obj, buf); err != nil {
		return err
	}
	if shareable && err == nil {
		rs.s.encoded.Add(key, bytes.Clone(buf.Bytes()))
	}
	return enc.Encode(&metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: buf.Bytes()}})
}

// eventKey identifies one encoded watch event: the same object version,
// event type and media type encode to the same bytes for every watcher.
type eventKey struct {
	prefix, ns, name, rv string
	typ                  watch.EventType
	media                string
}
