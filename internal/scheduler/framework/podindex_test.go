package framework

import (
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

func indexPod(name, node string, lbls map[string]string, anti ...v1.PodAffinityTerm) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: lbls},
		Spec: v1.PodSpec{NodeName: node}}
	if len(anti) > 0 {
		p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: anti}}
	}
	return p
}

func indexTerm(sel string) v1.PodAffinityTerm {
	ls, err := metav1.ParseToLabelSelector(sel)
	if err != nil {
		panic(err)
	}
	return v1.PodAffinityTerm{LabelSelector: ls, TopologyKey: v1.LabelHostname}
}

// TestEachCandidate checks which pods and terms the index visits: those
// under the selector's smallest equality bucket, every pod when there is
// no equality requirement, none for a selector of nothing.
func TestEachCandidate(t *testing.T) {
	nodes := []*v1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, {ObjectMeta: metav1.ObjectMeta{Name: "n2"}}}
	pods := []*v1.Pod{
		indexPod("a1", "n1", map[string]string{"app": "a", "tier": "web"}),
		indexPod("a2", "n2", map[string]string{"app": "a", "tier": "db"}),
		indexPod("b1", "n1", map[string]string{"app": "b", "tier": "web"}, indexTerm("app=c"), indexTerm("tier in (web,db)")),
		indexPod("c1", "n2", map[string]string{"app": "c"}, indexTerm("app"), indexTerm("app notin (c)")),
		indexPod("gone", "n3", map[string]string{"app": "a"}),
	}
	s := NewSnapshot(pods, nodes)
	visitPods := func(sel string) []string {
		var out []string
		selector := labels.Nothing()
		if sel != "<nothing>" {
			ps, err := labels.Parse(sel)
			if err != nil {
				t.Fatal(err)
			}
			selector = ps
		}
		s.EachPodCandidate(selector, func(pi *PodInfo, ni *NodeInfo) {
			out = append(out, pi.Pod.Name+"@"+ni.Node().Name)
		})
		sort.Strings(out)
		return out
	}
	for _, tc := range []struct {
		sel  string
		want []string
	}{
		{sel: "app=a", want: []string{"a1@n1", "a2@n2"}},
		{sel: "app in (b,c)", want: []string{"b1@n1", "c1@n2"}},
		{sel: "app in (a,b),tier=db", want: []string{"a2@n2"}},
		{sel: "app=z", want: nil},
		{sel: "app", want: []string{"a1@n1", "a2@n2", "b1@n1", "c1@n2"}},
		{sel: "app notin (a)", want: []string{"a1@n1", "a2@n2", "b1@n1", "c1@n2"}},
		{sel: "", want: []string{"a1@n1", "a2@n2", "b1@n1", "c1@n2"}},
		{sel: "<nothing>", want: nil},
	} {
		if diff := cmp.Diff(tc.want, visitPods(tc.sel)); diff != "" {
			t.Errorf("pods for %q (-want +got):\n%s", tc.sel, diff)
		}
	}
	visitTerms := func(podLabels map[string]string) []string {
		var out []string
		s.EachTermCandidate(RequiredAntiAffinityTerm, podLabels, func(ex *PodInfo, ni *NodeInfo, term *AffinityTerm, _ int32) {
			out = append(out, fmt.Sprintf("%s@%s:%s", ex.Pod.Name, ni.Node().Name, term.Selector))
		})
		sort.Strings(out)
		return out
	}
	for _, tc := range []struct {
		labels map[string]string
		want   []string
	}{
		// The two terms of c1 have no equality requirement: always visited.
		{labels: map[string]string{"app": "c"}, want: []string{"b1@n1:app=c", "c1@n2:app", "c1@n2:app notin (c)"}},
		{labels: map[string]string{"tier": "db"}, want: []string{"b1@n1:tier in (db,web)", "c1@n2:app", "c1@n2:app notin (c)"}},
		{labels: nil, want: []string{"c1@n2:app", "c1@n2:app notin (c)"}},
	} {
		if diff := cmp.Diff(tc.want, visitTerms(tc.labels)); diff != "" {
			t.Errorf("terms for %v (-want +got):\n%s", tc.labels, diff)
		}
	}
}
