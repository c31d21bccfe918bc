package storagetest

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/storage"
)

var crudCases = []testCase{
	{name: "CreateGet", run: testCreateGet},
	{name: "GetResourceVersion", run: testGetResourceVersion},
	{name: "UpdateChangesObject", run: testUpdate},
	{name: "UpdateNoopWritesNothing", run: testUpdateNoop},
	{name: "UpdatePreconditions", run: testUpdatePreconditions},
	{name: "UpdateRetriesOnRace", run: testUpdateRace},
	{name: "UpdateConcurrent", run: testUpdateConcurrent},
	{name: "Delete", run: testDelete},
	{name: "DeletePreconditionsAndValidation", run: testDeletePreconditions},
	{name: "CurrentRevision", run: testCurrentRevision},
}

func testCreateGet(t *testing.T, s storage.Store) {
	ctx := t.Context()
	in := ConfigMap("ns", "a", "1", map[string]string{"app": "x"})
	out := create(t, s, in)
	if in.ResourceVersion != "" {
		t.Errorf("Create modified its input: resourceVersion %q", in.ResourceVersion)
	}
	rv := rvOf(t, out)
	got, err := s.Get(ctx, Key("ns", "a"), storage.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if diff := cmp.Diff(out, got); diff != "" {
		t.Errorf("get after create (-want +got):\n%s", diff)
	}
	got0, err := s.Get(ctx, Key("ns", "a"), storage.GetOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatalf("get at 0: %v", err)
	}
	if rvOf(t, got0) != rv {
		t.Errorf("get at 0: resourceVersion %s, want %s", rvOf(t, got0), rv)
	}

	_, err = s.Create(ctx, Key("ns", "a"), ConfigMap("ns", "a", "2", nil))
	wantErr(t, "create again", err, storage.ErrAlreadyExists)

	_, err = s.Get(ctx, Key("ns", "missing"), storage.GetOptions{})
	wantErr(t, "get missing", err, storage.ErrNotFound)
	if _, err := s.Get(ctx, Key("ns", "missing"), storage.GetOptions{IgnoreNotFound: true}); err != nil {
		t.Errorf("get missing with IgnoreNotFound: %v", err)
	}
}

func testGetResourceVersion(t *testing.T, s storage.Store) {
	out := create(t, s, ConfigMap("ns", "a", "1", nil))
	rv := rvInt(t, rvOf(t, out))
	got, err := s.Get(t.Context(), Key("ns", "a"), storage.GetOptions{ResourceVersion: strconv.FormatInt(rv, 10)})
	if err != nil {
		t.Fatalf("get at %d: %v", rv, err)
	}
	if rvOf(t, got) != rvOf(t, out) {
		t.Errorf("get at %d: resourceVersion %s", rv, rvOf(t, got))
	}
	_, err = s.Get(ctxTimeout(t), Key("ns", "a"), storage.GetOptions{ResourceVersion: strconv.FormatInt(rv+1000, 10)})
	wantErr(t, "get from the future", err, storage.ErrTooLarge)
}

func testUpdate(t *testing.T, s storage.Store) {
	before := create(t, s, ConfigMap("ns", "a", "1", nil))
	after := set(t, s, "ns", "a", "2", nil)
	if rvInt(t, after.ResourceVersion) <= rvInt(t, before.ResourceVersion) {
		t.Errorf("resourceVersion went from %s to %s", before.ResourceVersion, after.ResourceVersion)
	}
	got, err := s.Get(t.Context(), Key("ns", "a"), storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(runtime.Object(after), got); diff != "" {
		t.Errorf("get after update (-want +got):\n%s", diff)
	}
	_, err = s.GuaranteedUpdate(t.Context(), Key("ns", "missing"), nil, func(cur runtime.Object) (runtime.Object, error) { return cur, nil })
	wantErr(t, "update missing", err, storage.ErrNotFound)
	errVeto := errors.New("veto")
	_, err = s.GuaranteedUpdate(t.Context(), Key("ns", "a"), nil, func(runtime.Object) (runtime.Object, error) { return nil, errVeto })
	wantErr(t, "update vetoed", err, errVeto)
}

func testUpdateNoop(t *testing.T, s storage.Store) {
	before := create(t, s, ConfigMap("ns", "a", "1", nil))
	revBefore, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.GuaranteedUpdate(t.Context(), Key("ns", "a"), nil, func(cur runtime.Object) (runtime.Object, error) {
		return cur.DeepCopyObject(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := rvOf(t, out); got != before.ResourceVersion {
		t.Errorf("no-op update: resourceVersion %s, want %s", got, before.ResourceVersion)
	}
	revAfter, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if revAfter != revBefore {
		t.Errorf("no-op update moved the revision from %d to %d", revBefore, revAfter)
	}
}

func testUpdatePreconditions(t *testing.T, s storage.Store) {
	cur := create(t, s, ConfigMap("ns", "a", "1", nil))
	badRV, badUID := "1", types.UID("other")
	goodRV, goodUID := cur.ResourceVersion, cur.UID
	tests := []struct {
		name string
		pre  storage.Preconditions
		want error
	}{
		{name: "wrong resourceVersion", pre: storage.Preconditions{ResourceVersion: &badRV}, want: storage.ErrConflict},
		{name: "wrong uid", pre: storage.Preconditions{UID: &badUID}, want: storage.ErrConflict},
		{name: "matching", pre: storage.Preconditions{UID: &goodUID, ResourceVersion: &goodRV}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.GuaranteedUpdate(t.Context(), Key("ns", "a"), &tc.pre, func(cur runtime.Object) (runtime.Object, error) {
				cm := cur.(*corev1.ConfigMap).DeepCopy()
				cm.Data["v"] = tc.name
				return cm, nil
			})
			if tc.want == nil && err != nil {
				t.Fatalf("got %v, want success", err)
			}
			if tc.want != nil {
				wantErr(t, "update", err, tc.want)
			}
		})
	}
}

func testUpdateRace(t *testing.T, s storage.Store) {
	create(t, s, ConfigMap("ns", "a", "1", nil))
	calls := 0
	out, err := s.GuaranteedUpdate(t.Context(), Key("ns", "a"), nil, func(cur runtime.Object) (runtime.Object, error) {
		calls++
		if calls == 1 {
			set(t, s, "ns", "a", "2", nil) // a competing writer wins the race
		}
		cm := cur.(*corev1.ConfigMap).DeepCopy()
		cm.Data["v"] += "+x"
		return cm, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("tryUpdate called %d times, want 2", calls)
	}
	if got := out.(*corev1.ConfigMap).Data["v"]; got != "2+x" {
		t.Errorf("data after race = %q, want %q", got, "2+x")
	}
}

func testUpdateConcurrent(t *testing.T, s storage.Store) {
	create(t, s, ConfigMap("ns", "a", "0", nil))
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.GuaranteedUpdate(t.Context(), Key("ns", "a"), nil, func(cur runtime.Object) (runtime.Object, error) {
				cm := cur.(*corev1.ConfigMap).DeepCopy()
				v, _ := strconv.Atoi(cm.Data["v"]) // written by this test only
				cm.Data["v"] = strconv.Itoa(v + 1)
				return cm, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(t.Context(), Key("ns", "a"), storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v := got.(*corev1.ConfigMap).Data["v"]; v != strconv.Itoa(n) {
		t.Errorf("counter = %s, want %d", v, n)
	}
}

func testDelete(t *testing.T, s storage.Store) {
	create(t, s, ConfigMap("ns", "a", "1", nil))
	cur := set(t, s, "ns", "a", "2", nil)
	out := del(t, s, "ns", "a")
	if out.Data["v"] != "2" {
		t.Errorf("deleted object has data %q, want the last state %q", out.Data["v"], "2")
	}
	if rvInt(t, out.ResourceVersion) <= rvInt(t, cur.ResourceVersion) {
		t.Errorf("deleted object resourceVersion %s, want the deletion revision (> %s)", out.ResourceVersion, cur.ResourceVersion)
	}
	rev, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if strconv.FormatInt(rev, 10) != out.ResourceVersion {
		t.Errorf("deleted object resourceVersion %s, want the current revision %d", out.ResourceVersion, rev)
	}
	_, err = s.Get(t.Context(), Key("ns", "a"), storage.GetOptions{})
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	_, err = s.Delete(t.Context(), Key("ns", "a"), nil, nil)
	wantErr(t, "delete again", err, storage.ErrNotFound)
}

func testDeletePreconditions(t *testing.T, s storage.Store) {
	cur := create(t, s, ConfigMap("ns", "a", "1", nil))
	badRV, badUID := "1", types.UID("other")
	_, err := s.Delete(t.Context(), Key("ns", "a"), &storage.Preconditions{ResourceVersion: &badRV}, nil)
	wantErr(t, "delete with wrong resourceVersion", err, storage.ErrConflict)
	_, err = s.Delete(t.Context(), Key("ns", "a"), &storage.Preconditions{UID: &badUID}, nil)
	wantErr(t, "delete with wrong uid", err, storage.ErrConflict)
	errVeto := errors.New("veto")
	_, err = s.Delete(t.Context(), Key("ns", "a"), nil, func(runtime.Object) error { return errVeto })
	wantErr(t, "delete vetoed", err, errVeto)
	if _, err := s.Get(t.Context(), Key("ns", "a"), storage.GetOptions{}); err != nil {
		t.Fatalf("object gone after failed deletes: %v", err)
	}
	rv, uid := cur.ResourceVersion, cur.UID
	if _, err := s.Delete(t.Context(), Key("ns", "a"), &storage.Preconditions{ResourceVersion: &rv, UID: &uid}, func(runtime.Object) error { return nil }); err != nil {
		t.Fatalf("delete with matching preconditions: %v", err)
	}
}

func testCurrentRevision(t *testing.T, s storage.Store) {
	out := create(t, s, ConfigMap("ns", "a", "1", nil))
	rev, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if strconv.FormatInt(rev, 10) != out.ResourceVersion {
		t.Errorf("current revision %d, want the last write's %s", rev, out.ResourceVersion)
	}
}
