package openapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	"k8s.io/kube-openapi/pkg/handler3"
)

func get(t *testing.T, h http.Handler, path, accept string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func discovery(t *testing.T, h http.Handler) handler3.OpenAPIV3Discovery {
	t.Helper()
	rec := get(t, h, "/openapi/v3", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi/v3: %d %s", rec.Code, rec.Body)
	}
	var d handler3.OpenAPIV3Discovery
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatalf("decode discovery: %v", err)
	}
	return d
}

func TestServiceV2(t *testing.T) {
	t.Parallel()
	svc, err := NewService(testResources())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		accept      string
		wantCode    int
		wantType    string
		checkBody   func(t *testing.T, body []byte)
		wantNoCache bool
	}{
		{name: "default is json", wantCode: 200, wantType: "application/json", checkBody: checkV2JSON},
		{name: "json", accept: "application/json", wantCode: 200, wantType: "application/json", checkBody: checkV2JSON},
		{name: "kubectl protobuf", accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json",
			wantCode: 200, wantType: mediaV2ProtobufReply, checkBody: checkV2Proto},
		{name: "protobuf preferred by quality", accept: "application/json;q=0.5, application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
			wantCode: 200, wantType: mediaV2ProtobufReply, checkBody: checkV2Proto},
		{name: "wildcard", accept: "*/*", wantCode: 200, wantType: "application/json", checkBody: checkV2JSON},
		{name: "not acceptable", accept: "application/xml", wantCode: http.StatusNotAcceptable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, svc, "/openapi/v2", tc.accept)
			if rec.Code != tc.wantCode {
				t.Fatalf("code = %d, want %d (%s)", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantCode != 200 {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tc.wantType)
			}
			if rec.Header().Get("Etag") == "" {
				t.Error("no Etag")
			}
			tc.checkBody(t, rec.Body.Bytes())
		})
	}

	t.Run("etag revalidation", func(t *testing.T) {
		etag := get(t, svc, "/openapi/v2", "").Header().Get("Etag")
		req := httptest.NewRequest(http.MethodGet, "/openapi/v2", nil)
		req.Header.Set("If-None-Match", etag)
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified {
			t.Errorf("code = %d, want 304", rec.Code)
		}
	})
}

func checkV2JSON(t *testing.T, body []byte) {
	t.Helper()
	var doc struct {
		Swagger     string                     `json:"swagger"`
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Swagger != "2.0" || doc.Definitions["io.k8s.api.apps.v1.Deployment"] == nil {
		t.Errorf("unexpected v2 document: swagger %q, %d definitions", doc.Swagger, len(doc.Definitions))
	}
}

func checkV2Proto(t *testing.T, body []byte) {
	t.Helper()
	var doc openapi_v2.Document
	if err := proto.Unmarshal(body, &doc); err != nil {
		t.Fatalf("decode protobuf: %v", err)
	}
	found := false
	for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
		if d.GetName() == "io.k8s.api.apps.v1.Deployment" {
			found = true
		}
	}
	if !found {
		t.Error("protobuf document lacks io.k8s.api.apps.v1.Deployment")
	}
}

func TestServiceV3(t *testing.T) {
	t.Parallel()
	svc, err := NewService(testResources())
	if err != nil {
		t.Fatal(err)
	}
	d := discovery(t, svc)
	var keys []string
	for k := range d.Paths {
		keys = append(keys, k)
	}
	for _, want := range []string{"api/v1", "apis/apps/v1", "apis/stable.example.com/v1"} {
		gv, ok := d.Paths[want]
		if !ok {
			t.Fatalf("discovery lacks %q (has %v)", want, keys)
		}
		if !strings.HasPrefix(gv.ServerRelativeURL, "/openapi/v3/"+want+"?hash=") {
			t.Errorf("%s: serverRelativeURL = %q", want, gv.ServerRelativeURL)
		}
	}
	apps := d.Paths["apis/apps/v1"].ServerRelativeURL

	tests := []struct {
		name      string
		path      string
		accept    string
		wantCode  int
		wantType  string
		wantCache bool
	}{
		{name: "hashed json", path: apps, accept: "application/json", wantCode: 200, wantType: "application/json", wantCache: true},
		{name: "hashed protobuf", path: apps, accept: "application/com.github.proto-openapi.spec.v3@v1.0+protobuf",
			wantCode: 200, wantType: "application/com.github.proto-openapi.spec.v3.v1.0+protobuf", wantCache: true},
		{name: "unhashed", path: "/openapi/v3/apis/apps/v1", accept: "application/json", wantCode: 200, wantType: "application/json"},
		{name: "stale hash redirects", path: "/openapi/v3/apis/apps/v1?hash=0123", accept: "application/json", wantCode: http.StatusMovedPermanently},
		{name: "unknown group version", path: "/openapi/v3/apis/nope/v1", accept: "application/json", wantCode: http.StatusNotFound},
		{name: "unknown path", path: "/openapi/v4", wantCode: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, svc, tc.path, tc.accept)
			if rec.Code != tc.wantCode {
				t.Fatalf("code = %d, want %d", rec.Code, tc.wantCode)
			}
			if tc.wantCode != 200 {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tc.wantType)
			}
			if got := rec.Header().Get("Cache-Control"); (got == "public, immutable") != tc.wantCache {
				t.Errorf("Cache-Control = %q, want immutable caching %v", got, tc.wantCache)
			}
			var doc *openapi_v3.Document
			if strings.HasSuffix(tc.wantType, "protobuf") {
				doc = &openapi_v3.Document{}
				err = proto.Unmarshal(rec.Body.Bytes(), doc)
			} else {
				doc, err = openapi_v3.ParseDocument(rec.Body.Bytes())
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			found := false
			for _, s := range doc.GetComponents().GetSchemas().GetAdditionalProperties() {
				found = found || s.GetName() == "io.k8s.api.apps.v1.Deployment"
			}
			if !found {
				t.Error("document lacks io.k8s.api.apps.v1.Deployment")
			}
		})
	}
}

