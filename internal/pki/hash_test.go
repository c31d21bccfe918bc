package pki

import (
	"os"
	"testing"
)

func TestCAHash(t *testing.T) {
	t.Parallel()
	ca, err := os.ReadFile("testdata/ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pem     []byte
		want    string
		wantErr bool
	}{
		{
			// want computed independently with:
			// openssl x509 -in testdata/ca.crt -pubkey -noout | openssl pkey -pubin -outform der | sha256sum
			name: "known certificate",
			pem:  ca,
			want: "sha256:04bbfe5cef81d11a8e55a9fb0cb854fddeb31a83a6cf1f780e32e861dbe85a0b",
		},
		{
			name: "leading non-certificate block",
			pem:  append([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), ca...),
			want: "sha256:04bbfe5cef81d11a8e55a9fb0cb854fddeb31a83a6cf1f780e32e861dbe85a0b",
		},
		{name: "empty", pem: nil, wantErr: true},
		{name: "not PEM", pem: []byte("hello"), wantErr: true},
		{name: "bad DER", pem: []byte("-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := CAHash(tc.pem)
			if (err != nil) != tc.wantErr {
				t.Fatalf("CAHash() error = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("CAHash() = %q, want %q", got, tc.want)
			}
		})
	}
}
