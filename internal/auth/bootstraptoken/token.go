package bootstraptoken

import (
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Prefix starts every full join token; the 10 is the format's version.
const Prefix = "K10"

// hashPrefix is how CA hashes are written on their own, as kubeadm's
// --discovery-token-ca-cert-hash.
const hashPrefix = "sha256:"

var (
	credentialRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)
	hexHashRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ErrInvalid is wrapped by every parse error of this package.
var ErrInvalid = errors.New("invalid join token")

// Token is a join token: the bootstrap credential and, when known, the
// pin of the cluster's CA.
type Token struct {
	// ID is the public part (6 characters of [a-z0-9]); it names the
	// token's Secret.
	ID string
	// Secret is the private part (16 characters of [a-z0-9]).
	Secret string
	// CAHash is the CA pin as "sha256:<64 hex>", or "" when the token
	// was given without one.
	CAHash string
}

// Credential returns "<id>.<secret>", the bearer token agents present.
func (t Token) Credential() string { return t.ID + "." + t.Secret }

// String returns the full join token "K10<hex>::<id>.<secret>", or just
// the credential when t has no CA hash.
func (t Token) String() string {
	if t.CAHash == "" {
		return t.Credential()
	}
	return Prefix + strings.TrimPrefix(t.CAHash, hashPrefix) + "::" + t.Credential()
}

// Parse reads a full join token "K10<hex>::<id>.<secret>" or a bare
// credential "<id>.<secret>" (CAHash then empty). Errors wrap ErrInvalid
// and never contain the secret.
func Parse(s string) (Token, error) {
	s = strings.TrimSpace(s)
	var t Token
	cred := s
	if strings.HasPrefix(s, Prefix) {
		hash, rest, ok := strings.Cut(strings.TrimPrefix(s, Prefix), "::")
		if !ok {
			return Token{}, fmt.Errorf("%w: a %s token must be %s<ca hash>::<id>.<secret>", ErrInvalid, Prefix, Prefix)
		}
		h, err := ParseCAHash(hash)
		if err != nil {
			return Token{}, err
		}
		t.CAHash, cred = h, rest
	}
	m := credentialRE.FindStringSubmatch(cred)
	if m == nil {
		return Token{}, fmt.Errorf("%w: the credential must be <id>.<secret>, 6 and 16 characters of [a-z0-9]", ErrInvalid)
	}
	t.ID, t.Secret = m[1], m[2]
	return t, nil
}

// ParseCAHash accepts a CA pin as "sha256:<hex>" or bare hex (64 hex
// digits, any case) and returns it as "sha256:<lower-case hex>".
func ParseCAHash(s string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(s))
	h = strings.TrimPrefix(h, hashPrefix)
	if !hexHashRE.MatchString(h) {
		return "", fmt.Errorf("%w: CA hash %q must be sha256:<64 hex digits>", ErrInvalid, s)
	}
	return hashPrefix + h, nil
}

// IsCredential reports whether s has the shape of a bootstrap token
// credential, "<id>.<secret>"; other bearer tokens are not ours to judge.
func IsCredential(s string) bool { return credentialRE.MatchString(s) }

// Generate returns a new random token carrying caHash (which may be "").
func Generate(caHash string) (Token, error) {
	id, err := randomString(6)
	if err != nil {
		return Token{}, err
	}
	secret, err := randomString(16)
	if err != nil {
		return Token{}, err
	}
	return Token{ID: id, Secret: secret, CAHash: caHash}, nil
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters of alphabet drawn uniformly (bytes
// past the largest multiple of len(alphabet) are rejected, so no
// character is likelier than another).
func randomString(n int) (string, error) {
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate token: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// HashMismatch is the error an agent reports when the server's CA is not
// the one its token pins.
type HashMismatch struct{ Want, Got string }

func (e *HashMismatch) Error() string {
	return fmt.Sprintf("the server's CA certificate hash %s does not match the token's CA hash %s: refusing to trust this server", e.Got, e.Want)
}
