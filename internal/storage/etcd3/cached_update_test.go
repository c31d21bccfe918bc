package etcd3_test

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/storage"
	"github.com/skiff/skiff/internal/storage/etcd3"
	"github.com/skiff/skiff/internal/storage/storagetest"
)

// staleCopy stores a ConfigMap, keeps a copy of that version (as a lagging
// watch cache would hold it) and then changes it behind the copy's back.
func staleCopy(t *testing.T, s *etcd3.Store) (stale, current *corev1.ConfigMap) {
	t.Helper()
	key := storagetest.Key("ns", "a")
	out, err := s.Create(t.Context(), key, storagetest.ConfigMap("ns", "a", "1", nil))
	if err != nil {
		t.Fatal(err)
	}
	stale = out.(*corev1.ConfigMap).DeepCopy()
	out, err = s.GuaranteedUpdate(t.Context(), key, nil, func(cur runtime.Object) (runtime.Object, error) {
		cm := cur.(*corev1.ConfigMap).DeepCopy()
		cm.Data = map[string]string{"v": "2"}
		return cm, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return stale, out.(*corev1.ConfigMap)
}

func TestGuaranteedUpdateFromStaleCopy(t *testing.T) {
	cli := storagetest.StartEtcd(t)
	key := storagetest.Key("ns", "a")
	errVeto := errors.New("veto")

	t.Run("the write lands on the current object", func(t *testing.T) {
		s := etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap)
		stale, current := staleCopy(t, s)
		var seen []string
		out, err := s.GuaranteedUpdateFrom(t.Context(), key, nil, func(cur runtime.Object) (runtime.Object, error) {
			cm := cur.(*corev1.ConfigMap).DeepCopy()
			seen = append(seen, cm.Data["v"])
			cm.Data["w"] = "x"
			return cm, nil
		}, stale)
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*corev1.ConfigMap)
		if got.Data["v"] != "2" || got.Data["w"] != "x" || len(seen) != 2 || seen[0] != "1" || seen[1] != "2" {
			t.Errorf("tries saw %v, result %v; want a try on the stale copy, then one on v=2, result with both", seen, got.Data)
		}
		if got.ResourceVersion == current.ResourceVersion {
			t.Errorf("resourceVersion %s did not move", got.ResourceVersion)
		}
		del(t, s)
	})

	t.Run("a precondition failing only on the stale copy holds", func(t *testing.T) {
		s := etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap)
		stale, current := staleCopy(t, s)
		rv := current.ResourceVersion
		_, err := s.GuaranteedUpdateFrom(t.Context(), key, &storage.Preconditions{ResourceVersion: &rv}, func(cur runtime.Object) (runtime.Object, error) {
			cm := cur.(*corev1.ConfigMap).DeepCopy()
			cm.Data["w"] = "x"
			return cm, nil
		}, stale)
		if err != nil {
			t.Errorf("precondition on the current version: %v", err)
		}
		del(t, s)
	})

	t.Run("an error from the stale copy is checked against etcd", func(t *testing.T) {
		s := etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap)
		stale, _ := staleCopy(t, s)
		veto := func(cur runtime.Object) (runtime.Object, error) {
			if cur.(*corev1.ConfigMap).Data["v"] == "1" {
				return nil, errVeto
			}
			return cur, nil
		}
		out, err := s.GuaranteedUpdateFrom(t.Context(), key, nil, veto, stale)
		if err != nil || out.(*corev1.ConfigMap).Data["v"] != "2" {
			t.Errorf("got %v, %v; want the current object unchanged", out, err)
		}
		del(t, s)
	})

	t.Run("an error on a current copy is returned", func(t *testing.T) {
		s := etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap)
		_, current := staleCopy(t, s)
		_, err := s.GuaranteedUpdateFrom(t.Context(), key, nil, func(runtime.Object) (runtime.Object, error) { return nil, errVeto }, current)
		if !errors.Is(err, errVeto) {
			t.Errorf("got %v, want the veto", err)
		}
		del(t, s)
	})

	t.Run("a no-op on the stale copy does not hide the current object", func(t *testing.T) {
		s := etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap)
		stale, current := staleCopy(t, s)
		// Setting v=1 is a no-op on the stale copy but a change on etcd's.
		out, err := s.GuaranteedUpdateFrom(t.Context(), key, nil, func(cur runtime.Object) (runtime.Object, error) {
			cm := cur.(*corev1.ConfigMap).DeepCopy()
			cm.Data["v"] = "1"
			return cm, nil
		}, stale)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(*corev1.ConfigMap); got.Data["v"] != "1" || got.ResourceVersion == current.ResourceVersion {
			t.Errorf("got v=%s at %s; want v=1 written after %s", got.Data["v"], got.ResourceVersion, current.ResourceVersion)
		}
		del(t, s)
	})

	t.Run("a no-op on a current copy writes nothing", func(t *testing.T) {
		s := etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap)
		_, current := staleCopy(t, s)
		out, err := s.GuaranteedUpdateFrom(t.Context(), key, nil, func(cur runtime.Object) (runtime.Object, error) {
			return cur.(*corev1.ConfigMap).DeepCopy(), nil
		}, current.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		if rv := out.(*corev1.ConfigMap).ResourceVersion; rv != current.ResourceVersion {
			t.Errorf("resourceVersion %s, want %s unchanged", rv, current.ResourceVersion)
		}
		del(t, s)
	})

	t.Run("a copy of a deleted object gives not found", func(t *testing.T) {
		s := etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap)
		stale, _ := staleCopy(t, s)
		del(t, s)
		_, err := s.GuaranteedUpdateFrom(t.Context(), key, nil, func(cur runtime.Object) (runtime.Object, error) {
			cm := cur.(*corev1.ConfigMap).DeepCopy()
			cm.Data["w"] = "x"
			return cm, nil
		}, stale)
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("got %v, want not found", err)
		}
	})
}

func del(t *testing.T, s *etcd3.Store) {
	t.Helper()
	if _, err := s.Delete(t.Context(), storagetest.Key("ns", "a"), nil, nil); err != nil {
		t.Fatal(err)
	}
}
