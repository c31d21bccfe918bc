package expansion

import "testing"

func TestExpand(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"A": "x", "B": "y z"}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "x"},
		{"$(A)-$(B)", "x-y z"},
		{"$(MISSING)", "$(MISSING)"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$x"},
		{"cost $5", "cost $5"},
		{"$(A", "$(A"},
		{"end$", "end$"},
	} {
		if got := Expand(tc.in, vars); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
