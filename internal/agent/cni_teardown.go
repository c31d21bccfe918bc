package agent

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cniCacheDir is where libcni (inside containerd) caches each attachment's
// result, whatever the agent's directories.
const cniCacheDir = "/var/lib/cni/results"

// TeardownNetwork removes what node's pod network leaves on the machine
// once its containers are gone (call it after containerd.Teardown): the
// bridge, the iptables rules and chains the bridge (ipMasq) and portmap
// plugins made for its pods, the host-local IPAM state under runDir and
// libcni's cached results. CNI DEL removes the per-pod parts when a
// sandbox is removed, but a node torn down with pods still running never
// gets there. IP forwarding stays on. It is safe to call when nothing is
// left.
func TeardownNetwork(node, runDir string) error {
	n := newPodNetwork(node, runDir)
	var errs []error
	if err := deleteLink(n.Bridge); err != nil {
		errs = append(errs, err)
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(bin); err != nil {
			continue // that family's tools are not installed: nothing made rules with them
		}
		if err := deleteNATRules(bin, n.Name); err != nil {
			errs = append(errs, err)
		}
		if !otherBridges() {
			if err := deleteIdlePortmapChains(bin); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := os.RemoveAll(filepath.Join(n.IPAMDir, n.Name)); err != nil {
		errs = append(errs, err)
	}
	// Each attachment of the network has a result, <name>-<sandbox>-eth0,
	// and the sandbox's loopback one, cni-loopback-<sandbox>-lo.
	cached, _ := filepath.Glob(filepath.Join(cniCacheDir, n.Name+"-*")) // a fixed pattern cannot fail
	for _, f := range cached {
		id, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(f), n.Name+"-"), "-")
		for _, g := range []string{f, filepath.Join(cniCacheDir, "cni-loopback-"+id+"-lo")} {
			if err := os.Remove(g); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// deleteLink deletes the network interface name, if it exists.
func deleteLink(name string) error {
	if _, err := os.Stat(filepath.Join("/sys/class/net", name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if out, err := exec.Command("ip", "link", "delete", name).CombinedOutput(); err != nil {
		return fmt.Errorf("delete link %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// sharedChains are the portmap plugin's entry chains, shared by every CNI
// network of the machine: their rules of the network go, they stay.
var sharedChains = map[string]bool{
	"CNI-HOSTPORT-DNAT": true, "CNI-HOSTPORT-SNAT": true, "CNI-HOSTPORT-MASQ": true, "CNI-HOSTPORT-SETMARK": true,
}

// deleteNATRules deletes the nat-table rules of bin (iptables or
// ip6tables) whose comment names the CNI network network, then flushes
// and deletes the per-pod chains those rules jumped to.
func deleteNATRules(bin, network string) error {
	out, err := exec.Command(bin+"-save", "-t", "nat").Output()
	if err != nil {
		return fmt.Errorf("%s-save: %w", bin, err)
	}
	rules, chains := natRulesOf(string(out), network)
	var errs []error
	for _, r := range rules {
		if out, err := exec.Command(bin, append([]string{"-w", "-t", "nat", "-D"}, r...)...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("%s -D %s: %v: %s", bin, strings.Join(r, " "), err, strings.TrimSpace(string(out))))
		}
	}
	for _, c := range chains {
		for _, op := range []string{"-F", "-X"} {
			if out, err := exec.Command(bin, "-w", "-t", "nat", op, c).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s %s %s: %v: %s", bin, op, c, err, strings.TrimSpace(string(out))))
			}
		}
	}
	return errors.Join(errs...)
}

// natRulesOf returns, from iptables-save output, the rules (as arguments
// after -D: chain, then the match) whose comment names network, and the
// per-pod CNI chains they jump to. It is pure.
func natRulesOf(save, network string) (rules [][]string, chains []string) {
	mark := fmt.Sprintf(`name: \"%s\"`, network)
	seen := map[string]bool{}
	for _, line := range strings.Split(save, "\n") {
		if !strings.HasPrefix(line, "-A ") || !strings.Contains(line, mark) {
			continue
		}
		args := splitRule(strings.TrimPrefix(line, "-A "))
		rules = append(rules, args)
		for i := 0; i+1 < len(args); i++ {
			if args[i] != "-j" {
				continue
			}
			c := args[i+1]
			if strings.HasPrefix(c, "CNI-") && !sharedChains[c] && !seen[c] {
				seen[c] = true
				chains = append(chains, c)
			}
		}
	}
	return rules, chains
}

// splitRule splits an iptables-save rule into arguments, undoing its
// double quotes and the backslash escapes inside them.
func splitRule(s string) []string {
	var (
		args    []string
		cur     strings.Builder
		inQuote bool
		have    bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case c == '"':
			inQuote, have = !inQuote, true
		case c == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

// otherBridges reports whether another Skiff node's bridge exists on the
// machine (so its pods may still use portmap's shared chains).
func otherBridges() bool {
	links, _ := filepath.Glob("/sys/class/net/skiff*") // a fixed pattern cannot fail
	return len(links) > 0
}

// deleteIdlePortmapChains removes portmap's shared chains and the jumps to
// them when no port mapping is left in them: the last Skiff network of the
// machine leaves nothing behind (portmap makes them again when needed).
func deleteIdlePortmapChains(bin string) error {
	out, err := exec.Command(bin+"-save", "-t", "nat").Output()
	if err != nil {
		return fmt.Errorf("%s-save: %w", bin, err)
	}
	rules, chains := idlePortmapRules(string(out))
	var errs []error
	for _, r := range rules {
		if out, err := exec.Command(bin, append([]string{"-w", "-t", "nat", "-D"}, r...)...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("%s -D %s: %v: %s", bin, strings.Join(r, " "), err, strings.TrimSpace(string(out))))
		}
	}
	for _, op := range []string{"-F", "-X"} {
		for _, c := range chains {
			if out, err := exec.Command(bin, "-w", "-t", "nat", op, c).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s %s %s: %v: %s", bin, op, c, err, strings.TrimSpace(string(out))))
			}
		}
	}
	return errors.Join(errs...)
}

// idlePortmapRules returns, when portmap's DNAT chain holds no mapping,
// the rules of other chains that jump to portmap's shared chains and those
// chains; nothing when a mapping remains. It is pure.
func idlePortmapRules(save string) (rules [][]string, chains []string) {
	var jumps [][]string
	for _, line := range strings.Split(save, "\n") {
		switch {
		case strings.HasPrefix(line, ":"):
			if c := strings.Fields(line[1:]); len(c) > 0 && sharedChains[c[0]] {
				chains = append(chains, c[0])
			}
		case strings.HasPrefix(line, "-A CNI-HOSTPORT-DNAT "):
			return nil, nil // a port mapping is still in use
		case strings.HasPrefix(line, "-A "):
			args := splitRule(strings.TrimPrefix(line, "-A "))
			if sharedChains[args[0]] {
				continue
			}
			for i := 0; i+1 < len(args); i++ {
				if args[i] == "-j" && sharedChains[args[i+1]] {
					jumps = append(jumps, args)
				}
			}
		}
	}
	return jumps, chains
}
