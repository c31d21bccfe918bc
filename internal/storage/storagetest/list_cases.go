package storagetest

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/storage"
)

var listCases = []testCase{
	{name: "ListAll", run: testListAll},
	{name: "ListSingleKey", run: testListSingleKey},
	{name: "ListPredicate", run: testListPredicate},
	{name: "ListPaginated", run: testListPaginated},
	{name: "ListPaginatedFiltered", run: testListPaginatedFiltered},
	{name: "ListResourceVersions", run: testListResourceVersions},
	{name: "ListInvalidContinue", run: testListInvalidContinue},
	{name: "ListCompacted", run: testListCompacted, compacts: true},
}

// seed creates ns/name for each name, labelled with parity=even|odd by
// position, and returns the last write's revision.
func seed(t *testing.T, s storage.Store, ns string, names ...string) int64 {
	t.Helper()
	var last *corev1.ConfigMap
	for i, n := range names {
		parity := "even"
		if i%2 == 1 {
			parity = "odd"
		}
		last = create(t, s, ConfigMap(ns, n, strconv.Itoa(i), map[string]string{"parity": parity}))
	}
	return rvInt(t, last.ResourceVersion)
}

func list(t *testing.T, s storage.Store, opts storage.ListOptions) storage.ListResult {
	t.Helper()
	opts.Recursive = true
	res, err := s.List(ctxTimeout(t), Prefix, opts)
	if err != nil {
		t.Fatalf("list %+v: %v", opts, err)
	}
	return res
}

func testListAll(t *testing.T, s storage.Store) {
	seed(t, s, "b", "y", "x")
	rev := seed(t, s, "a", "z", "w")
	res := list(t, s, storage.ListOptions{})
	want := []string{"a/w", "a/z", "b/x", "b/y"}
	if diff := cmp.Diff(want, names(res.Items)); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if res.ResourceVersion < rev {
		t.Errorf("list resourceVersion %d, want at least %d", res.ResourceVersion, rev)
	}
	if res.Continue != "" || res.RemainingItemCount != nil {
		t.Errorf("unpaged list has continue %q, remaining %v", res.Continue, res.RemainingItemCount)
	}
	for _, rv := range []string{"0", ""} {
		res := list(t, s, storage.ListOptions{ResourceVersion: rv, Limit: 1000})
		if diff := cmp.Diff(want, names(res.Items)); diff != "" {
			t.Errorf("list at %q (-want +got):\n%s", rv, diff)
		}
	}
	res, err := s.List(t.Context(), "/registry/none/", storage.ListOptions{Recursive: true})
	if err != nil || len(res.Items) != 0 {
		t.Errorf("list of an empty prefix: %d items, error %v", len(res.Items), err)
	}
}

func testListSingleKey(t *testing.T, s storage.Store) {
	seed(t, s, "a", "x", "xy")
	res, err := s.List(t.Context(), Key("a", "x"), storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a/x"}, names(res.Items)); diff != "" {
		t.Errorf("list of one key (-want +got):\n%s", diff)
	}
}

func testListPredicate(t *testing.T, s storage.Store) {
	seed(t, s, "a", "p0", "p1", "p2", "p3")
	tests := []struct {
		name string
		sel  string
		want []string
	}{
		{name: "even", sel: "parity=even", want: []string{"a/p0", "a/p2"}},
		{name: "odd", sel: "parity!=even", want: []string{"a/p1", "a/p3"}},
		{name: "none", sel: "parity=none", want: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := labels.Parse(tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			res := list(t, s, storage.ListOptions{Predicate: storage.Predicate{Label: sel}})
			if diff := cmp.Diff(tc.want, names(res.Items)); diff != "" {
				t.Errorf("list %s (-want +got):\n%s", tc.sel, diff)
			}
		})
	}
}

func testListPaginated(t *testing.T, s storage.Store) {
	var all []string
	for i := range 7 {
		all = append(all, fmt.Sprintf("o%d", i))
	}
	seed(t, s, "a", all...)
	first := list(t, s, storage.ListOptions{Limit: 3})
	if diff := cmp.Diff([]string{"a/o0", "a/o1", "a/o2"}, names(first.Items)); diff != "" {
		t.Errorf("page 1 (-want +got):\n%s", diff)
	}
	if first.Continue == "" {
		t.Fatal("page 1 has no continue token")
	}
	if first.RemainingItemCount == nil || *first.RemainingItemCount != 4 {
		t.Errorf("page 1 remainingItemCount = %v, want 4", first.RemainingItemCount)
	}
	// Changes after the first page must not show in later pages.
	create(t, s, ConfigMap("a", "o3a", "new", nil))
	del(t, s, "a", "o6")

	var got []string
	res := first
	for pages := 1; res.Continue != ""; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		got = append(got, names(res.Items)...)
		next := list(t, s, storage.ListOptions{Limit: 3, Continue: res.Continue})
		if next.ResourceVersion != first.ResourceVersion {
			t.Errorf("page %d at resourceVersion %d, want %d", pages+1, next.ResourceVersion, first.ResourceVersion)
		}
		res = next
	}
	got = append(got, names(res.Items)...)
	want := []string{"a/o0", "a/o1", "a/o2", "a/o3", "a/o4", "a/o5", "a/o6"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("all pages (-want +got):\n%s", diff)
	}
	if res.RemainingItemCount != nil {
		t.Errorf("last page remainingItemCount = %d, want unset", *res.RemainingItemCount)
	}
}

