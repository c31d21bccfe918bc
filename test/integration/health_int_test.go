//go:build integration

package integration

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHealthAndMetrics checks /readyz?verbose lists each check as upstream
// does and /metrics speaks Prometheus with upstream's request metrics.
func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	ctx := ctxT(t)
	rc := c.CoreV1().RESTClient()
	ready, err := rc.Get().AbsPath("/readyz").Param("verbose", "").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[+]ping ok", "[+]etcd ok", "readyz check passed"} {
		if !strings.Contains(string(ready), want) {
			t.Errorf("/readyz?verbose lacks %q:\n%s", want, ready)
		}
	}
	if _, err := c.CoreV1().Namespaces().List(ctx, metavOpts()); err != nil {
		t.Fatal(err)
	}
	metrics, err := rc.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# TYPE apiserver_request_total counter",
		`apiserver_request_total{code="200",group="",resource="namespaces",subresource="",verb="LIST",version="v1"}`,
		"# TYPE apiserver_request_duration_seconds histogram",
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func metavOpts() metav1.ListOptions { return metav1.ListOptions{} }
