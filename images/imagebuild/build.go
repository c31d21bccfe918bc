package imagebuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// References the built images are tagged with. The pause image carries
// upstream's name too, so that a runtime configured with the default
// sandbox image finds it without a registry.
var (
	PauseRefs   = []string{"registry.k8s.io/pause:3.10", "skiff.local/pause:latest"}
	BusyboxRefs = []string{"docker.io/library/busybox:latest"}
	TestappRefs = []string{"skiff.local/testapp:latest"}
)

// Image file names written by Build into Config.OutDir.
const (
	PauseFile   = "pause.tar"
	BusyboxFile = "busybox.tar"
	TestappFile = "testapp.tar"
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Config says where Build writes and what it builds from.
type Config struct {
	// OutDir receives pause.tar, busybox.tar and testapp.tar; it is
	// created when missing.
	OutDir string
	// Busybox is a statically linked busybox binary (default /bin/busybox,
	// from Debian's busybox-static).
	Busybox string
	// Go is the go command used to compile the pause and testapp programs
	// (default "go" from PATH). It runs inside this module.
	Go string
}

// Build writes the three images into cfg.OutDir and returns their paths.
func Build(ctx context.Context, cfg Config) ([]string, error) {
	if cfg.OutDir == "" {
		return nil, fmt.Errorf("imagebuild: no output directory")
	}
	if cfg.Busybox == "" {
		cfg.Busybox = "/bin/busybox"
	}
	if cfg.Go == "" {
		cfg.Go = "go"
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "skiff-imagebuild-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	pause, err := goBuild(ctx, cfg.Go, "github.com/skiff/skiff/images/pause", tmp)
	if err != nil {
		return nil, err
	}
	testapp, err := goBuild(ctx, cfg.Go, "github.com/skiff/skiff/images/testapp", tmp)
	if err != nil {
		return nil, err
	}
	busybox, err := BusyboxImage(ctx, cfg.Busybox)
	if err != nil {
		return nil, err
	}
	images := []struct {
		file string
		img  Image
	}{
		{PauseFile, PauseImage(pause)},
		{BusyboxFile, busybox},
		{TestappFile, TestappImage(testapp)},
	}
	var out []string
	for _, i := range images {
		p := filepath.Join(cfg.OutDir, i.file)
		if _, err := WriteFile(p, i.img); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// goBuild compiles a static linux/amd64 binary of pkg and returns its bytes.
func goBuild(ctx context.Context, goCmd, pkg, dir string) ([]byte, error) {
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w: %s", pkg, err, msg)
	}
	return os.ReadFile(out)
}

// baseFiles are the directories and files every image gets.
func baseFiles() []File {
	return []File{
		Dir("dev", 0o755), Dir("proc", 0o555), Dir("sys", 0o555),
		Dir("etc", 0o755), Dir("tmp", 0o1777), Dir("root", 0o700),
		Dir("var", 0o755), Dir("home", 0o755),
		Regular("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")),
		Regular("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")),
	}
}

// PauseImage returns the pause image around the compiled pause program.
func PauseImage(bin []byte) Image {
	return Image{
		Refs:   PauseRefs,
		Config: ImageConfig{Entrypoint: []string{"/pause"}, Env: []string{defaultPath}, WorkingDir: "/"},
		Files:  append(baseFiles(), Regular("pause", 0o755, bin)),
	}
}

// TestappImage returns the testapp image around the compiled testapp
// program.
func TestappImage(bin []byte) Image {
	return Image{
		Refs: TestappRefs,
		Config: ImageConfig{
			Entrypoint:   []string{"/testapp"},
			Env:          []string{defaultPath},
			WorkingDir:   "/",
			ExposedPorts: map[string]struct{}{"8080/tcp": {}, "9000/tcp": {}},
		},
		Files: append(baseFiles(), Regular("testapp", 0o755, bin)),
	}
}

// BusyboxImage returns a busybox image from a static busybox binary, with a
// symlink for each applet the binary lists.
func BusyboxImage(ctx context.Context, busybox string) (Image, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return Image{}, fmt.Errorf("busybox image: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, busybox, "--list-full")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Image{}, fmt.Errorf("busybox --list-full: %w: %s", err, stderr.Bytes())
	}
	files := append(baseFiles(), Regular("bin/busybox", 0o755, bin))
	for _, applet := range strings.Fields(stdout.String()) {
		applet = strings.TrimPrefix(applet, "/")
		if applet == "bin/busybox" {
			continue
		}
		rel, err := filepath.Rel(filepath.Dir(applet), "bin/busybox")
		if err != nil {
			return Image{}, err
		}
		files = append(files, Symlink(applet, rel))
	}
	return Image{
		Refs:   BusyboxRefs,
		Config: ImageConfig{Cmd: []string{"sh"}, Env: []string{defaultPath}, WorkingDir: "/"},
		Files:  files,
	}, nil
}
