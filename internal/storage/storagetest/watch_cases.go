package storagetest

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/storage"
)

var watchCases = []testCase{
	{name: "WatchFromResourceVersion", run: testWatchFromRV},
	{name: "WatchInitialEvents", run: testWatchInitialEvents},
	{name: "WatchSendInitialEventsBookmark", run: testWatchInitialEventsBookmark},
	{name: "WatchSendInitialEventsFalse", run: testWatchNoInitialEvents},
	{name: "WatchPredicateTransitions", run: testWatchPredicate},
	{name: "WatchSingleKey", run: testWatchSingleKey},
	{name: "WatchStop", run: testWatchStop},
	{name: "WatchManyWatchers", run: testWatchMany},
	{name: "WatchExpired", run: testWatchExpired, compacts: true},
}

func ptr[T any](v T) *T { return &v }

func testWatchFromRV(t *testing.T, s storage.Store) {
	rv1 := create(t, s, ConfigMap("a", "x", "1", nil)).ResourceVersion
	rv2 := set(t, s, "a", "x", "2", nil).ResourceVersion
	rv3 := create(t, s, ConfigMap("a", "y", "1", nil)).ResourceVersion
	rv4 := del(t, s, "a", "x").ResourceVersion
	w := startWatch(t, s, Prefix, storage.WatchOptions{ResourceVersion: rv1, Recursive: true})
	want := []event{
		{Type: watch.Modified, Name: "a/x", V: "2", RV: rv2},
		{Type: watch.Added, Name: "a/y", V: "1", RV: rv3},
		{Type: watch.Deleted, Name: "a/x", V: "2", RV: rv4},
	}
	if diff := cmp.Diff(want, nextN(t, w, 3, false)); diff != "" {
		t.Errorf("replayed events (-want +got):\n%s", diff)
	}
	rv5 := set(t, s, "a", "y", "2", nil).ResourceVersion
	want = []event{{Type: watch.Modified, Name: "a/y", V: "2", RV: rv5}}
	if diff := cmp.Diff(want, nextN(t, w, 1, false)); diff != "" {
		t.Errorf("live events (-want +got):\n%s", diff)
	}
	// A watch from the latest revision sees only later changes.
	w2 := startWatch(t, s, Prefix, storage.WatchOptions{ResourceVersion: rv5, Recursive: true})
	rv6 := create(t, s, ConfigMap("a", "z", "1", nil)).ResourceVersion
	want = []event{{Type: watch.Added, Name: "a/z", V: "1", RV: rv6}}
	if diff := cmp.Diff(want, nextN(t, w2, 1, false)); diff != "" {
		t.Errorf("watch from the latest revision (-want +got):\n%s", diff)
	}
}

func sortedByName(evs []event) []event {
	sort.Slice(evs, func(i, j int) bool { return evs[i].Name < evs[j].Name })
	return evs
}

func testWatchInitialEvents(t *testing.T, s storage.Store) {
	x := create(t, s, ConfigMap("a", "x", "1", nil))
	y := create(t, s, ConfigMap("b", "y", "1", nil))
	for _, rv := range []string{"", "0"} {
		t.Run("rv="+rv, func(t *testing.T) {
			w := startWatch(t, s, Prefix, storage.WatchOptions{ResourceVersion: rv, Recursive: true, AllowBookmarks: true})
			want := []event{
				{Type: watch.Added, Name: "a/x", V: "1", RV: x.ResourceVersion},
				{Type: watch.Added, Name: "b/y", V: "1", RV: y.ResourceVersion},
			}
			if diff := cmp.Diff(want, sortedByName(nextN(t, w, 2, false))); diff != "" {
				t.Errorf("initial events (-want +got):\n%s", diff)
			}
			z := create(t, s, ConfigMap("c", "z", "1", nil))
			zGone := del(t, s, "c", "z")
			want = []event{
				{Type: watch.Added, Name: "c/z", V: "1", RV: z.ResourceVersion},
				{Type: watch.Deleted, Name: "c/z", V: "1", RV: zGone.ResourceVersion},
			}
			if diff := cmp.Diff(want, nextN(t, w, 2, false)); diff != "" {
				t.Errorf("live events (-want +got):\n%s", diff)
			}
		})
	}
}

func testWatchInitialEventsBookmark(t *testing.T, s storage.Store) {
	x := create(t, s, ConfigMap("a", "x", "1", nil))
	y := create(t, s, ConfigMap("a", "y", "1", nil))
	for _, rv := range []string{"", x.ResourceVersion} {
		t.Run("rv="+rv, func(t *testing.T) {
			w := startWatch(t, s, Prefix, storage.WatchOptions{ResourceVersion: rv, Recursive: true, AllowBookmarks: true, SendInitialEvents: ptr(true)})
			want := []event{
				{Type: watch.Added, Name: "a/x", V: "1", RV: x.ResourceVersion},
				{Type: watch.Added, Name: "a/y", V: "1", RV: y.ResourceVersion},
			}
			if diff := cmp.Diff(want, sortedByName(nextN(t, w, 2, false))); diff != "" {
				t.Errorf("initial events (-want +got):\n%s", diff)
			}
			ev := next(t, w)
			if ev.Type != watch.Bookmark {
				t.Fatalf("got %s after initial events, want BOOKMARK", ev.Type)
			}
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				t.Fatalf("bookmark carries %T, want *corev1.ConfigMap", ev.Object)
			}
			if cm.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
				t.Errorf("bookmark annotations %v, want %s=true", cm.Annotations, metav1.InitialEventsAnnotationKey)
			}
			if rvInt(t, rvOf(t, cm)) < rvInt(t, y.ResourceVersion) {
				t.Errorf("bookmark resourceVersion %s, want at least %s", cm.ResourceVersion, y.ResourceVersion)
			}
			if cm.Name != "" || cm.Data != nil {
				t.Errorf("bookmark carries more than a resourceVersion: %+v", cm)
			}
		})
	}
}

