package scheduler

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// bindServer answers every request with 201 and records what it got.
type bindServer struct {
	mu   sync.Mutex
	reqs []string
	body []v1.Binding
}

func (s *bindServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	var b v1.Binding
	_ = json.Unmarshal(data, &b)
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.String()+" "+r.Header.Get("Content-Type"))
	s.body = append(s.body, b)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
}

func bindClient(t testing.TB, url string) kubernetes.Interface {
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: url, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestBinderRequest: the binder's direct request is the one the typed
// client's Bind makes (upstream's POST pods/binding).
func TestBinderRequest(t *testing.T) {
	srv := &bindServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cs := bindClient(t, ts.URL)
	b := newBinder(cs)
	if b.rest == nil {
		t.Fatal("a real clientset's REST client is not used")
	}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1"}}
	if st := b.Bind(context.Background(), nil, pod, "n1"); !st.IsSuccess() {
		t.Fatal(st.AsError())
	}
	typed := &v1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1"}, Target: v1.ObjectReference{Kind: "Node", Name: "n1"}}
	if err := cs.CoreV1().Pods("ns").Bind(context.Background(), typed, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(srv.reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(srv.reqs))
	}
	if srv.reqs[0] != "POST /api/v1/namespaces/ns/pods/p/binding application/json" {
		t.Errorf("request %q", srv.reqs[0])
	}
	if diff := cmp.Diff(srv.reqs[1], srv.reqs[0]); diff != "" {
		t.Errorf("request differs from the typed client's (-typed +binder):\n%s", diff)
	}
	if diff := cmp.Diff(srv.body[1], srv.body[0]); diff != "" {
		t.Errorf("body differs from the typed client's (-typed +binder):\n%s", diff)
	}
}

// BenchmarkBind compares the binder's request with the typed client's.
func BenchmarkBind(b *testing.B) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
	}))
	defer ts.Close()
	cs := bindClient(b, ts.URL)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1"}}
	b.Run("binder", func(b *testing.B) {
		bd := newBinder(cs)
		b.ReportAllocs()
		for b.Loop() {
			bd.Bind(context.Background(), nil, pod, "n1")
		}
	})
	b.Run("typed", func(b *testing.B) {
		bd := &binder{client: cs}
		b.ReportAllocs()
		for b.Loop() {
			bd.Bind(context.Background(), nil, pod, "n1")
		}
	})
}
