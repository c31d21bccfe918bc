package kubeletserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// logOptions are the query parameters of /containerLogs, those of
// upstream's PodLogOptions.
type logOptions struct {
	follow, previous, timestamps bool
	// tailLines is how many of the last lines to show; -1 means all.
	tailLines int64
	// since drops lines logged before it; zero means none.
	since time.Time
	// limitBytes stops the output after that many bytes; 0 means no limit.
	limitBytes int64
}

// parseLogOptions reads opts from q; now anchors sinceSeconds.
func parseLogOptions(q url.Values, now time.Time) (logOptions, error) {
	opts := logOptions{tailLines: -1}
	var err error
	parseBool := func(name string) bool {
		v := q.Get(name)
		if v == "" || err != nil {
			return false
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			err = errorf(http.StatusBadRequest, "invalid %s %q: must be true or false", name, v)
		}
		return b
	}
	parseInt := func(name string, min int64) (int64, bool) {
		v := q.Get(name)
		if v == "" || err != nil {
			return 0, false
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < min {
			err = errorf(http.StatusBadRequest, "invalid %s %q: must be an integer of at least %d", name, v, min)
			return 0, false
		}
		return n, true
	}
	opts.follow = parseBool("follow")
	opts.previous = parseBool("previous")
	opts.timestamps = parseBool("timestamps")
	if n, ok := parseInt("tailLines", 0); ok {
		opts.tailLines = n
	}
	if n, ok := parseInt("limitBytes", 1); ok {
		opts.limitBytes = n
	}
	if n, ok := parseInt("sinceSeconds", 1); ok {
		opts.since = now.Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" && err == nil {
		if q.Get("sinceSeconds") != "" {
			return opts, errorf(http.StatusBadRequest, "at most one of sinceTime or sinceSeconds may be specified")
		}
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return opts, errorf(http.StatusBadRequest, "invalid sinceTime %q: %v", v, perr)
		}
		opts.since = t
	}
	return opts, err
}

func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, err := parseLogOptions(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, err)
		return
	}
	list, err := s.containers(r.Context(), ns, pod, "", container)
	if err != nil {
		writeError(w, err)
		return
	}
	var c *runtimeapi.ContainerStatus
	switch {
	case opts.previous && len(list) < 2:
		writeError(w, errorf(http.StatusBadRequest, "previous terminated container %q in pod %q not found", container, pod))
		return
	case opts.previous:
		c = list[1]
	case len(list) == 0:
		writeError(w, errorf(http.StatusBadRequest, "container %q in pod %q is waiting to start - no logs yet", container, pod))
		return
	default:
		c = list[0]
		// A restarted container that has not started yet has no log:
		// show the one before, as upstream shows lastState's.
		if c.State == runtimeapi.ContainerState_CONTAINER_CREATED && len(list) > 1 {
			c = list[1]
		}
	}
	if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		opts.follow = false
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	running := func(ctx context.Context) bool {
		st, err := s.cfg.Runtime.ContainerStatus(ctx, c.Id, false)
		return err == nil && st.Status.State == runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	if err := copyLog(r.Context(), w, c.LogPath, opts, s.cfg.FollowPoll, running); err != nil && r.Context().Err() == nil {
		s.log.Debug("Streaming a container log failed", "pod", ns+"/"+pod, "container", container, "err", err)
	}
}

// copyLog writes the CRI log file at path to w as opts ask. When
// following, it polls the file every poll until running reports false
// (then it drains the file) or ctx ends.
func copyLog(ctx context.Context, w io.Writer, path string, opts logOptions, poll time.Duration, running func(context.Context) bool) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // the container has not written anything yet
	}
	if err != nil {
		return err
	}
	defer f.Close()
	start, err := tailOffset(f, opts.tailLines)
	if err != nil {
		return err
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return err
	}
	lw := &logWriter{w: w, opts: opts, remaining: opts.limitBytes, lineStart: true}
	flush := func() {
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
	br := bufio.NewReader(f)
	var pending []byte
	draining := !opts.follow
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		line, err := br.ReadBytes('\n')
		pending = append(pending, line...)
		if err == nil {
			done, werr := lw.writeLine(pending)
			pending = pending[:0]
			if werr != nil || done {
				return werr
			}
			continue
		}
		if err != io.EOF {
			return err
		}
		if draining {
			return nil
		}
		flush()
		if timer == nil {
			timer = time.NewTimer(poll)
		} else {
			timer.Reset(poll)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		if !running(ctx) {
			draining = true // read what the container wrote last, then stop
		}
	}
}

// tailOffset returns where the last n messages of the CRI log f start
// (0 for n < 0 or when f holds fewer), counting a message per line
// tagged F (full). It leaves f's offset anywhere.
func tailOffset(f *os.File, n int64) (int64, error) {
	if n < 0 {
		return 0, nil
	}
	if n == 0 {
		return f.Seek(0, io.SeekEnd)
	}
	ring := make([]int64, 0, n)
	next := 0
	var off int64
	msgStart := true
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			if msgStart {
				if int64(len(ring)) < n {
					ring = append(ring, off)
				} else {
					ring[next] = off
					next = (next + 1) % len(ring)
				}
			}
			_, _, full, _, ok := parseCRILine(line)
			msgStart = !ok || full
			off += int64(len(line))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if int64(len(ring)) < n {
		return 0, nil
	}
	return ring[next], nil
}

// parseCRILine splits one line of a CRI log file,
// "<RFC3339Nano time> <stdout|stderr> <F|P> <text>\n".
func parseCRILine(line []byte) (ts time.Time, stream string, full bool, text []byte, ok bool) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	parts := bytes.SplitN(line, []byte(" "), 4)
	if len(parts) < 3 {
		return ts, "", false, nil, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(parts[0]))
	if err != nil {
		return ts, "", false, nil, false
	}
	if len(parts) == 4 {
		text = parts[3]
	}
	switch string(parts[2]) {
	case "F":
		full = true
	case "P":
	default:
		return ts, "", false, nil, false
	}
	return ts, string(parts[1]), full, text, true
}

// logWriter turns CRI log lines into the text kubectl logs shows.
type logWriter struct {
	w    io.Writer
	opts logOptions
	// remaining counts down limitBytes (when set).
	remaining int64
	// lineStart is whether the next text begins a line (for timestamps).
	lineStart bool
}

// writeLine writes one CRI log line; done reports that limitBytes is
// used up.
func (lw *logWriter) writeLine(line []byte) (done bool, err error) {
	ts, _, full, text, ok := parseCRILine(line)
	if !ok {
		return false, nil // not a CRI line (a torn write): skip it
	}
	if !lw.opts.since.IsZero() && ts.Before(lw.opts.since) {
		lw.lineStart = full
		return false, nil
	}
	var b bytes.Buffer
	if lw.opts.timestamps && lw.lineStart {
		b.WriteString(ts.UTC().Format(time.RFC3339Nano))
		b.WriteByte(' ')
	}
	b.Write(text)
	if full {
		b.WriteByte('\n')
	}
	lw.lineStart = full
	out := b.Bytes()
	if lw.opts.limitBytes > 0 {
		if int64(len(out)) >= lw.remaining {
			out, done = out[:lw.remaining], true
		}
		lw.remaining -= int64(len(out))
	}
	if _, err := lw.w.Write(out); err != nil {
		return true, fmt.Errorf("write log: %w", err)
	}
	return done, nil
}
