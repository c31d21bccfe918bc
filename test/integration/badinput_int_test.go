//go:build integration

package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// snapshot is what a namespace holds: every config map's name,
// resourceVersion and data.
func snapshot(t *testing.T, c kubernetes.Interface, ns string) []string {
	t.Helper()
	list, err := c.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list configmaps: %v", err)
	}
	var out []string
	for _, cm := range list.Items {
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k+"="+cm.Data[k])
		}
		sort.Strings(keys)
		out = append(out, fmt.Sprintf("%s rv=%s uid=%s data=%v", cm.Name, cm.ResourceVersion, cm.UID, keys))
	}
	return out
}

func cmJSON(name, extra string) string {
	return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `"}` + extra + `}`
}

// invalidMessage is upstream's message for an object whose metadata
// fails validation, built with the same apimachinery functions.
func invalidMessage(kind, ns, name string, nameFn apivalidation.ValidateNameFunc) string {
	errs := apivalidation.ValidateObjectMeta(&metav1.ObjectMeta{Name: name, Namespace: ns}, ns != "", nameFn, field.NewPath("metadata"))
	return apierrors.NewInvalid(schema.GroupKind{Kind: kind}, name, errs).Error()
}

// unrecognized is upstream's message for a body whose kind cannot be
// read: the decode error and the first 30 bytes of the body (hex unless it
// starts with "{").
func unrecognized(kind, decodeErr, body string) string {
	summary := body
	if len(summary) > 30 {
		summary = summary[:30]
	}
	if !strings.HasPrefix(body, "{") {
		summary = hex.EncodeToString([]byte(summary))
	}
	if len(body) > 30 {
		summary += " ..."
	}
	return fmt.Sprintf("the object provided is unrecognized (must be of type %s): %s (%s)", kind, decodeErr, summary)
}

