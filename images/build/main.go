// Command build writes Skiff's images (pause, busybox, testapp) as OCI image
// layout tarballs; `make images` runs it. Usage: go run ./images/build -o DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/skiff/skiff/images/imagebuild"
)

func main() {
	out := flag.String("o", "build/images", "output `directory`")
	busybox := flag.String("busybox", "/bin/busybox", "static busybox `binary`")
	flag.Parse()
	files, err := imagebuild.Build(context.Background(), imagebuild.Config{OutDir: *out, Busybox: *busybox})
	if err != nil {
		fmt.Fprintln(os.Stderr, "build images:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println(f)
	}
}
