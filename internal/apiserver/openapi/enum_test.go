package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Suffixes as upstream's generated OpenAPI documents show them (kubernetes
// api/openapi-spec/v3), for the enum types the tests below look at.
const (
	protocolValues = "\n\nPossible enum values:\n" +
		" - `\"SCTP\"` is the SCTP protocol.\n" +
		" - `\"TCP\"` is the TCP protocol.\n" +
		" - `\"UDP\"` is the UDP protocol."
	pullPolicyValues = "\n\nPossible enum values:\n" +
		" - `\"Always\"` means that kubelet always attempts to pull the latest image. Container will fail If the pull fails.\n" +
		" - `\"IfNotPresent\"` means that kubelet pulls if the image isn't present on disk. Container will fail if the image isn't present and the pull fails.\n" +
		" - `\"Never\"` means that kubelet never pulls an image, but only uses a local image. Container will fail if the image isn't present"
	restartPolicyValues = "\n\nPossible enum values:\n" +
		" - `\"Always\"`\n" +
		" - `\"Never\"`\n" +
		" - `\"OnFailure\"`"
	serviceTypeValues = "\n\nPossible enum values:\n" +
		" - `\"ClusterIP\"` means a service will only be accessible inside the cluster, via the cluster IP.\n" +
		" - `\"ExternalName\"` means a service consists of only a reference to an external name that kubedns or equivalent will return as a CNAME record, with no exposing or proxying of any pods involved.\n" +
		" - `\"LoadBalancer\"` means a service will be exposed via an external load balancer (if the cloud provider supports it), in addition to 'NodePort' type.\n" +
		" - `\"NodePort\"` means a service will be exposed on one port of every node, in addition to 'ClusterIP' type."
)

func TestEnums(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		def      string
		path     string
		wantEnum []interface{}
		// wantDesc is the whole description when wantExact, else its end.
		wantDesc  string
		wantExact bool
	}{
		{
			name: "deployment strategy type", def: "io.k8s.api.apps.v1.Deployment", path: "spec.strategy.type",
			wantEnum: []interface{}{"Recreate", "RollingUpdate"},
			wantDesc: "Type of deployment. Can be \"Recreate\" or \"RollingUpdate\". Default is RollingUpdate.\n\n" +
				"Possible enum values:\n" +
				" - `\"Recreate\"` Kill all existing pods before creating new ones.\n" +
				" - `\"RollingUpdate\"` Replace the old ReplicaSets by new one using rolling update i.e gradually scale down the old ReplicaSets and scale up the new one.",
			wantExact: true,
		},
		{
			name: "container port protocol", def: "io.k8s.api.core.v1.Pod", path: "spec.containers.[].ports.[].protocol",
			wantEnum: []interface{}{"SCTP", "TCP", "UDP"}, wantDesc: protocolValues,
		},
		{
			name: "service port protocol", def: "io.k8s.api.core.v1.Service", path: "spec.ports.[].protocol",
			wantEnum: []interface{}{"SCTP", "TCP", "UDP"}, wantDesc: protocolValues,
		},
		{
			name: "image pull policy", def: "io.k8s.api.core.v1.Pod", path: "spec.containers.[].imagePullPolicy",
			wantEnum: []interface{}{"Always", "IfNotPresent", "Never"}, wantDesc: pullPolicyValues,
		},
		{
			name: "pod restart policy has values without docs", def: "io.k8s.api.core.v1.Pod", path: "spec.restartPolicy",
			wantEnum: []interface{}{"Always", "Never", "OnFailure"}, wantDesc: restartPolicyValues,
		},
		{
			name: "pointer to an enum", def: "io.k8s.api.core.v1.Pod", path: "spec.preemptionPolicy",
			wantEnum: []interface{}{"Never", "PreemptLowerPriority"},
			wantDesc: "\n\nPossible enum values:\n" +
				" - `\"Never\"` means that pod never preempts other pods with lower priority.\n" +
				" - `\"PreemptLowerPriority\"` means that pod can preempt other pods with lower priority.",
		},
		{
			name: "service type", def: "io.k8s.api.core.v1.Service", path: "spec.type",
			wantEnum: []interface{}{"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}, wantDesc: serviceTypeValues,
		},
		{
			name: "items of an enum list carry the enum but no description", def: "io.k8s.api.core.v1.Service", path: "spec.ipFamilies.[]",
			wantEnum: []interface{}{"", "IPv4", "IPv6"}, wantDesc: "", wantExact: true,
		},
		{
			name: "named string type without +enum", def: "io.k8s.api.core.v1.Pod", path: "spec.containers.[].restartPolicy",
			wantDesc: "RestartPolicy defines the restart behavior of individual containers",
		},
		{
			name: "plain string", def: "io.k8s.api.core.v1.Pod", path: "spec.nodeName",
			wantDesc: "NodeName indicates",
		},
	}
	for _, v3 := range []bool{false, true} {
		defs, err := buildDefinitions(testResources(), v3)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range tests {
			name := tc.name + "/v2"
			if v3 {
				name = tc.name + "/v3"
			}
			t.Run(name, func(t *testing.T) {
				raw, _ := walk(t, defs, tc.def, tc.path)
				if diff := cmp.Diff(tc.wantEnum, raw.Enum); diff != "" {
					t.Errorf("enum (-want +got):\n%s", diff)
				}
				switch {
				case tc.wantExact:
					if diff := cmp.Diff(tc.wantDesc, raw.Description); diff != "" {
						t.Errorf("description (-want +got):\n%s", diff)
					}
				case tc.wantEnum == nil:
					if !strings.HasPrefix(raw.Description, tc.wantDesc) || strings.Contains(raw.Description, enumHeader) {
						t.Errorf("description = %q, want it to start with %q and list no enum values", raw.Description, tc.wantDesc)
					}
				default:
					if !strings.HasSuffix(raw.Description, tc.wantDesc) || strings.HasPrefix(raw.Description, "\n") {
						t.Errorf("description = %q, want a documented field ending with %q", raw.Description, tc.wantDesc)
					}
				}
			})
		}
	}
}