// TestBadInput sends malformed, oversized, conflicting and unauthorised
// requests; each gets upstream's code, reason and message, and leaves what
// was stored unchanged.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s, c := startAPI(t)
	ctx := ctxT(t)
	const ns = "bad"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	first := mustCreateCM(t, c, ns, "x", "1")
	mustUpdateCM(t, c, ns, "x", "2")
	stale := first.DeepCopy()
	stale.Data = map[string]string{"v": "stale"}

	rc := s.RESTConfig()
	r := newRaw(t, rc)
	const cms = "/api/v1/namespaces/" + ns + "/configmaps"
	big := strings.Repeat("a", 1024*1024) // with the key, just over 1 MiB of data
	huge := strings.Repeat("a", 3*1024*1024+1)
	const (
		malformedJSON = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"y"`
		truncatedJSON = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"y"},"data":{"a":"b`
		malformedYAML = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [y\n"
	)
	staleBody := func() string {
		return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"bad","resourceVersion":"` + first.ResourceVersion + `"},"data":{"v":"stale"}}`
	}

	for _, tc := range []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		code        int
		reason      metav1.StatusReason
		msg         string // exact, or a prefix ending in "*"
	}{
		{name: "malformed JSON", method: "POST", path: cms, contentType: "application/json",
			body: malformedJSON, code: 400, reason: metav1.StatusReasonBadRequest,
			msg: unrecognized("ConfigMap", "couldn't get version/kind; json parse error: unexpected end of JSON input", malformedJSON)},
		{name: "truncated JSON in a value", method: "POST", path: cms, contentType: "application/json",
			body: truncatedJSON, code: 400, reason: metav1.StatusReasonBadRequest,
			msg: unrecognized("ConfigMap", "couldn't get version/kind; json parse error: unexpected end of JSON input", truncatedJSON)},
		{name: "malformed YAML", method: "POST", path: cms, contentType: "application/yaml",
			body: malformedYAML, code: 400, reason: metav1.StatusReasonBadRequest,
			msg: unrecognized("ConfigMap", "yaml: line 4: did not find expected ',' or ']'", malformedYAML)},
		{name: "wrong JSON type", method: "POST", path: cms, contentType: "application/json",
			body: cmJSON("y", `,"data":5`), code: 400, reason: metav1.StatusReasonBadRequest,
			msg: `ConfigMap in version "v1" cannot be handled as a ConfigMap: *`},
		{name: "unknown field with Strict", method: "POST", path: cms + "?fieldValidation=Strict", contentType: "application/json",
			body: cmJSON("y", `,"spec":{"foo":1}`), code: 400, reason: metav1.StatusReasonBadRequest,
			msg: `ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "spec"`},
		{name: "unknown nested field with Strict", method: "POST", path: "/apis/apps/v1/namespaces/" + ns + "/deployments?fieldValidation=Strict", contentType: "application/json",
			body: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"foo":1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`,
			code: 400, reason: metav1.StatusReasonBadRequest,
			msg: `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"`},
		{name: "unsupported fieldValidation", method: "POST", path: cms + "?fieldValidation=Bogus", contentType: "application/json",
			body: cmJSON("y", ""), code: 400, reason: metav1.StatusReasonBadRequest,
			msg: "fieldValidation parameter unsupported: Bogus. Supported values: Ignore, Warn, Strict"},
		{name: "update with a stale resourceVersion", method: "PUT", path: cms + "/x", contentType: "application/json",
			body: staleBody(), code: 409, reason: metav1.StatusReasonConflict,
			msg: `Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again`},
		{name: "create of an existing name", method: "POST", path: cms, contentType: "application/json",
			body: cmJSON("x", `,"data":{"v":"dup"}`), code: 409, reason: metav1.StatusReasonAlreadyExists,
			msg: `configmaps "x" already exists`},
		{name: "request body over 3 MiB", method: "POST", path: cms, contentType: "application/json",
			body: cmJSON("huge", `,"data":{"v":"`+huge+`"}`), code: 413, reason: metav1.StatusReasonRequestEntityTooLarge,
			msg: "Request entity too large: limit is 3145728"},
		{name: "config map over 1 MiB", method: "POST", path: cms, contentType: "application/json",
			body: cmJSON("big", `,"data":{"v":"`+big+`"}`), code: 422, reason: metav1.StatusReasonInvalid,
			msg: `ConfigMap "big" is invalid: []: Too long: may not be more than 1048576 bytes`},
		{name: "invalid config map name", method: "POST", path: cms, contentType: "application/json",
			body: cmJSON("Bad_Name", ""), code: 422, reason: metav1.StatusReasonInvalid,
			msg: invalidMessage("ConfigMap", ns, "Bad_Name", apivalidation.NameIsDNSSubdomain)},
		{name: "invalid namespace name", method: "POST", path: "/api/v1/namespaces", contentType: "application/json",
			body: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"Bad.NS"}}`, code: 422, reason: metav1.StatusReasonInvalid,
			msg: invalidMessage("Namespace", "", "Bad.NS", apivalidation.ValidateNamespaceName)},
		{name: "namespace that does not exist", method: "POST", path: "/api/v1/namespaces/nope/configmaps", contentType: "application/json",
			body: cmJSON("y", ""), code: 404, reason: metav1.StatusReasonNotFound, msg: `namespaces "nope" not found`},
		{name: "namespace in the body differs", method: "POST", path: cms, contentType: "application/json",
			body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"y","namespace":"default"}}`, code: 400, reason: metav1.StatusReasonBadRequest,
			msg: "the namespace of the provided object does not match the namespace sent on the request"},
		{name: "kind in the body differs", method: "POST", path: cms, contentType: "application/json",
			body: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"y"}}`, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "unsupported media type", method: "POST", path: cms, contentType: "text/plain",
			body: cmJSON("y", ""), code: 415, reason: metav1.StatusReasonUnsupportedMediaType},
		{name: "malformed merge patch", method: "PATCH", path: cms + "/x", contentType: "application/merge-patch+json",
			body: `{"data":`, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "malformed JSON patch", method: "PATCH", path: cms + "/x", contentType: "application/json-patch+json",
			body: `[{"op":"replace","path":"/data/v"`, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad dryRun value", method: "POST", path: cms + "?dryRun=Some", contentType: "application/json",
			body: cmJSON("y", ""), code: 400, reason: metav1.StatusReasonBadRequest,
			msg: `Invalid dry run value: dryRun: Unsupported value: "Some": supported values: "All"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c, ns)
			got := r.do(t, tc.method, tc.path, tc.contentType, []byte(tc.body))
			wantStatus(t, tc.name, got, tc.code, tc.reason, tc.msg)
			if diff := cmp.Diff(before, snapshot(t, c, ns)); diff != "" {
				t.Errorf("stored config maps changed (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("body cut off by the client", func(t *testing.T) {
		before := snapshot(t, c, ns)
		code, err := cutOffRequest(t, rc, cms, cmJSON("cut", `,"data":{"v":"1"}`))
		t.Logf("cut-off request: code %d, err %v", code, err)
		if code >= 200 && code < 300 {
			t.Errorf("a request with a cut-off body succeeded with %d", code)
		}
		if code != 0 && code != http.StatusBadRequest {
			t.Errorf("cut-off body: code = %d, want 400 or a closed connection", code)
		}
		if diff := cmp.Diff(before, snapshot(t, c, ns)); diff != "" {
			t.Errorf("stored config maps changed (-before +after):\n%s", diff)
		}
	})

	t.Run("unknown field with Warn", func(t *testing.T) {
		for _, q := range []string{"?fieldValidation=Warn", ""} {
			name := "warned" + strings.TrimPrefix(strings.ToLower(q), "?fieldvalidation=")
			got := r.do(t, "POST", cms+q, "application/json", []byte(cmJSON(name, `,"spec":{"foo":1},"data":{"v":"1"}`)))
			if got.code != http.StatusCreated {
				t.Fatalf("create with %q: code %d, want 201: %s", q, got.code, trunc(got.body))
			}
			if w, want := got.header.Values("Warning"), []string{`299 - "unknown field \"spec\""`}; !cmp.Equal(w, want) {
				t.Errorf("create with %q: Warning headers = %q, want %q", q, w, want)
			}
			mustDelete(t, c, ns, name)
		}
		got := r.do(t, "POST", "/apis/apps/v1/namespaces/"+ns+"/deployments?fieldValidation=Warn", "application/json",
			[]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"warned"},"spec":{"foo":1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`))
		if got.code != http.StatusCreated {
			t.Fatalf("create deployment: code %d, want 201: %s", got.code, trunc(got.body))
		}
		if w, want := got.header.Values("Warning"), []string{`299 - "unknown field \"spec.foo\""`}; !cmp.Equal(w, want) {
			t.Errorf("Warning headers = %q, want %q", w, want)
		}
		// Ignore drops the field silently.
		got = r.do(t, "POST", cms+"?fieldValidation=Ignore", "application/json", []byte(cmJSON("ignored", `,"spec":{"foo":1}`)))
		if got.code != http.StatusCreated || len(got.header.Values("Warning")) != 0 {
			t.Errorf("Ignore: code %d, warnings %q; want 201 and none", got.code, got.header.Values("Warning"))
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		before := snapshot(t, c, ns)
		anon := anonymous(t, rc)
		for _, p := range []string{"/api/v1/namespaces", cms + "/x", "/api", "/apis", "/metrics"} {
			wantStatus(t, "anonymous GET "+p, anon.do(t, "GET", p, "", nil), 401, metav1.StatusReasonUnauthorized, "Unauthorized")
		}
		wantStatus(t, "anonymous POST", anon.do(t, "POST", cms, "application/json", []byte(cmJSON("anon", ""))), 401, metav1.StatusReasonUnauthorized, "Unauthorized")
		wantStatus(t, "anonymous DELETE", anon.do(t, "DELETE", cms+"/x", "", nil), 401, metav1.StatusReasonUnauthorized, "Unauthorized")
		for _, p := range []string{"/healthz", "/livez", "/readyz", "/version"} {
			got := anon.do(t, "GET", p, "", nil)
			if got.code != http.StatusOK {
				t.Errorf("anonymous GET %s: code %d, want 200: %s", p, got.code, trunc(got.body))
			}
		}
		if diff := cmp.Diff(before, snapshot(t, c, ns)); diff != "" {
			t.Errorf("stored config maps changed (-before +after):\n%s", diff)
		}
	})

	// The server still serves and x is as the last good write left it.
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "x", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["v"] != "2" {
		t.Errorf("x data = %v, want v=2", cm.Data)
	}
}

// cutOffRequest sends a POST whose Content-Length promises more than the
// body holds, then closes its side. It returns the response code, or 0 if
// the server closed the connection without answering.
func cutOffRequest(t *testing.T, rc *rest.Config, path, body string) (int, error) {
	t.Helper()
	tc, err := rest.TLSConfigFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	tc = tc.Clone()
	tc.NextProtos = []string{"http/1.1"}
	u, err := url.Parse(rc.Host)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", u.Host, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n%s",
		path, u.Host, len(body)+1000, body)
	if err := conn.CloseWrite(); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}
