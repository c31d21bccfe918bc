package apiserver

import (
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// defaultColumns are upstream's columns for kinds without a printer.
var defaultColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
}

// toTable renders objects (served form) as a meta.k8s.io Table.
func (rs *resource) toTable(r *http.Request, items []runtime.Object, lm *metav1.ListMeta) (*metav1.Table, error) {
	include := metav1.IncludeMetadata
	switch v := metav1.IncludeObjectPolicy(r.URL.Query().Get("includeObject")); v {
	case "":
	case metav1.IncludeNone, metav1.IncludeMetadata, metav1.IncludeObject:
		include = v
	default:
		return nil, apierrors.NewBadRequest("includeObject: Unsupported value: \"" + string(v) + "\"")
	}
	cols, row := rs.kind.Strategy.Columns, rs.kind.Strategy.Row
	if rs.crd != nil {
		cols, row = rs.crd.columns, rs.crd.row
	}
	if cols == nil || row == nil {
		cols, row = defaultColumns, defaultRow
	}
	t := &metav1.Table{ColumnDefinitions: cols, Rows: make([]metav1.TableRow, 0, len(items))}
	t.TypeMeta = metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}
	if lm != nil {
		t.ListMeta = *lm
	} else if len(items) == 1 {
		if m, err := meta.Accessor(items[0]); err == nil {
			t.ResourceVersion = m.GetResourceVersion()
		}
	}
	now := rs.s.now()
	for _, it := range items {
		tr := metav1.TableRow{Cells: row(it, now)}
		switch include {
		case metav1.IncludeMetadata:
			tr.Object.Object = partialMetadata(it, metav1.SchemeGroupVersion)
		case metav1.IncludeObject:
			tr.Object.Object = it
		}
		t.Rows = append(t.Rows, tr)
	}
	return t, nil
}

func defaultRow(obj runtime.Object, _ time.Time) []interface{} {
	m, _ := meta.Accessor(obj)
	ts := m.GetCreationTimestamp()
	return []interface{}{m.GetName(), ts.UTC().Format(time.RFC3339)}
}
