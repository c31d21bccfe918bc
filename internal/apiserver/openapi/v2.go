package openapi

import (
	"k8s.io/kube-openapi/pkg/validation/spec"
)

const (
	// Title is the info.title of every document, as upstream.
	Title = "Kubernetes"
	// Version is the info.version of every document: the Kubernetes API
	// release Skiff serves.
	Version = "v1.37.2"
)

// BuildV2 returns the OpenAPI v2 (Swagger 2.0) document describing
// resources: definitions for every type reachable from them plus the meta/v1
// types clients need (Status, DeleteOptions, WatchEvent, discovery types),
// and the REST paths of each resource. It returns an error wrapping
// ErrInvalidResource when a resource is malformed. The result is freshly
// allocated and owned by the caller.
func BuildV2(resources []Resource) (*spec.Swagger, error) {
	defs, err := buildDefinitions(resources, false)
	if err != nil {
		return nil, err
	}
	paths := &spec.Paths{Paths: map[string]spec.PathItem{}}
	for _, routes := range buildRoutes(resources) {
		for _, rt := range routes {
			paths.Paths[rt.path] = v2PathItem(rt)
		}
	}
	return &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: Title, Version: Version}},
		Paths:       paths,
		Definitions: defs,
		SecurityDefinitions: spec.SecurityDefinitions{
			"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
				Type: "apiKey", Name: "authorization", In: "header",
				Description: "Bearer Token authentication",
			}},
		},
		Security: []map[string][]string{{"BearerToken": {}}},
	}}, nil
}

func v2PathItem(rt route) spec.PathItem {
	var item spec.PathItem
	for _, p := range rt.params {
		item.Parameters = append(item.Parameters, v2Param(p))
	}
	for _, o := range rt.ops {
		op := v2Operation(o)
		switch o.method {
		case "get":
			item.Get = op
		case "put":
			item.Put = op
		case "post":
			item.Post = op
		case "patch":
			item.Patch = op
		case "delete":
			item.Delete = op
		}
	}
	return item
}

func v2Param(p param) spec.Parameter {
	var out spec.Parameter
	out.Name, out.In, out.Description, out.Required = p.name, p.in, p.desc, p.required
	out.Type = p.typ
	if p.in == "query" {
		out.UniqueItems = true
	}
	return out
}

func v2Operation(o operation) *spec.Operation {
	op := &spec.Operation{}
	op.ID = o.id
	op.Description = o.desc
	op.Tags = []string{o.tag}
	op.Consumes = o.consumes
	op.Produces = o.produces
	op.Schemes = []string{"https"}
	if o.body != "" {
		var body spec.Parameter
		body.Name, body.In, body.Required = "body", "body", true
		body.Schema = &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef("#/definitions/" + o.body)}}
		op.Parameters = append(op.Parameters, body)
	}
	for _, p := range o.params {
		op.Parameters = append(op.Parameters, v2Param(p))
	}
	op.Responses = &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{
		401: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}},
	}}}
	for _, code := range o.codes {
		op.Responses.StatusCodeResponses[code] = spec.Response{ResponseProps: spec.ResponseProps{
			Description: responseDescription(code),
			Schema:      v2ResponseSchema(o.response),
		}}
	}
	op.AddExtension(extAction, o.action)
	if o.gvk != nil {
		op.AddExtension(extGVK, gvkObject(*o.gvk))
	}
	return op
}

func v2ResponseSchema(def string) *spec.Schema {
	if def == "" {
		return &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"string"}}}
	}
	return &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef("#/definitions/" + def)}}
}

func responseDescription(code int) string {
	switch code {
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	}
	return "OK"
}
