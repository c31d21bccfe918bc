//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// Patterns for values that vary from run to run.
const (
	// age is the AGE column: 0s, 45s, 2m3s, 5h.
	age = `(?:[0-9]+[smhdy])+`
	// num is a non-negative integer.
	num = `[0-9]+`
	// ip is an IPv4 address.
	ip = `[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+`
	// timestamp is an RFC 3339 time in UTC as the API serializes it.
	timestamp = `[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z`
	// uid is a UUID.
	uid = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
)

// lit quotes s for use in a line pattern.
func lit(s string) string { return regexp.QuoteMeta(s) }

// row is the pattern of one table line: cells (patterns) separated by the
// three or more spaces kubectl's tabwriter puts between columns. An empty
// cell is padded with spaces like any other.
func row(cells ...string) string {
	return strings.Join(cells, ` {3,}`) + ` *`
}

// header is the pattern of a table header with the given column names.
func header(names ...string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = lit(n)
	}
	return row(q...)
}

// deleted is the pattern of kubectl delete's line for one object; kubectl
// 1.33 and later add the namespace.
func deleted(resource, name string) string {
	return lit(fmt.Sprintf("%s %q deleted", resource, name)) + `(?: from [a-z0-9-]+ namespace)?`
}

func compile(pattern string) *regexp.Regexp {
	return regexp.MustCompile("^(?:" + pattern + ")$")
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// wantLines checks that r succeeded and that its stdout has exactly one line
// per pattern, each matching the pattern in full.
func wantLines(t *testing.T, r Result, patterns ...string) bool {
	t.Helper()
	if r.Code != 0 {
		t.Errorf("want exit code 0 and stdout lines\n%s\ngot:\n%s", indent(strings.Join(patterns, "\n")), r)
		return false
	}
	return matchLines(t, r, r.Stdout, "stdout", patterns)
}

func matchLines(t *testing.T, r Result, out, what string, patterns []string) bool {
	t.Helper()
	lines := splitLines(out)
	ok := len(lines) == len(patterns)
	for i := 0; ok && i < len(lines); i++ {
		ok = compile(patterns[i]).MatchString(lines[i])
	}
	if !ok {
		t.Errorf("want %s lines matching\n%s\ngot:\n%s", what, indent(strings.Join(patterns, "\n")), r)
	}
	return ok
}

// wantHasLines checks that r succeeded and that its stdout has, in order,
// lines matching each pattern in full (other lines may come between).
func wantHasLines(t *testing.T, r Result, patterns ...string) bool {
	t.Helper()
	if r.Code != 0 {
		t.Errorf("want exit code 0 and stdout containing lines\n%s\ngot:\n%s", indent(strings.Join(patterns, "\n")), r)
		return false
	}
	return hasLines(t, r, r.Stdout, "stdout", patterns)
}

func hasLines(t *testing.T, r Result, out, what string, patterns []string) bool {
	t.Helper()
	lines := splitLines(out)
	var missing []string
	next := 0
	for _, p := range patterns {
		re := compile(p)
		found := false
		for i := next; i < len(lines); i++ {
			if re.MatchString(lines[i]) {
				next, found = i+1, true
				break
			}
		}
		if !found {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("want %s containing, in order, lines matching\n%s\nmissing (or out of order):\n%s\ngot:\n%s",
			what, indent(strings.Join(patterns, "\n")), indent(strings.Join(missing, "\n")), r)
		return false
	}
	return true
}

// wantEachLine checks that r succeeded and that, for each pattern, some
// line of its stdout matches it in full, in any order. It reports every
// missing pattern at once.
func wantEachLine(t *testing.T, r Result, patterns ...string) bool {
	t.Helper()
	if r.Code != 0 {
		t.Errorf("want exit code 0, got:\n%s", r)
		return false
	}
	lines := splitLines(r.Stdout)
	var missing []string
	for _, p := range patterns {
		re := compile(p)
		found := false
		for _, line := range lines {
			if re.MatchString(line) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("want stdout with lines matching each of\n%s\nmissing:\n%s\ngot:\n%s",
			indent(strings.Join(patterns, "\n")), indent(strings.Join(missing, "\n")), r)
		return false
	}
	return true
}

// wantCodeHasLines checks that r exited with code and that its stdout has,
// in order, lines matching each pattern in full.
func wantCodeHasLines(t *testing.T, r Result, code int, patterns ...string) bool {
	t.Helper()
	if r.Code != code {
		t.Errorf("want exit code %d and stdout containing lines\n%s\ngot:\n%s", code, indent(strings.Join(patterns, "\n")), r)
		return false
	}
	return hasLines(t, r, r.Stdout, "stdout", patterns)
}

// wantError checks that r exited with code and that its stderr has, in
// order, lines matching each pattern in full.
func wantError(t *testing.T, r Result, code int, patterns ...string) bool {
	t.Helper()
	if r.Code != code {
		t.Errorf("want exit code %d and stderr containing lines\n%s\ngot:\n%s", code, indent(strings.Join(patterns, "\n")), r)
		return false
	}
	return hasLines(t, r, r.Stderr, "stderr", patterns)
}

// wantEqual checks a single value, naming what it is.
func wantEqual(t *testing.T, what, got, want string) bool {
	t.Helper()
	if got != want {
		t.Errorf("%s: want %q, got %q", what, want, got)
		return false
	}
	return true
}

// decode parses r's JSON or YAML stdout into a generic map.
func decode(t *testing.T, r Result) map[string]any {
	t.Helper()
	if r.Code != 0 {
		t.Errorf("want exit code 0, got:\n%s", r)
		return nil
	}
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(r.Stdout), &obj); err != nil {
		t.Errorf("parse output: %v\n%s", err, r)
		return nil
	}
	return obj
}

// field returns the value at a dotted path in a decoded object, with [i] for
// list items, as a string ("" when absent; JSON for maps and lists).
func field(obj any, path string) string {
	cur := obj
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 {
			name = part[:i]
			fmt.Sscanf(part[i:], "[%d]", &idx)
		}
		if name != "" {
			m, ok := cur.(map[string]any)
			if !ok {
				return ""
			}
			cur = m[name]
		}
		if idx >= 0 {
			l, ok := cur.([]any)
			if !ok || idx >= len(l) {
				return ""
			}
			cur = l[idx]
		}
	}
	switch v := cur.(type) {
	case nil:
		return ""
	case string:
		return v
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b)
	default:
		return fmt.Sprint(v)
	}
}
