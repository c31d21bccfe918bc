// Package openapi builds and serves the OpenAPI documents of Skiff's API
// server and the server-side apply type converter derived from them.
//
// Documents are generated from the Go types by reflection: k8s.io types
// give their field documentation through SwaggerDoc and their definition
// names through OpenAPIModelName; apimachinery's special types (Quantity,
// Time, MicroTime, IntOrString, Duration, ...) declare their own OpenAPI
// type through OpenAPISchemaType/OpenAPISchemaFormat/OpenAPIV3OneOfTypes;
// json tags give property names, omitempty (a field without it is
// required, as upstream's generator decides) and inlining; patchStrategy and
// patchMergeKey tags become the x-kubernetes-patch-* extensions. List, map
// and struct semantics that upstream reads from comment tags (+listType,
// +listMapKeys, +mapType, +structType) are taken from the
// structured-merge-diff schema client-go embeds (see structure.go). Custom
// resources contribute their structural schema, completed with apiVersion,
// kind and metadata as upstream's CRD builder does.
//
//	[]Resource ──▶ definitions (reflection, CRD schemas) ──┬─▶ BuildV2 ──▶ /openapi/v2 (JSON, protobuf)
//	           └─▶ routes (paths and operations) ──────────┼─▶ BuildV3 ──▶ /openapi/v3[/<gv>] (JSON, protobuf)
//	                                                       └─▶ TypeConverter (server-side apply)
//
// Service is the HTTP edge; it is safe for concurrent use and Update swaps
// the documents when custom resources change. The builders are pure and
// return fresh values. Only internal/apiserver (and the composition root
// wiring it) should import this package.
package openapi