func testListPaginatedFiltered(t *testing.T, s storage.Store) {
	var all []string
	for i := range 9 {
		all = append(all, fmt.Sprintf("o%d", i))
	}
	seed(t, s, "a", all...)
	sel := labels.SelectorFromSet(labels.Set{"parity": "odd"})
	var got []string
	opts := storage.ListOptions{Limit: 2, Predicate: storage.Predicate{Label: sel}}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		res := list(t, s, opts)
		if len(res.Items) > 2 {
			t.Errorf("page of %d items, limit 2", len(res.Items))
		}
		got = append(got, names(res.Items)...)
		if res.Continue == "" {
			break
		}
		if pages == 0 && len(res.Items) != 2 {
			t.Errorf("first page has %d items, want the limit 2", len(res.Items))
		}
		opts.Continue = res.Continue
	}
	want := []string{"a/o1", "a/o3", "a/o5", "a/o7"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("filtered pages (-want +got):\n%s", diff)
	}
}

func testListResourceVersions(t *testing.T, s storage.Store) {
	rv1 := rvInt(t, create(t, s, ConfigMap("a", "x", "1", nil)).ResourceVersion)
	rv2 := rvInt(t, set(t, s, "a", "x", "2", nil).ResourceVersion)
	data := func(res storage.ListResult) string {
		if len(res.Items) != 1 {
			t.Fatalf("got %d items, want 1", len(res.Items))
		}
		return res.Items[0].(*corev1.ConfigMap).Data["v"]
	}
	// A list at revision r shows v "1" if r < rv2, else "2".
	tests := []struct {
		name  string
		opts  storage.ListOptions
		minRV int64
		maxRV int64 // 0: no upper bound
	}{
		{name: "exact old", opts: storage.ListOptions{ResourceVersion: strconv.FormatInt(rv1, 10), Match: storage.MatchExact}, minRV: rv1, maxRV: rv1},
		{name: "exact old paged", opts: storage.ListOptions{ResourceVersion: strconv.FormatInt(rv1, 10), Match: storage.MatchExact, Limit: 5}, minRV: rv1, maxRV: rv1},
		{name: "legacy paged at rv is exact", opts: storage.ListOptions{ResourceVersion: strconv.FormatInt(rv1, 10), Limit: 5}, minRV: rv1, maxRV: rv1},
		{name: "not older than old", opts: storage.ListOptions{ResourceVersion: strconv.FormatInt(rv1, 10), Match: storage.MatchNotOlderThan}, minRV: rv1},
		{name: "not older than, no match", opts: storage.ListOptions{ResourceVersion: strconv.FormatInt(rv1, 10)}, minRV: rv1},
		{name: "not older than new", opts: storage.ListOptions{ResourceVersion: strconv.FormatInt(rv2, 10)}, minRV: rv2},
		{name: "consistent", opts: storage.ListOptions{}, minRV: rv2},
		{name: "consistent paged", opts: storage.ListOptions{Limit: 5}, minRV: rv2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := list(t, s, tc.opts)
			if res.ResourceVersion < tc.minRV || tc.maxRV != 0 && res.ResourceVersion > tc.maxRV {
				t.Errorf("list resourceVersion %d, want in [%d, %d]", res.ResourceVersion, tc.minRV, tc.maxRV)
			}
			want := "1"
			if res.ResourceVersion >= rv2 {
				want = "2"
			}
			if got := data(res); got != want {
				t.Errorf("data %q at resourceVersion %d, want %q", got, res.ResourceVersion, want)
			}
		})
	}
	_, err := s.List(ctxTimeout(t), Prefix, storage.ListOptions{Recursive: true, ResourceVersion: strconv.FormatInt(rv2+1000, 10)})
	wantErr(t, "list from the future", err, storage.ErrTooLarge)
}

func testListInvalidContinue(t *testing.T, s storage.Store) {
	seed(t, s, "a", "x")
	b64 := base64.RawURLEncoding.EncodeToString
	for _, tok := range []string{
		"%%%",
		b64([]byte(`{}`)),
		b64([]byte(`{"v":"meta.k8s.io/v1","rv":0,"start":"a/x"}`)),
		b64([]byte(`{"v":"meta.k8s.io/v1","rv":1,"start":"a/./x"}`)),
	} {
		_, err := s.List(t.Context(), Prefix, storage.ListOptions{Recursive: true, Limit: 1, Continue: tok})
		wantErr(t, "list with continue "+tok, err, storage.ErrInvalidContinue)
	}
}

func testListCompacted(t *testing.T, s storage.Store) {
	seed(t, s, "a", "x", "y", "z")
	first := list(t, s, storage.ListOptions{Limit: 1})
	rv := rvInt(t, set(t, s, "a", "x", "2", nil).ResourceVersion)
	if err := s.(Compactor).Compact(t.Context(), rv); err != nil {
		t.Fatal(err)
	}
	_, err := s.List(t.Context(), Prefix, storage.ListOptions{Recursive: true, Limit: 1, Continue: first.Continue})
	wantErr(t, "continue after compaction", err, storage.ErrCompacted)
	_, err = s.List(t.Context(), Prefix, storage.ListOptions{Recursive: true, ResourceVersion: strconv.FormatInt(first.ResourceVersion, 10), Match: storage.MatchExact})
	wantErr(t, "exact list at a compacted revision", err, storage.ErrCompacted)
}
