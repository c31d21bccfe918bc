package controller

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

// recorder notes which controllers were built and run.
type recorder struct {
	mu    sync.Mutex
	built []string
	ran   []string
	infs  []cache.SharedIndexInformer
}

func (r *recorder) descriptor(name string, buildErr error) Descriptor {
	return Descriptor{Name: name, New: func(c Context) (RunFunc, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.built = append(r.built, name)
		if buildErr != nil {
			return nil, buildErr
		}
		r.infs = append(r.infs, c.Informers.Core().V1().Namespaces().Informer())
		return func(ctx context.Context) {
			r.mu.Lock()
			r.ran = append(r.ran, name)
			r.mu.Unlock()
			<-ctx.Done()
		}, nil
	}}
}

func TestNewManager(t *testing.T) {
	r := &recorder{}
	for _, tc := range []struct {
		name        string
		controllers []Descriptor
		disabled    []string
		wantEnabled []string
		wantErr     error
	}{
		{"all", []Descriptor{r.descriptor("a", nil), r.descriptor("b", nil)}, nil, []string{"a", "b"}, nil},
		{"one disabled", []Descriptor{r.descriptor("a", nil), r.descriptor("b", nil)}, []string{"a"}, []string{"b"}, nil},
		{"unknown name", []Descriptor{r.descriptor("a", nil)}, []string{"nope"}, nil, ErrUnknownController},
		{"duplicate", []Descriptor{r.descriptor("a", nil), r.descriptor("a", nil)}, nil, nil, errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewManager(ManagerConfig{Controllers: tc.controllers, Disabled: tc.disabled, Client: fake.NewClientset()})
			switch {
			case tc.wantErr == errAny && err != nil:
				return
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantEnabled, m.Enabled()); diff != "" {
				t.Errorf("enabled (-want +got):\n%s", diff)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestManagerRun(t *testing.T) {
	r := &recorder{}
	m, err := NewManager(ManagerConfig{
		Controllers: []Descriptor{r.descriptor("a", nil), r.descriptor("b", nil), r.descriptor("c", nil)},
		Disabled:    []string{"b"},
		Client:      fake.NewClientset(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-t.Context().Done():
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if diff := cmp.Diff([]string{"a", "c"}, r.built); diff != "" {
		t.Errorf("built (-want +got):\n%s", diff)
	}
	if len(r.ran) != 2 {
		t.Errorf("ran %v, want a and c (each RunFunc is awaited)", r.ran)
	}
	// client-go wraps the shared informer anew on each call: compare caches.
	if len(r.infs) != 2 || r.infs[0].GetIndexer() != r.infs[1].GetIndexer() {
		t.Errorf("controllers got different namespace informers; the factory must be shared")
	}
}

func TestManagerRunBuildError(t *testing.T) {
	r := &recorder{}
	bad := errors.New("bad config")
	m, err := NewManager(ManagerConfig{
		Controllers: []Descriptor{r.descriptor("a", nil), r.descriptor("b", bad)},
		Client:      fake.NewClientset(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); !errors.Is(err, bad) {
		t.Fatalf("Run err = %v, want %v", err, bad)
	}
	if len(r.ran) != 0 {
		t.Errorf("ran %v, want nothing started", r.ran)
	}
}