// TestEnumsInDocument checks the wire form kubectl reads: "enum" next to
// "type" in the property of the served v3 document.
func TestEnumsInDocument(t *testing.T) {
	t.Parallel()
	docs, err := BuildV3(testResources())
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(docs["apis/apps/v1"].Components.Schemas["io.k8s.api.apps.v1.DeploymentStrategy"])
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Properties map[string]struct {
			Type string   `json:"type"`
			Enum []string `json:"enum"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if p := got.Properties["type"]; p.Type != "string" || !cmp.Equal(p.Enum, []string{"Recreate", "RollingUpdate"}) {
		t.Errorf("property type = %+v, want a string with enum [Recreate RollingUpdate]; schema:\n%s", p, data)
	}
}

func TestEnumDescription(t *testing.T) {
	t.Parallel()
	values := []enumValue{{value: "*", doc: "all"}, {value: "a\"b"}}
	for _, tc := range []struct {
		name, description, want string
	}{
		{"appended as a paragraph", "Scope.", "Scope.\n\nPossible enum values:\n - `\"*\"` all\n - `\"a\\\"b\"`"},
		{"alone without a description", "", "Possible enum values:\n - `\"*\"` all\n - `\"a\\\"b\"`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, enumDescription(tc.description, values)); diff != "" {
				t.Errorf("enumDescription (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuiltinEnumsSorted checks the generated table against upstream's
// order: values sorted by their Go-quoted form, none repeated.
func TestBuiltinEnumsSorted(t *testing.T) {
	t.Parallel()
	enums := builtinEnums()
	if len(enums) < 100 {
		t.Errorf("builtinEnums() has %d types, want the 100 or so of k8s.io/api", len(enums))
	}
	for typ, values := range enums {
		for i := 1; i < len(values); i++ {
			if a, b := values[i-1].value, values[i].value; !(quote(a) < quote(b)) {
				t.Errorf("%s: %q before %q", typ, a, b)
			}
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
