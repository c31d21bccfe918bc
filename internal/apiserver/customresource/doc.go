// Package customresource turns one version of a CustomResourceDefinition
// into what the API server needs to serve it: the kinds.Kind record, and
// the behaviour upstream's apiextensions-apiserver gives custom resources.
//
//	CRD + version ──▶ New ──▶ Resource
//	                           ├─ Kind          names, scope, subresources, Unstructured objects
//	                           ├─ Prune         structural pruning, ObjectMeta coercion
//	                           ├─ Default       `default:` values of the schema
//	                           ├─ Validate      OpenAPI v3 schema and scale paths (kube-openapi)
//	                           ├─ Columns/Row   additionalPrinterColumns (simple JSONPath)
//	                           └─ TypeConverter server-side apply
//
// Objects are *unstructured.Unstructured whose content is JSON-shaped:
// numbers are int64 or float64, as unstructured decoding produces them.
//
// The package is pure: no I/O, no clock (rows take the time). A Resource
// is immutable once built and safe for concurrent use. Only
// internal/apiserver imports it.
package customresource
