package cri

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestWrap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		is     error
		prefix string
	}{
		{"not found", status.Error(codes.NotFound, "no such container"), ErrNotFound, "container status c1: not found: no such container"},
		{"exists", status.Error(codes.AlreadyExists, "taken"), ErrAlreadyExists, "container status c1: already exists"},
		{"unimplemented", status.Error(codes.Unimplemented, "x"), ErrUnimplemented, "container status c1: not implemented"},
		{"other code", status.Error(codes.Unknown, "boom"), nil, "container status c1: rpc error: code = Unknown desc = boom"},
		{"plain", errors.New("boom"), nil, "container status c1: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := wrap(tc.err, "container status", "c1")
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v is not %v", err, tc.is)
			}
			if got := err.Error(); len(got) < len(tc.prefix) || got[:len(tc.prefix)] != tc.prefix {
				t.Errorf("message %q, want prefix %q", got, tc.prefix)
			}
		})
	}
	if wrap(nil, "x", "y") != nil {
		t.Error("wrap(nil) != nil")
	}
}

func TestDialRejectsTCP(t *testing.T) {
	t.Parallel()
	if _, err := Dial("tcp://127.0.0.1:1"); err == nil {
		t.Error("no error")
	}
	c, err := Dial("/run/none.sock")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
