package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/skiff/skiff/internal/apiserver/kinds/builtin"
	"github.com/skiff/skiff/internal/storage"
	"github.com/skiff/skiff/internal/storage/etcd3"
	"github.com/skiff/skiff/internal/storage/storagetest"
)

const widgetsCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Color, type: string, jsonPath: .spec.color}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer, default: 1}
              color: {type: string}
              labels: {type: object, additionalProperties: {type: string}}
          status:
            type: object
            properties:
              replicas: {type: integer}
`

const gadgetsCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: gadgets, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

// testAPI is a Server over an embedded etcd, reached over HTTP.
type testAPI struct {
	t   *testing.T
	url string
}

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	cli := storagetest.StartEtcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Config{
		Kinds: builtin.All(),
		NewStore: func(_ context.Context, _ string, codec storage.Codec, newFunc func() runtime.Object) (storage.Store, error) {
			return etcd3.New(cli, codec, newFunc), nil
		},
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		s.Wait()
	})
	a := &testAPI{t: t, url: hs.URL}
	a.mustDo("POST", "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}`, http.StatusCreated)
	return a
}

// do sends a request (a YAML or JSON body) and returns the status code,
// the response and its headers.
func (a *testAPI) do(method, path, body string, hdr ...string) (int, []byte, http.Header) {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		j, err := yaml.YAMLToJSON([]byte(body))
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

func (a *testAPI) mustDo(method, path, body string, want int, hdr ...string) map[string]interface{} {
	a.t.Helper()
	code, data, _ := a.do(method, path, body, hdr...)
	if code != want {
		a.t.Fatalf("%s %s: got %d, want %d: %s", method, path, code, want, data)
	}
	var out map[string]interface{}
	if err := json.Unmarshal(data, &out); err != nil {
		a.t.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func (a *testAPI) eventually(what string, cond func() bool) {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			a.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a wait for an event
	}
}

func (a *testAPI) crd(name string) (*apiextensionsv1.CustomResourceDefinition, int) {
	code, data, _ := a.do("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+name, "")
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if code == http.StatusOK {
		if err := json.Unmarshal(data, crd); err != nil {
			a.t.Fatal(err)
		}
	}
	return crd, code
}

func (a *testAPI) established(name string) bool {
	crd, code := a.crd(name)
	if code != http.StatusOK {
		return false
	}
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

func nested(obj map[string]interface{}, path ...string) interface{} {
	var cur interface{} = obj
	for _, p := range path {
		m, ok := cur.(map[string]interface{})
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func TestCustomResourceDefinitions(t *testing.T) {
	a := newTestAPI(t)
	const crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
	const widgets = "/apis/example.com/v1/namespaces/default/widgets"
	a.mustDo("POST", crds, widgetsCRD, http.StatusCreated)
	a.mustDo("POST", crds, gadgetsCRD, http.StatusCreated)
	a.eventually("widgets established", func() bool { return a.established("widgets.example.com") })
	a.eventually("gadgets established", func() bool { return a.established("gadgets.example.com") })

	crd, _ := a.crd("widgets.example.com")
	if crd.Status.AcceptedNames.Plural != "widgets" || crd.Status.AcceptedNames.ListKind != "WidgetList" || len(crd.Status.StoredVersions) != 1 {
		t.Errorf("status = %+v", crd.Status)
	}
	for _, c := range crd.Status.Conditions {
		want := map[apiextensionsv1.CustomResourceDefinitionConditionType]string{
			apiextensionsv1.NamesAccepted: "NoConflicts", apiextensionsv1.Established: "InitialNamesAccepted",
		}[c.Type]
		if c.Reason != want || c.Status != apiextensionsv1.ConditionTrue {
			t.Errorf("condition %s = %s/%s, want True/%s", c.Type, c.Status, c.Reason, want)
		}
	}

	t.Run("discovery", func(t *testing.T) {
		list := a.mustDo("GET", "/apis/example.com/v1", "", http.StatusOK)
		var names []string
		for _, r := range list["resources"].([]interface{}) {
			names = append(names, r.(map[string]interface{})["name"].(string))
		}
		if got := strings.Join(names, ","); got != "gadgets,widgets,widgets/status,widgets/scale" {
			t.Errorf("resources = %s", got)
		}
		_, data, _ := a.do("GET", "/apis", "", "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
		if !bytes.Contains(data, []byte(`"name":"example.com"`)) || !bytes.Contains(data, []byte(`"resource":"widgets"`)) {
			t.Errorf("aggregated discovery lacks widgets: %s", data)
		}
	})

	t.Run("create, defaults, pruning and validation", func(t *testing.T) {
		_, _, hdr := a.do("POST", widgets, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w1}, spec: {color: red, junk: 1}, status: {replicas: 5}}`)
		if w := hdr.Get("Warning"); !strings.Contains(w, `unknown field \"spec.junk\"`) {
			t.Errorf("Warning = %q", w)
		}
		w1 := a.mustDo("GET", widgets+"/w1", "", http.StatusOK)
		if nested(w1, "spec", "replicas") != float64(1) || nested(w1, "spec", "junk") != nil || nested(w1, "status") != nil {
			t.Errorf("stored widget = %v", w1)
		}
		if nested(w1, "metadata", "generation") != float64(1) {
			t.Errorf("generation = %v", nested(w1, "metadata", "generation"))
		}
		code, data, _ := a.do("POST", widgets+"?fieldValidation=Strict", `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w2}, spec: {junk: 1}}`)
		if code != http.StatusBadRequest || !strings.Contains(string(data), `strict decoding error: unknown field \"spec.junk\"`) {
			t.Errorf("strict: %d %s", code, data)
		}
		code, data, _ = a.do("POST", widgets, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w3}, spec: {replicas: "string"}}`)
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(data), `spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"`) {
			t.Errorf("invalid: %d %s", code, data)
		}
	})

	t.Run("list and table", func(t *testing.T) {
		l := a.mustDo("GET", widgets, "", http.StatusOK)
		if l["kind"] != "WidgetList" || len(l["items"].([]interface{})) != 1 {
			t.Errorf("list = %v", l)
		}
		tbl := &metav1.Table{}
		_, data, _ := a.do("GET", "/apis/example.com/v1/widgets", "", "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
		if err := json.Unmarshal(data, tbl); err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, c := range tbl.ColumnDefinitions {
			cols = append(cols, c.Name)
		}
		if strings.Join(cols, ",") != "Name,Replicas,Color" || len(tbl.Rows) != 1 {
			t.Fatalf("table = %s", data)
		}
		if got := tbl.Rows[0].Cells; got[0] != "w1" || got[1] != float64(1) || got[2] != "red" {
			t.Errorf("cells = %v", got)
		}
	})

	t.Run("status and scale", func(t *testing.T) {
		w1 := a.mustDo("GET", widgets+"/w1", "", http.StatusOK)
		w1["status"] = map[string]interface{}{"replicas": 2}
		body, _ := json.Marshal(w1)
		a.mustDo("PUT", widgets+"/w1/status", string(body), http.StatusOK)
		sc := a.mustDo("GET", widgets+"/w1/scale", "", http.StatusOK)
		if nested(sc, "spec", "replicas") != float64(1) || nested(sc, "status", "replicas") != float64(2) {
			t.Errorf("scale = %v", sc)
		}
		sc["spec"] = map[string]interface{}{"replicas": 4}
		body, _ = json.Marshal(sc)
		a.mustDo("PUT", widgets+"/w1/scale", string(body), http.StatusOK)
		w1 = a.mustDo("GET", widgets+"/w1", "", http.StatusOK)
		if nested(w1, "spec", "replicas") != float64(4) || nested(w1, "status", "replicas") != float64(2) {
			t.Errorf("after scale = %v", w1)
		}
	})

	t.Run("server-side apply", func(t *testing.T) {
		w := a.mustDo("PATCH", widgets+"/w4?fieldManager=test", `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w4, labels: {a: b}}, spec: {color: blue, labels: {x: z}}}`,
			http.StatusCreated, "Content-Type", "application/apply-patch+yaml")
		mf, _ := json.Marshal(nested(w, "metadata", "managedFields"))
		if !strings.Contains(string(mf), `"f:color"`) || !strings.Contains(string(mf), `"f:x"`) {
			t.Errorf("managed fields = %s", mf)
		}
	})

	t.Run("cluster scoped", func(t *testing.T) {
		a.mustDo("POST", "/apis/example.com/v1/gadgets", `{apiVersion: example.com/v1, kind: Gadget, metadata: {name: g1}, anything: {goes: 1}}`, http.StatusCreated)
		g := a.mustDo("GET", "/apis/example.com/v1/gadgets/g1", "", http.StatusOK)
		if nested(g, "anything", "goes") != float64(1) {
			t.Errorf("gadget = %v", g)
		}
		tbl := a.mustDo("GET", "/apis/example.com/v1/gadgets", "", http.StatusOK, "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
		cols, _ := json.Marshal(tbl["columnDefinitions"])
		if !strings.Contains(string(cols), `"name":"Age"`) {
			t.Errorf("default columns = %s", cols)
		}
	})

	t.Run("delete", func(t *testing.T) {
		a.mustDo("DELETE", crds+"/widgets.example.com", "", http.StatusOK)
		a.eventually("widgets CRD gone", func() bool { _, code := a.crd("widgets.example.com"); return code == http.StatusNotFound })
		if code, data, _ := a.do("GET", widgets, ""); code != http.StatusNotFound {
			t.Errorf("widgets still served: %d %s", code, data)
		}
		a.mustDo("POST", crds, widgetsCRD, http.StatusCreated)
		a.eventually("widgets established again", func() bool { return a.established("widgets.example.com") })
		crd, _ := a.crd("widgets.example.com")
		if len(crd.Finalizers) != 0 {
			t.Errorf("finalizers of a new CRD = %v", crd.Finalizers)
		}
		l := a.mustDo("GET", widgets, "", http.StatusOK)
		if n := len(l["items"].([]interface{})); n != 0 {
			t.Errorf("%d widgets survived their CRD", n)
		}
	})
}

func TestCustomResourceNameConflict(t *testing.T) {
	a := newTestAPI(t)
	const crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
	a.mustDo("POST", crds, widgetsCRD, http.StatusCreated)
	a.eventually("widgets established", func() bool { return a.established("widgets.example.com") })
	other := strings.NewReplacer("widgets.example.com", "things.example.com", "plural: widgets", "plural: things", "singular: widget", "singular: thing").Replace(widgetsCRD)
	a.mustDo("POST", crds, other, http.StatusCreated)
	a.eventually("things rejected", func() bool {
		crd, _ := a.crd("things.example.com")
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.NamesAccepted && c.Status == apiextensionsv1.ConditionFalse {
				return c.Reason == "ListKindConflict" && c.Message == `"WidgetList" is already in use`
			}
		}
		return false
	})
	if code, _, _ := a.do("GET", "/apis/example.com/v1/things", ""); code != http.StatusNotFound {
		t.Errorf("conflicting CRD served: %d", code)
	}
}
