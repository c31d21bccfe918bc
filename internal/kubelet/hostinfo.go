package kubelet

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// HostInfo is the machine's capacity and identity as the Node reports it.
type HostInfo struct {
	// CPUs is the number of logical CPUs.
	CPUs int64
	// MemoryBytes is the machine's memory; EphemeralStorageBytes the size
	// of the filesystem holding the agent's data dir.
	MemoryBytes, EphemeralStorageBytes   int64
	KernelVersion, OSImage, Architecture string
	MachineID, SystemUUID, BootID        string
}

// ReadHostInfo reads the host's capacity and identity from /proc, /etc
// and /sys; dataDir is where ephemeral storage lives.
func ReadHostInfo(dataDir string) (HostInfo, error) {
	h := HostInfo{CPUs: int64(runtime.NumCPU()), Architecture: runtime.GOARCH, OSImage: "Linux"}
	mem, err := memTotal()
	if err != nil {
		return h, err
	}
	h.MemoryBytes = mem
	var fs unix.Statfs_t
	if err := unix.Statfs(dataDir, &fs); err != nil {
		return h, fmt.Errorf("statfs %s: %w", dataDir, err)
	}
	h.EphemeralStorageBytes = int64(fs.Blocks) * fs.Bsize
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		h.KernelVersion = string(bytes.TrimRight(uts.Release[:], "\x00"))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				h.OSImage = strings.Trim(v, `"`)
			}
		}
	}
	h.MachineID = readTrim("/etc/machine-id")
	h.SystemUUID = readTrim("/sys/class/dmi/id/product_uuid") // root only; "" otherwise
	h.BootID = readTrim("/proc/sys/kernel/random/boot_id")
	return h, nil
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "" // optional identity: absent on some machines
	}
	return strings.TrimSpace(string(b))
}

func memTotal() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo: no MemTotal")
}

// DefaultNodeIP returns the address the host reaches the outside with
// (the source address of its default route), or 127.0.0.1 without one.
func DefaultNodeIP() string {
	// UDP "dial" sends nothing; it only picks the route's source address.
	c, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String()
}
