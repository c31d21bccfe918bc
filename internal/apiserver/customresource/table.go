package customresource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/util/jsonpath"
)

var metaDocs = metav1.ObjectMeta{}.SwaggerDoc()

// column is one compiled additionalPrinterColumn.
type column struct {
	typ  string
	path *jsonpath.JSONPath
}

// newColumns compiles a version's printer columns into upstream's table
// columns: Name first, then the declared columns, or Age when there are
// none.
func newColumns(cols []apiextensionsv1.CustomResourceColumnDefinition) ([]column, []metav1.TableColumnDefinition, error) {
	if len(cols) == 0 {
		cols = []apiextensionsv1.CustomResourceColumnDefinition{{
			Name: "Age", Type: "date", Description: metaDocs["creationTimestamp"], JSONPath: ".metadata.creationTimestamp",
		}}
	}
	defs := []metav1.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name", Description: metaDocs["name"]}}
	out := make([]column, 0, len(cols))
	for _, c := range cols {
		p := jsonpath.New(c.Name)
		if err := p.Parse(fmt.Sprintf("{%s}", c.JSONPath)); err != nil {
			return nil, nil, fmt.Errorf("unrecognized column definition %q", c.JSONPath)
		}
		p.AllowMissingKeys(true)
		desc := c.Description
		if desc == "" {
			desc = "Custom resource definition column (in JSONPath format): " + c.JSONPath
		}
		out = append(out, column{typ: c.Type, path: p})
		defs = append(defs, metav1.TableColumnDefinition{Name: c.Name, Type: c.Type, Format: c.Format, Description: desc, Priority: c.Priority})
	}
	return out, defs, nil
}

// row evaluates the columns on u. A column whose path finds nothing, or a
// value of the wrong type, gives a nil cell (printed as <none>).
func row(cols []column, u *unstructured.Unstructured, now time.Time) []interface{} {
	cells := make([]interface{}, 0, len(cols)+1)
	cells = append(cells, u.GetName())
	var buf bytes.Buffer
	for _, c := range cols {
		res, err := c.path.FindResults(u.Object)
		if err != nil || len(res) == 0 || len(res[0]) == 0 {
			cells = append(cells, nil)
			continue
		}
		v := res[0][0].Interface()
		if c.typ == "string" {
			buf.Reset()
			if err := c.path.PrintResults(&buf, []reflect.Value{reflect.ValueOf(v)}); err != nil {
				cells = append(cells, nil)
				continue
			}
			cells = append(cells, buf.String())
			continue
		}
		cells = append(cells, cell(c.typ, v, now))
	}
	return cells
}

// cell converts a JSON value to a table cell of type typ.
func cell(typ string, v interface{}, now time.Time) interface{} {
	if v == nil {
		return nil
	}
	switch typ {
	case "integer":
		switch t := v.(type) {
		case int64:
			return t
		case float64:
			return int64(t)
		case json.Number:
			if i, err := t.Int64(); err == nil {
				return i
			}
		}
	case "number":
		switch t := v.(type) {
		case int64:
			return float64(t)
		case float64:
			return t
		case json.Number:
			if f, err := t.Float64(); err == nil {
				return f
			}
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			return b
		}
	case "string":
		if s, ok := v.(string); ok {
			return s
		}
	case "date":
		if s, ok := v.(string); ok {
			var ts metav1.Time
			if err := ts.UnmarshalQueryParameter(s); err != nil {
				return "<invalid>"
			}
			if ts.IsZero() {
				return "<unknown>"
			}
			return duration.HumanDuration(now.Sub(ts.Time))
		}
	}
	return nil
}
