package mountinfo

import (
	"os"
	"testing"
)

func TestUnescape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/x\`: `/x\`, `/t\011`: "/t\t"} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPointsUnder: the root is a mount point of every mount namespace.
func TestPointsUnder(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/mountinfo"); err != nil {
		t.Skip("no /proc/self/mountinfo")
	}
	got, err := PointsUnder("/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0] != "/" {
		t.Errorf("PointsUnder(/) = %v, want / first", got)
	}
	none, err := PointsUnder("/nonexistent-skiff-dir")
	if err != nil || len(none) != 0 {
		t.Errorf("PointsUnder(missing dir) = %v, %v", none, err)
	}
}
