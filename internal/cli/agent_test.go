package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestCommandErrors checks that mistakes on the command line end with
// one line on stderr and exit code 2, before anything starts.
func TestCommandErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"agent without server", []string{"agent", "--token", "abcdef.0123456789abcdef"}, "skiff agent: --server is required"},
		{"agent without token", []string{"agent", "--server", "https://10.0.0.1:6443"}, "skiff agent: --token is required"},
		{"agent with http", []string{"agent", "--server", "http://10.0.0.1:6443", "--token", "abcdef.0123456789abcdef"}, "must be an https:// URL"},
		{"agent with a bare token", []string{"agent", "--server", "https://10.0.0.1:6443", "--token", "abcdef.0123456789abcdef"}, "--token has no CA hash"},
		{"agent with a passphrase", []string{"agent", "--server", "https://10.0.0.1:6443", "--token", "hunter2"}, "--token: invalid join token"},
		{"agent with conflicting hashes", []string{"agent", "--server", "https://10.0.0.1:6443",
			"--token", "K10" + strings.Repeat("a", 64) + "::abcdef.0123456789abcdef", "--ca-cert-hash", "sha256:" + strings.Repeat("b", 64)}, "differs from the CA hash in --token"},
		{"agent with a bad taint", []string{"agent", "--server", "https://10.0.0.1:6443", "--token", "abcdef.0123456789abcdef",
			"--ca-cert-hash", "sha256:" + strings.Repeat("b", 64), "--node-taint", "a=b:Never"}, "effect must be"},
		{"token without verb", []string{"token"}, "Usage:"},
		{"images without files", []string{"images", "import"}, "skiff images import: no files given"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tc.args, &stdout, &stderr)
			out := strings.TrimRight(stderr.String(), "\n")
			if code != 2 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, out, tc.want)
			}
			if !strings.HasPrefix(tc.want, "Usage") && strings.Contains(out, "\n") {
				t.Errorf("stderr has more than one line: %q", out)
			}
		})
	}
}
