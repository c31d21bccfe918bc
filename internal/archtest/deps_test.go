package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/skiff/skiff"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list -json ./...` from the module root (non-test
// imports only, which is what the rules are about).
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

// banned maps an import path prefix to the reason nobody may depend on it.
var banned = map[string]string{
	"k8s.io/kubernetes":                             "Skiff writes its own implementation; read upstream, don't import it",
	"k8s.io/apiserver":                              "Skiff's API server is its own (internal/apiserver)",
	"k8s.io/controller-manager":                     "controllers are Skiff's own (internal/controller)",
	"k8s.io/kubelet":                                "the node agent is Skiff's own (internal/kubelet)",
	"k8s.io/kube-scheduler":                         "the scheduler is Skiff's own (internal/scheduler)",
	"github.com/k3s-io":                             "no k3s code",
	"github.com/k0sproject":                         "no k0s code",
	"k8s.io/apiextensions-apiserver/pkg/registry":   "custom resource serving is Skiff's own",
	"k8s.io/apiextensions-apiserver/pkg/controller": "CRD controllers are Skiff's own",
}

func TestBannedDependencies(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, d := range p.Deps {
			for prefix, why := range banned {
				if d == prefix || strings.HasPrefix(d, prefix+"/") {
					t.Errorf("%s depends on %s: %s", p.ImportPath, d, why)
				}
			}
		}
	}
}

// rule says that packages under From may not import packages under any
// of Not (module-relative prefixes).
type rule struct {
	from string
	not  []string
	why  string
}

var rules = []rule{
	{from: "internal/apiserver/kinds", not: []string{"internal/storage", "internal/apiserver/openapi", "net/http", "os", "os/exec"}, why: "strategies are pure"},
	{from: "internal/storage", not: []string{"internal/apiserver", "internal/server"}, why: "storage is a foundation"},
	{from: "internal/pki", not: []string{"internal/"}, why: "pki is a foundation on stdlib crypto"},
	{from: "internal/config", not: []string{"internal/", "os/exec", "net/http"}, why: "config is pure"},
	{from: "internal/apiserver", not: []string{"internal/server", "internal/cli", "internal/agent", "internal/controller", "internal/scheduler", "internal/kubelet"}, why: "components never import one another or the composition roots"},
	{from: "internal/controller", not: []string{"internal/apiserver", "internal/storage", "internal/server", "internal/scheduler", "internal/kubelet"}, why: "controllers talk to the API through client-go only"},
	{from: "internal/scheduler", not: []string{"internal/apiserver", "internal/storage", "internal/server", "internal/controller", "internal/kubelet"}, why: "the scheduler talks to the API through client-go only"},
	{from: "internal/kubelet", not: []string{"internal/apiserver", "internal/storage", "internal/server", "internal/controller", "internal/scheduler"}, why: "the node agent talks to the API through client-go only"},
}

// testOnly packages may be imported only from tests.
var testOnly = []string{"internal/testutil", "internal/storage/storagetest", "internal/cri/fakecri", "testing"}

func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, r := range rules {
			if rel != r.from && !strings.HasPrefix(rel, r.from+"/") {
				continue
			}
			for _, imp := range p.Imports {
				irel := strings.TrimPrefix(imp, module+"/")
				for _, n := range r.not {
					if irel == strings.TrimSuffix(n, "/") || strings.HasPrefix(irel, n) && (strings.HasSuffix(n, "/") || strings.HasPrefix(irel, n+"/")) {
						t.Errorf("%s imports %s: %s", rel, imp, r.why)
					}
				}
			}
		}
		for _, imp := range p.Imports {
			irel := strings.TrimPrefix(imp, module+"/")
			for _, to := range testOnly {
				if irel == to && !isTestOnly(rel) {
					t.Errorf("%s imports test-only package %s", rel, imp)
				}
			}
		}
	}
}

func isTestOnly(rel string) bool {
	for _, to := range testOnly {
		if rel == to || strings.HasPrefix(rel, to+"/") {
			return true
		}
	}
	return strings.HasPrefix(rel, "test/")
}
