package openapi

import (
	"fmt"

	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// BuildV3 returns one OpenAPI v3 document per group version, keyed by the
// discovery path of the group version ("api/v1", "apis/apps/v1", ...). Each
// document holds the paths of its group version and, under
// components.schemas, every schema they reach. References point at
// "#/components/schemas/<name>"; a reference with a description or default
// is wrapped in a one-element allOf, and multi-typed scalars (Quantity,
// IntOrString) use oneOf, as upstream does. It returns an error wrapping
// ErrInvalidResource when a resource is malformed.
func BuildV3(resources []Resource) (map[string]*spec3.OpenAPI, error) {
	defs, err := buildDefinitions(resources, true)
	if err != nil {
		return nil, err
	}
	out := map[string]*spec3.OpenAPI{}
	for gv, routes := range buildRoutes(resources) {
		doc := &spec3.OpenAPI{
			Version: "3.0.0",
			Info:    &spec.Info{InfoProps: spec.InfoProps{Title: Title, Version: Version}},
			Paths:   &spec3.Paths{Paths: map[string]*spec3.Path{}},
			Components: &spec3.Components{
				Schemas: map[string]*spec.Schema{},
				SecuritySchemes: spec3.SecuritySchemes{
					"BearerToken": &spec3.SecurityScheme{SecuritySchemeProps: spec3.SecuritySchemeProps{
						Type: "apiKey", Name: "authorization", In: "header",
						Description: "Bearer Token authentication",
					}},
				},
			},
			SecurityRequirement: []map[string][]string{{"BearerToken": {}}},
		}
		var roots []string
		for _, rt := range routes {
			doc.Paths.Paths[rt.path] = v3Path(rt)
			for _, o := range rt.ops {
				for _, name := range []string{o.body, o.response} {
					if name != "" {
						roots = append(roots, name)
					}
				}
			}
		}
		names, err := closure(defs, roots)
		if err != nil {
			return nil, fmt.Errorf("group version %s: %w", gv, err)
		}
		for name := range names {
			s := defs[name]
			doc.Components.Schemas[name] = &s
		}
		out[gvPath(gv)] = doc
	}
	return out, nil
}

func v3Path(rt route) *spec3.Path {
	p := &spec3.Path{}
	for _, prm := range rt.params {
		p.Parameters = append(p.Parameters, v3Param(prm))
	}
	for _, o := range rt.ops {
		op := v3Operation(o)
		switch o.method {
		case "get":
			p.Get = op
		case "put":
			p.Put = op
		case "post":
			p.Post = op
		case "patch":
			p.Patch = op
		case "delete":
			p.Delete = op
		}
	}
	return p
}

func v3Param(p param) *spec3.Parameter {
	out := &spec3.Parameter{}
	out.Name, out.In, out.Description, out.Required = p.name, p.in, p.desc, p.required
	out.Schema = &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{p.typ}, UniqueItems: p.in == "query"}}
	return out
}

func v3Ref(def string) *spec.Schema {
	if def == "" {
		return &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"string"}}}
	}
	return &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef("#/components/schemas/" + def)}}
}

func v3Operation(o operation) *spec3.Operation {
	op := &spec3.Operation{}
	op.OperationId = o.id
	op.Description = o.desc
	op.Tags = []string{o.tag}
	for _, p := range o.params {
		op.Parameters = append(op.Parameters, v3Param(p))
	}
	if o.body != "" {
		op.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{
			Content:  map[string]*spec3.MediaType{},
			Required: o.method != "delete",
		}}
		for _, mt := range o.consumes {
			op.RequestBody.Content[mt] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: v3Ref(o.body)}}
		}
	}
	op.Responses = &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{
		401: {ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}},
	}}}
	for _, code := range o.codes {
		resp := &spec3.Response{ResponseProps: spec3.ResponseProps{
			Description: responseDescription(code),
			Content:     map[string]*spec3.MediaType{},
		}}
		for _, mt := range o.produces {
			resp.Content[mt] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: v3Ref(o.response)}}
		}
		op.Responses.StatusCodeResponses[code] = resp
	}
	op.AddExtension(extAction, o.action)
	if o.gvk != nil {
		op.AddExtension(extGVK, gvkObject(*o.gvk))
	}
	return op
}
