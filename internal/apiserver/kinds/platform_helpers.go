package kinds

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CreatedAtColumn is the "Created At" column upstream's default table
// convertor shows (roles, cluster roles, CRDs): the creation time itself
// rather than its age.
var CreatedAtColumn = metav1.TableColumnDefinition{
	Name: "Created At", Type: "date",
	Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"],
}

// CreatedAt formats ts for CreatedAtColumn: RFC 3339 in UTC, as upstream
// does (a zero time prints as 0001-01-01T00:00:00Z there too).
func CreatedAt(ts metav1.Time) string {
	return ts.UTC().Format(time.RFC3339)
}
