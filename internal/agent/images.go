package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skiff/skiff/internal/containerd"
)

// imagePollInterval is how often the agent looks for new tarballs in
// <data-dir>/agent/images/ while it runs.
const imagePollInterval = 2 * time.Second

// stamp identifies one version of a file.
type stamp struct {
	size    int64
	modTime time.Time
}

// watchImages imports the *.tar files that appear in (or change in) the
// agent's images/ directory while it runs, until ctx ends. It polls the
// one directory every imagePollInterval instead of using inotify: a
// ReadDir of a small directory is cheap, and polling also sees files
// copied in by any means. A file is imported once its size and mtime
// stay the same over two polls, so that a copy still being written is
// not imported half-way. Files there at the first poll were imported at
// start.
func (a *Agent) watchImages(ctx context.Context) {
	dir := filepath.Join(a.cfg.Dir, "images")
	done := scanImages(dir)
	pending := map[string]stamp{}
	t := time.NewTicker(imagePollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for name, st := range scanImages(dir) {
			if old, ok := done[name]; ok && old == st {
				continue
			}
			if p, ok := pending[name]; !ok || p != st {
				pending[name] = st
				continue
			}
			delete(pending, name)
			start := time.Now()
			if err := containerd.ImportImages(ctx, a.runtimeAddress(), filepath.Join(dir, name)); err != nil {
				if ctx.Err() != nil {
					return
				}
				a.log.Warn("Importing an image failed", "file", name, "err", err)
			} else {
				a.log.Info("Imported images", "files", 1, "file", name, "took", time.Since(start).Round(time.Millisecond))
			}
			// A failed file is retried only when it changes.
			done[name] = st
		}
	}
}

// scanImages returns the *.tar regular files of dir with their stamps.
func scanImages(dir string) map[string]stamp {
	out := map[string]stamp{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out // a missing dir has no images; Start creates it
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".tar") || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed between ReadDir and Info
		}
		out[e.Name()] = stamp{size: info.Size(), modTime: info.ModTime()}
	}
	return out
}
