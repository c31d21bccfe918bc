package rules_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/clusterrole"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/clusterrolebinding"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/role"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/rolebinding"
)

// errStrings reduces errs to "type path" pairs.
func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func TestKinds(t *testing.T) {
	for _, tc := range []struct {
		kind       kinds.Kind
		resource   string
		namespaced bool
	}{
		{role.Kind(), "roles", true},
		{rolebinding.Kind(), "rolebindings", true},
		{clusterrole.Kind(), "clusterroles", false},
		{clusterrolebinding.Kind(), "clusterrolebindings", false},
	} {
		if tc.kind.Resource != tc.resource || tc.kind.Namespaced != tc.namespaced {
			t.Errorf("%s: got resource %q namespaced %v", tc.resource, tc.kind.Resource, tc.kind.Namespaced)
		}
		if tc.kind.GVK.Group != rbacv1.GroupName || tc.kind.GVK.Version != "v1" {
			t.Errorf("%s: GVK %v", tc.resource, tc.kind.GVK)
		}
		if got := tc.kind.Strategy.ValidateName("system:node:a", false); len(got) != 0 {
			t.Errorf("%s: path-segment name rejected: %v", tc.resource, got)
		}
		if got := tc.kind.Strategy.ValidateName("a/b", false); len(got) == 0 {
			t.Errorf("%s: name with / accepted", tc.resource)
		}
	}
}

func TestRoleValidate(t *testing.T) {
	cases := []struct {
		name    string
		kind    kinds.Kind
		obj     runtime.Object
		wantErr []string
	}{
		{
			name: "valid role",
			kind: role.Kind(),
			obj: &rbacv1.Role{Rules: []rbacv1.PolicyRule{
				{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}},
			}},
		},
		{
			name: "role rule missing everything",
			kind: role.Kind(),
			obj:  &rbacv1.Role{Rules: []rbacv1.PolicyRule{{}}},
			wantErr: []string{
				"FieldValueRequired rules[0].verbs",
				"FieldValueRequired rules[0].apiGroups",
				"FieldValueRequired rules[0].resources",
			},
		},
		{
			name: "namespaced non-resource URL",
			kind: role.Kind(),
			obj:  &rbacv1.Role{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}},
			wantErr: []string{
				"FieldValueInvalid rules[0].nonResourceURLs",
			},
		},
		{
			name: "cluster role non-resource URL",
			kind: clusterrole.Kind(),
			obj:  &rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}},
		},
		{
			name: "resource names with several resources",
			kind: clusterrole.Kind(),
			obj: &rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{
				Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods", "secrets"}, ResourceNames: []string{"x"},
			}}},
			wantErr: []string{"FieldValueRequired rules[0].resourceNames"},
		},
		{
			name:    "empty aggregation rule",
			kind:    clusterrole.Kind(),
			obj:     &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{}},
			wantErr: []string{"FieldValueRequired aggregationRule.clusterRoleSelectors"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := errStrings(tc.kind.Strategy.Validate(tc.obj))
			if diff := cmp.Diff(tc.wantErr, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBindingDefaultAndValidate(t *testing.T) {
	k := rolebinding.Kind()
	rb := &rbacv1.RoleBinding{
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{
			{Kind: "User", Name: "alice"},
			{Kind: "Group", Name: "devs"},
			{Kind: "ServiceAccount", Name: "default", Namespace: "ns"},
		},
	}
	k.Strategy.Default(rb)
	want := &rbacv1.RoleBinding{
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{
			{Kind: "User", Name: "alice", APIGroup: rbacv1.GroupName},
			{Kind: "Group", Name: "devs", APIGroup: rbacv1.GroupName},
			{Kind: "ServiceAccount", Name: "default", Namespace: "ns"},
		},
	}
	if diff := cmp.Diff(want, rb); diff != "" {
		t.Fatalf("defaults (-want +got):\n%s", diff)
	}
	if errs := k.Strategy.Validate(rb); len(errs) != 0 {
		t.Fatalf("valid binding rejected: %v", errs)
	}

	cases := []struct {
		name    string
		kind    kinds.Kind
		obj     runtime.Object
		wantErr []string
	}{
		{
			name: "bad role ref and subjects",
			kind: rolebinding.Kind(),
			obj: &rbacv1.RoleBinding{
				RoleRef: rbacv1.RoleRef{APIGroup: "x", Kind: "Pod"},
				Subjects: []rbacv1.Subject{
					{Kind: "ServiceAccount", APIGroup: "rbac.authorization.k8s.io", Name: "Bad_Name"},
					{Kind: "Robot", Name: "r"},
					{Kind: "User", APIGroup: rbacv1.GroupName},
				},
			},
			wantErr: []string{
				"FieldValueNotSupported roleRef.apiGroup",
				"FieldValueNotSupported roleRef.kind",
				"FieldValueRequired roleRef.name",
				"FieldValueInvalid subjects[0].name",
				"FieldValueNotSupported subjects[0].apiGroup",
				"FieldValueNotSupported subjects[1].kind",
				"FieldValueRequired subjects[2].name",
				"FieldValueInvalid subjects[2].name",
			},
		},
		{
			name: "cluster binding needs cluster role and sa namespace",
			kind: clusterrolebinding.Kind(),
			obj: &rbacv1.ClusterRoleBinding{
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "r"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default"}},
			},
			wantErr: []string{
				"FieldValueNotSupported roleRef.kind",
				"FieldValueRequired subjects[0].namespace",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := errStrings(tc.kind.Strategy.Validate(tc.obj))
			if diff := cmp.Diff(tc.wantErr, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}

	old := rb.DeepCopy()
	rb.RoleRef.Name = "edit"
	got := errStrings(k.Strategy.ValidateUpdate(rb, old))
	if diff := cmp.Diff([]string{"FieldValueInvalid roleRef"}, got); diff != "" {
		t.Errorf("roleRef update (-want +got):\n%s", diff)
	}
}

func TestRows(t *testing.T) {
	created := metav1.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	now := created.Add(90 * time.Minute)

	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "b", CreationTimestamp: created},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{
			{Kind: "User", Name: "u1"}, {Kind: "User", Name: "u2"},
			{Kind: "Group", Name: "g"},
			{Kind: "ServiceAccount", Name: "sa", Namespace: "kube-system"},
		},
	}
	k := clusterrolebinding.Kind()
	got := k.Strategy.Row(crb, now)
	want := []interface{}{"b", "ClusterRole/view", "90m", "u1, u2", "g", "kube-system/sa"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("binding row (-want +got):\n%s", diff)
	}
	var names []string
	for _, c := range k.Strategy.Columns {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"}, names); diff != "" {
		t.Errorf("binding columns (-want +got):\n%s", diff)
	}

	r := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", CreationTimestamp: created}}
	if diff := cmp.Diff([]interface{}{"r", "2024-01-02T03:04:05Z"}, role.Kind().Strategy.Row(r, now)); diff != "" {
		t.Errorf("role row (-want +got):\n%s", diff)
	}
}
