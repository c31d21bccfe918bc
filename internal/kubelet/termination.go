package kubelet

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Annotations that tell a later sync (or a restarted agent) where a
// container's termination message is and how to fall back (upstream's
// names).
const (
	annotationTerminationPath   = "io.kubernetes.container.terminationMessagePath"
	annotationTerminationPolicy = "io.kubernetes.container.terminationMessagePolicy"
)

// Upstream's limits on termination messages: the file is read up to 4 KiB;
// the log fallback takes the last 80 lines, at most 2 KiB.
const (
	maxTerminationMessage = 4 << 10
	maxLogMessageLines    = 80
	maxLogMessage         = 2 << 10
)

// addTerminationMessage creates the host file that backs container c's
// terminationMessagePath for this instance, under the pod's directory,
// and mounts it into cfg.
func (k *Kubelet) addTerminationMessage(pod *corev1.Pod, c *corev1.Container, cfg *runtimeapi.ContainerConfig) error {
	path := c.TerminationMessagePath
	if path == "" {
		path = corev1.TerminationMessagePathDefault
	}
	policy := c.TerminationMessagePolicy
	if policy == "" {
		policy = corev1.TerminationMessageReadFile
	}
	dir := filepath.Join(k.cfg.PodsDir, string(pod.UID), "containers", c.Name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("termination message file of container %s: %w", c.Name, err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	host := filepath.Join(dir, hex.EncodeToString(b))
	f, err := os.OpenFile(host, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o666)
	if err != nil {
		return fmt.Errorf("termination message file of container %s: %w", c.Name, err)
	}
	_ = f.Close() // empty file: nothing to flush
	// The container may run as any user: let it write.
	_ = os.Chmod(host, 0o666) // best effort; the umask may have cut the mode
	cfg.Mounts = append(cfg.Mounts, &runtimeapi.Mount{ContainerPath: path, HostPath: host})
	if cfg.Annotations == nil {
		cfg.Annotations = map[string]string{}
	}
	cfg.Annotations[annotationTerminationPath] = path
	cfg.Annotations[annotationTerminationPolicy] = string(policy)
	return nil
}

// terminationMessage returns what the exited container s left as its
// termination message: the file mounted at its terminationMessagePath,
// or, under FallbackToLogsOnError after a failure with an empty file, the
// tail of its log.
func terminationMessage(s *runtimeapi.ContainerStatus) string {
	path := s.GetAnnotations()[annotationTerminationPath]
	if path == "" {
		return ""
	}
	var msg string
	for _, m := range s.GetMounts() {
		if m.ContainerPath == path {
			msg = readHead(m.HostPath, maxTerminationMessage)
			break
		}
	}
	if msg == "" && s.ExitCode != 0 &&
		s.GetAnnotations()[annotationTerminationPolicy] == string(corev1.TerminationMessageFallbackToLogsOnError) {
		msg = logTail(s.GetLogPath(), maxLogMessageLines, maxLogMessage)
	}
	return msg
}

func readHead(path string, limit int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "" // no file: no message
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, limit)) // a short read still gives a message
	return string(b)
}

// logTail returns the last lines of a CRI log file's content (at most
// limit bytes, cut at the start).
func logTail(path string, lines, limit int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var out []string
	var partial strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// "<time> <stream> <P|F> <content>"
		fields := bytes.SplitN(sc.Bytes(), []byte(" "), 4)
		if len(fields) < 4 {
			continue
		}
		partial.Write(fields[3])
		if string(fields[2]) == "P" {
			continue
		}
		out = append(out, partial.String())
		partial.Reset()
		if len(out) > lines {
			out = out[1:]
		}
	}
	s := strings.Join(out, "\n")
	if len(out) > 0 {
		s += "\n"
	}
	if len(s) > limit {
		s = s[len(s)-limit:]
	}
	return s
}

// withTerminationMessage returns s with the container's termination
// message added to its Message when it has exited.
func withTerminationMessage(s *runtimeapi.ContainerStatus) *runtimeapi.ContainerStatus {
	if s.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		return s
	}
	msg := terminationMessage(s)
	if msg == "" {
		return s
	}
	if s.Message != "" {
		s.Message += ": "
	}
	s.Message += msg
	return s
}