func testWatchNoInitialEvents(t *testing.T, s storage.Store) {
	create(t, s, ConfigMap("a", "x", "1", nil))
	w := startWatch(t, s, Prefix, storage.WatchOptions{Recursive: true, SendInitialEvents: ptr(false)})
	y := create(t, s, ConfigMap("a", "y", "1", nil))
	want := []event{{Type: watch.Added, Name: "a/y", V: "1", RV: y.ResourceVersion}}
	if diff := cmp.Diff(want, nextN(t, w, 1, false)); diff != "" {
		t.Errorf("first event (-want +got):\n%s", diff)
	}
}

func testWatchPredicate(t *testing.T, s storage.Store) {
	rev, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sel := labels.SelectorFromSet(labels.Set{"app": "web"})
	w := startWatch(t, s, Prefix, storage.WatchOptions{ResourceVersion: strconv.FormatInt(rev, 10), Recursive: true, Predicate: storage.Predicate{Label: sel}})
	web := map[string]string{"app": "web"}
	other := map[string]string{"app": "db"}
	create(t, s, ConfigMap("a", "x", "1", other))                         // not seen
	rvAdd := set(t, s, "a", "x", "2", web).ResourceVersion                // starts matching: ADDED
	rvMod := set(t, s, "a", "x", "3", web).ResourceVersion                // MODIFIED
	rvGone := set(t, s, "a", "x", "4", other).ResourceVersion             // stops matching: DELETED with the old state
	set(t, s, "a", "x", "5", other)                                       // not seen
	del(t, s, "a", "x")                                                   // not seen
	rvLast := create(t, s, ConfigMap("a", "z", "1", web)).ResourceVersion // ADDED
	want := []event{
		{Type: watch.Added, Name: "a/x", V: "2", RV: rvAdd},
		{Type: watch.Modified, Name: "a/x", V: "3", RV: rvMod},
		{Type: watch.Deleted, Name: "a/x", V: "3", RV: rvGone},
		{Type: watch.Added, Name: "a/z", V: "1", RV: rvLast},
	}
	if diff := cmp.Diff(want, nextN(t, w, 4, false)); diff != "" {
		t.Errorf("filtered events (-want +got):\n%s", diff)
	}
}

func testWatchSingleKey(t *testing.T, s storage.Store) {
	rv := create(t, s, ConfigMap("a", "x", "1", nil)).ResourceVersion
	create(t, s, ConfigMap("a", "xy", "1", nil))
	w := startWatch(t, s, Key("a", "x"), storage.WatchOptions{ResourceVersion: rv})
	set(t, s, "a", "xy", "2", nil)
	rv2 := set(t, s, "a", "x", "2", nil).ResourceVersion
	want := []event{{Type: watch.Modified, Name: "a/x", V: "2", RV: rv2}}
	if diff := cmp.Diff(want, nextN(t, w, 1, false)); diff != "" {
		t.Errorf("single key events (-want +got):\n%s", diff)
	}
}

func testWatchStop(t *testing.T, s storage.Store) {
	w := startWatch(t, s, Prefix, storage.WatchOptions{Recursive: true})
	w.Stop()
	waitClosed(t, w)
	w.Stop() // a second Stop is harmless

	ctx, cancel := context.WithCancel(t.Context())
	w2, err := s.Watch(ctx, Prefix, storage.WatchOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	cancel()
	waitClosed(t, w2)
}

func testWatchMany(t *testing.T, s storage.Store) {
	rev, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ws []watch.Interface
	for range 20 {
		ws = append(ws, startWatch(t, s, Prefix, storage.WatchOptions{ResourceVersion: strconv.FormatInt(rev, 10), Recursive: true}))
	}
	var want []event
	for i := range 5 {
		name := "o" + strconv.Itoa(i)
		want = append(want, event{Type: watch.Added, Name: "a/" + name, V: "1", RV: create(t, s, ConfigMap("a", name, "1", nil)).ResourceVersion})
	}
	for i, w := range ws {
		if diff := cmp.Diff(want, nextN(t, w, len(want), false)); diff != "" {
			t.Errorf("watcher %d (-want +got):\n%s", i, diff)
		}
	}
}

// expireWrites is how many writes testWatchExpired makes before compacting;
// stores that keep a window of recent events must keep fewer in tests.
const expireWrites = 50

func testWatchExpired(t *testing.T, s storage.Store) {
	rv := create(t, s, ConfigMap("a", "x", "0", nil)).ResourceVersion
	var last string
	for i := range expireWrites {
		last = set(t, s, "a", "x", strconv.Itoa(i+1), nil).ResourceVersion
	}
	if err := s.(Compactor).Compact(t.Context(), rvInt(t, last)); err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(t.Context(), Prefix, storage.WatchOptions{ResourceVersion: rv, Recursive: true})
	if err != nil {
		wantErr(t, "watch from a compacted revision", err, storage.ErrCompacted)
		return
	}
	defer w.Stop()
	ev := next(t, w)
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok {
		t.Fatalf("got %s %T, want an ERROR event with a Status", ev.Type, ev.Object)
	}
	if st.Code != http.StatusGone || st.Reason != metav1.StatusReasonExpired {
		t.Errorf("status code %d reason %s, want 410 Expired", st.Code, st.Reason)
	}
	if want := "too old resource version: " + rv; len(st.Message) < len(want) || st.Message[:len(want)] != want {
		t.Errorf("status message %q, want prefix %q", st.Message, want)
	}
	waitClosed(t, w)
}
