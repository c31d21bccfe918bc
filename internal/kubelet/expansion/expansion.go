// Package expansion expands the $(VAR) references Kubernetes allows in a
// container's command, args, env values and probe/hook commands.
package expansion

import "strings"

// Expand replaces $(NAME) with vars[NAME] when NAME is defined, leaves
// references to undefined names as written, and turns the escape $$ into
// a single $ (so $$(NAME) stays literally $(NAME)), as the Kubernetes API
// documents for command, args and env values.
func Expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			if v, ok := vars[s[i+2:i+2+end]]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
