package staticpod

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

const web = `apiVersion: v1
kind: Pod
metadata:
  name: Web
  labels: {app: web}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    resources:
      limits: {memory: 64Mi}
`

func TestFromManifest(t *testing.T) {
	p, err := FromManifest([]byte(web), "/m/web.yaml", "node1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "web-node1" || p.Namespace != "default" || p.Spec.NodeName != "node1" {
		t.Errorf("name %s/%s node %s", p.Namespace, p.Name, p.Spec.NodeName)
	}
	if p.UID == "" || p.Annotations[AnnotationHash] != string(p.UID) || p.Annotations[AnnotationSource] != "file" || !IsStatic(p) {
		t.Errorf("uid %q annotations %v", p.UID, p.Annotations)
	}
	c := p.Spec.Containers[0]
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways || c.ImagePullPolicy != corev1.PullAlways || *p.Spec.TerminationGracePeriodSeconds != 30 {
		t.Errorf("defaults not applied: %+v", p.Spec)
	}
	if c.Resources.Requests.Memory().String() != "64Mi" {
		t.Errorf("requests not defaulted from limits: %v", c.Resources.Requests)
	}
	again, _ := FromManifest([]byte(web), "/m/web.yaml", "node1")
	if again.UID != p.UID {
		t.Error("same manifest, different UID")
	}
	for name, other := range map[string][3]string{
		"edited":     {web + "    workingDir: /tmp\n", "/m/web.yaml", "node1"},
		"other file": {web, "/m/web2.yaml", "node1"},
		"other node": {web, "/m/web.yaml", "node2"},
	} {
		o, err := FromManifest([]byte(other[0]), other[1], other[2])
		if err != nil {
			t.Fatal(err)
		}
		if o.UID == p.UID {
			t.Errorf("%s: same UID", name)
		}
	}
	m := Mirror(p, "node-uid")
	if m.UID != "" || !IsMirror(m) || !MirrorMatches(p, m) || len(m.OwnerReferences) != 1 ||
		m.OwnerReferences[0].Kind != "Node" || m.OwnerReferences[0].UID != "node-uid" || !*m.OwnerReferences[0].Controller {
		t.Errorf("mirror %+v", m.ObjectMeta)
	}
	if IsMirror(p) {
		t.Error("the static pod is not a mirror")
	}
}

func TestFromManifestErrors(t *testing.T) {
	for name, data := range map[string]string{
		"not a pod":     "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n",
		"no name":       "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c, image: busybox}]}\n",
		"no containers": "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"not yaml":      "{{{",
	} {
		if _, err := FromManifest([]byte(data), "/m/x.yaml", "n"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("web.yaml", web)
	write("db.json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"db","namespace":"kube-system"},"spec":{"containers":[{"name":"c","image":"busybox:1"}]}}`)
	write("notes.txt", "ignored")
	write(".hidden.yaml", web)
	write("bad.yml", "kind: Pod")
	now := time.Unix(1700000000, 0)
	pods, errs := Load(dir, "n1", func(types.UID) time.Time { return now })
	if len(pods) != 2 || pods["default/web-n1"] == nil || pods["kube-system/db-n1"] == nil {
		t.Fatalf("pods %v", pods)
	}
	if len(errs) != 1 {
		t.Errorf("errors %v, want one for bad.yml", errs)
	}
	if got := pods["default/web-n1"].Annotations[AnnotationSeen]; got != "2023-11-14T22:13:20Z" {
		t.Errorf("config.seen %q", got)
	}
	if p := pods["kube-system/db-n1"]; p.Spec.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("tagged image pull policy %s", p.Spec.Containers[0].ImagePullPolicy)
	}
	pods, errs = Load(filepath.Join(dir, "missing"), "n1", nil)
	if len(pods) != 0 || len(errs) != 0 {
		t.Errorf("missing dir: %v %v", pods, errs)
	}
}
