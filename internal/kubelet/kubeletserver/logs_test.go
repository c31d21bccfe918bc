package kubeletserver

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// criLog is a CRI log file: three full lines (the second split in two
// partial writes) and one on stderr.
const criLog = `2026-01-02T03:04:01.000000001Z stdout F one
2026-01-02T03:04:02.5Z stdout P tw
2026-01-02T03:04:02.6Z stdout F o
2026-01-02T03:04:03Z stderr F three
2026-01-02T03:04:04Z stdout F 
`

func writeLog(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCopyLog(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	tests := []struct {
		name string
		opts logOptions
		want string
	}{
		{name: "all", opts: logOptions{tailLines: -1}, want: "one\ntwo\nthree\n\n"},
		{name: "tail 2", opts: logOptions{tailLines: 2}, want: "three\n\n"},
		{name: "tail 3 joins partial lines", opts: logOptions{tailLines: 3}, want: "two\nthree\n\n"},
		{name: "tail more than lines", opts: logOptions{tailLines: 10}, want: "one\ntwo\nthree\n\n"},
		{name: "tail 0", opts: logOptions{tailLines: 0}, want: ""},
		{name: "since", opts: logOptions{tailLines: -1, since: at("2026-01-02T03:04:03Z")}, want: "three\n\n"},
		{name: "limit bytes", opts: logOptions{tailLines: -1, limitBytes: 6}, want: "one\ntw"},
		{
			name: "timestamps",
			opts: logOptions{tailLines: 2, timestamps: true},
			want: "2026-01-02T03:04:03Z three\n2026-01-02T03:04:04Z \n",
		},
		{
			name: "timestamps on the first part of a split line",
			opts: logOptions{tailLines: 3, timestamps: true},
			want: "2026-01-02T03:04:02.5Z two\n2026-01-02T03:04:03Z three\n2026-01-02T03:04:04Z \n",
		},
	}
	path := writeLog(t, criLog)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			err := copyLog(context.Background(), &b, path, tc.opts, time.Millisecond, func(context.Context) bool { return false })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCopyLogMissingFile(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := copyLog(context.Background(), &b, filepath.Join(t.TempDir(), "none.log"), logOptions{tailLines: -1}, time.Millisecond, nil); err != nil || b.Len() != 0 {
		t.Errorf("copyLog of a missing file = %q, %v; want nothing", b.String(), err)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// TestCopyLogFollow appends to a followed log, then stops the container:
// the new lines arrive, including those written just before the stop.
func TestCopyLogFollow(t *testing.T) {
	t.Parallel()
	path := writeLog(t, "2026-01-02T03:04:01Z stdout F first\n")
	stopped := make(chan struct{})
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() {
		done <- copyLog(context.Background(), out, path, logOptions{tailLines: -1, follow: true}, time.Millisecond, func(context.Context) bool {
			select {
			case <-stopped:
				return false
			default:
				return true
			}
		})
	}()
	appendLine := func(s string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for out.String() != want {
			if time.Now().After(deadline) {
				t.Fatalf("output %q, want %q", out.String(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("first\n")
	// A line written in two pieces is shown once it is complete.
	appendLine("2026-01-02T03:04:02Z stdout F sec")
	appendLine("ond\n")
	waitFor("first\nsecond\n")
	appendLine("2026-01-02T03:04:03Z stdout F last\n")
	close(stopped)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "first\nsecond\nlast\n" {
		t.Errorf("output %q", got)
	}
}

func TestCopyLogFollowEndsWithContext(t *testing.T) {
	t.Parallel()
	path := writeLog(t, criLog)
	ctx, cancel := context.WithCancel(context.Background())
	var b bytes.Buffer
	polls := 0
	err := copyLog(ctx, &b, path, logOptions{tailLines: -1, follow: true}, time.Millisecond, func(context.Context) bool {
		polls++
		if polls == 3 {
			cancel()
		}
		return true
	})
	if err != context.Canceled {
		t.Errorf("copyLog = %v, want context.Canceled", err)
	}
}

func TestParseLogOptions(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		query   string
		want    logOptions
		wantErr string
	}{
		{query: "", want: logOptions{tailLines: -1}},
		{query: "follow=true&previous=1&timestamps=true&tailLines=5&limitBytes=10", want: logOptions{follow: true, previous: true, timestamps: true, tailLines: 5, limitBytes: 10}},
		{query: "sinceSeconds=5", want: logOptions{tailLines: -1, since: now.Add(-5 * time.Second)}},
		{query: "sinceTime=2026-01-01T00:00:00Z", want: logOptions{tailLines: -1, since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{query: "sinceTime=2026-01-01T00:00:00Z&sinceSeconds=4", wantErr: "at most one"},
		{query: "tailLines=-1", wantErr: "invalid tailLines"},
		{query: "follow=maybe", wantErr: "invalid follow"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			got, err := parseLogOptions(q, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(logOptions{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
