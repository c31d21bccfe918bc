package cli

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/skiff/skiff/internal/config"
)

func TestServerKubeletFlags(t *testing.T) {
	cfg := config.DefaultServer(0, "/root")
	fs := flag.NewFlagSet("skiff server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	serverFlags(fs, &cfg)
	if err := fs.Parse([]string{"--system-reserved", "cpu=500m,memory=1Gi", "--kube-reserved=ephemeral-storage=2Gi",
		"--max-pods", "50", "--node-status-update-frequency", "5s"}); err != nil {
		t.Fatal(err)
	}
	k := cfg.Kubelet
	if got := config.FormatResourceList(k.SystemReserved); got != "cpu=500m,memory=1Gi" {
		t.Errorf("system reserved %q", got)
	}
	if got := config.FormatResourceList(k.KubeReserved); got != "ephemeral-storage=2Gi" {
		t.Errorf("kube reserved %q", got)
	}
	if k.MaxPods != 50 || k.NodeStatusUpdateFrequency != 5*time.Second {
		t.Errorf("max pods %d, frequency %v", k.MaxPods, k.NodeStatusUpdateFrequency)
	}
	fs = flag.NewFlagSet("skiff server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	serverFlags(fs, &cfg)
	if err := fs.Parse([]string{"--kube-reserved", "gpu=1"}); err == nil {
		t.Error("--kube-reserved gpu=1 accepted")
	}
}
