package openapi

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

func builtin(gv schema.GroupVersion, kind, plural string, namespaced bool, obj, list runtime.Object, subresources ...string) Resource {
	return Resource{
		GVK: gv.WithKind(kind), Resource: plural, Namespaced: namespaced,
		Verbs: allVerbs, Subresources: subresources, Object: obj, List: list,
	}
}

// cronTabSchema is the schema of the CronTab example CRD from the
// Kubernetes documentation, with a nullable and an int-or-string field.
func cronTabSchema() *apiextensionsv1.JSONSchemaProps {
	return &apiextensionsv1.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {
				Type:        "object",
				Description: "CronTab spec.",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"cronSpec": {Type: "string", Description: "The cron schedule."},
					"image":    {Type: "string"},
					"replicas": {Type: "integer", Format: "int32", Minimum: ptr(1.0)},
					"note":     {Type: "string", Nullable: true},
					"port":     {XIntOrString: true, AnyOf: []apiextensionsv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}}},
					"ports": {
						Type:         "array",
						XListType:    ptr("map"),
						XListMapKeys: []string{"name"},
						Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
							Type:     "object",
							Required: []string{"name"},
							Properties: map[string]apiextensionsv1.JSONSchemaProps{
								"name": {Type: "string"},
								"port": {Type: "integer"},
							},
						}},
					},
				},
			},
			"status": {Type: "object", XPreserveUnknownFields: ptr(true)},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func cronTab() Resource {
	return Resource{
		GVK:          schema.GroupVersionKind{Group: "stable.example.com", Version: "v1", Kind: "CronTab"},
		Resource:     "crontabs",
		Namespaced:   true,
		Verbs:        allVerbs,
		Subresources: []string{"status", "scale"},
		Schema:       cronTabSchema(),
	}
}

func testResources() []Resource {
	core, apps := corev1.SchemeGroupVersion, appsv1.SchemeGroupVersion
	return []Resource{
		builtin(core, "Pod", "pods", true, &corev1.Pod{}, &corev1.PodList{}, "status", "log", "exec", "eviction", "binding", "ephemeralcontainers"),
		builtin(core, "Namespace", "namespaces", false, &corev1.Namespace{}, &corev1.NamespaceList{}, "status", "finalize"),
		builtin(core, "Service", "services", true, &corev1.Service{}, &corev1.ServiceList{}, "status", "proxy"),
		builtin(core, "ConfigMap", "configmaps", true, &corev1.ConfigMap{}, &corev1.ConfigMapList{}),
		builtin(core, "ServiceAccount", "serviceaccounts", true, &corev1.ServiceAccount{}, &corev1.ServiceAccountList{}, "token"),
		builtin(apps, "Deployment", "deployments", true, &appsv1.Deployment{}, &appsv1.DeploymentList{}, "status", "scale"),
		builtin(apps, "StatefulSet", "statefulsets", true, &appsv1.StatefulSet{}, &appsv1.StatefulSetList{}, "status", "scale"),
		builtin(apiextensionsv1.SchemeGroupVersion, "CustomResourceDefinition", "customresourcedefinitions", false,
			&apiextensionsv1.CustomResourceDefinition{}, &apiextensionsv1.CustomResourceDefinitionList{}, "status"),
		cronTab(),
	}
}
