package bootstraptoken

import (
	"errors"
	"strings"
	"testing"
)

const hash = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in      string
		want    Token
		wantErr string
	}{
		{name: "full", in: "K100123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef::abcdef.0123456789abcdef",
			want: Token{ID: "abcdef", Secret: "0123456789abcdef", CAHash: hash}},
		{name: "full with newline", in: "K100123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef::abcdef.0123456789abcdef\n",
			want: Token{ID: "abcdef", Secret: "0123456789abcdef", CAHash: hash}},
		{name: "bare", in: "abcdef.0123456789abcdef", want: Token{ID: "abcdef", Secret: "0123456789abcdef"}},
		{name: "no separator", in: "K10" + strings.Repeat("a", 64) + "abcdef.0123456789abcdef", wantErr: "must be K10<ca hash>::<id>.<secret>"},
		{name: "short hash", in: "K10abcd::abcdef.0123456789abcdef", wantErr: "must be sha256:<64 hex digits>"},
		{name: "upper case id", in: "ABCDEF.0123456789abcdef", wantErr: "6 and 16 characters of [a-z0-9]"},
		{name: "short secret", in: "abcdef.0123", wantErr: "6 and 16 characters"},
		{name: "k3s passphrase", in: "mysecret", wantErr: "6 and 16 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q) error %v, want %q", tc.in, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "0123456789abcdef") {
					t.Errorf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatRoundTrip(t *testing.T) {
	t.Parallel()
	for _, h := range []string{hash, ""} {
		tok, err := Generate(h)
		if err != nil {
			t.Fatal(err)
		}
		if !IsCredential(tok.Credential()) {
			t.Fatalf("credential %q has the wrong shape", tok.Credential())
		}
		back, err := Parse(tok.String())
		if err != nil || back != tok {
			t.Errorf("Parse(String()) = %+v, %v; want %+v", back, err, tok)
		}
		if h != "" && !strings.HasPrefix(tok.String(), "K10"+strings.TrimPrefix(h, "sha256:")+"::") {
			t.Errorf("String() = %q", tok.String())
		}
	}
	a, _ := Generate("")
	b, _ := Generate("")
	if a == b {
		t.Error("two generated tokens are equal")
	}
}

func TestParseCAHash(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		hash:                                hash,
		strings.TrimPrefix(hash, "sha256:"): hash,
		"SHA256:" + strings.ToUpper(strings.TrimPrefix(hash, "sha256:")): hash,
		"sha256:abc": "",
		"md5:" + strings.TrimPrefix(hash, "sha256:"): "",
	} {
		got, err := ParseCAHash(in)
		if want == "" {
			if err == nil {
				t.Errorf("ParseCAHash(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseCAHash(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