func TestServiceUpdate(t *testing.T) {
	t.Parallel()
	var builtins []Resource
	for _, r := range testResources() {
		if !r.IsCustom() {
			builtins = append(builtins, r)
		}
	}
	svc, err := NewService(builtins)
	if err != nil {
		t.Fatal(err)
	}
	before := discovery(t, svc)
	if _, ok := before.Paths["apis/stable.example.com/v1"]; ok {
		t.Fatal("custom group served before it was added")
	}

	if err := svc.Update(testResources()); err != nil {
		t.Fatal(err)
	}
	after := discovery(t, svc)
	if _, ok := after.Paths["apis/stable.example.com/v1"]; !ok {
		t.Fatal("custom group not served after Update")
	}
	if before.Paths["apis/apps/v1"] != after.Paths["apis/apps/v1"] {
		t.Errorf("apps/v1 hash changed though its resources did not: %v -> %v", before.Paths["apis/apps/v1"], after.Paths["apis/apps/v1"])
	}
	if !strings.Contains(get(t, svc, "/openapi/v2", "").Body.String(), "com.example.stable.v1.CronTab") {
		t.Error("v2 document lacks the custom resource after Update")
	}

	bad := append(testResources(), Resource{GVK: cronTab().GVK})
	if err := svc.Update(bad); err == nil {
		t.Fatal("Update accepted an invalid resource")
	}
	if _, ok := discovery(t, svc).Paths["apis/stable.example.com/v1"]; !ok {
		t.Error("failed Update replaced the served documents")
	}

	if err := svc.Update(builtins); err != nil {
		t.Fatal(err)
	}
	if _, ok := discovery(t, svc).Paths["apis/stable.example.com/v1"]; ok {
		t.Error("custom group still in discovery after removal")
	}
	if rec := get(t, svc, "/openapi/v3/apis/stable.example.com/v1", "application/json"); rec.Code != http.StatusNotFound {
		t.Errorf("removed group version: code %d, want 404", rec.Code)
	}
}

func TestServiceConcurrentUpdate(t *testing.T) {
	t.Parallel()
	svc, err := NewService(testResources())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				for _, p := range []string{"/openapi/v2", "/openapi/v3", "/openapi/v3/apis/apps/v1"} {
					if rec := get(t, svc, p, ""); rec.Code != http.StatusOK {
						t.Errorf("GET %s: %d", p, rec.Code)
					}
				}
			}
		}()
	}
	for j := 0; j < 3; j++ {
		if err := svc.Update(testResources()); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

func TestNegotiateV2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept, want string
	}{
		{"", mediaJSON},
		{"application/json", mediaJSON},
		{"application/*", mediaJSON},
		{MediaV2Protobuf, mediaV2ProtobufReply},
		{"application/json;q=0.1, " + MediaV2Protobuf + ";q=0.9", mediaV2ProtobufReply},
		{MediaV2Protobuf + ";q=0, application/json", mediaJSON},
		{"text/html", ""},
	}
	for _, tc := range tests {
		if got := negotiateV2(tc.accept); got != tc.want {
			t.Errorf("negotiateV2(%q) = %q, want %q", tc.accept, got, tc.want)
		}
	}
}
