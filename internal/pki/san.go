package pki

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// names is the set of DNS names and IP addresses a serving certificate
// carries. Both slices are sorted and free of duplicates; DNS names are lower
// case and addresses are unmapped (IPv4 as 4 bytes) without zones.
type names struct {
	dns []string
	ips []netip.Addr
}

// add puts one DNS name or IP literal into n, keeping n sorted and unique.
// Empty strings are ignored.
func (n *names) add(s string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return
	}
	if a, err := netip.ParseAddr(s); err == nil {
		n.addIP(a)
		return
	}
	if i, found := slices.BinarySearch(n.dns, s); !found {
		n.dns = slices.Insert(n.dns, i, s)
	}
}

// addIP puts a into n, keeping n sorted and unique. Invalid addresses are
// ignored.
func (n *names) addIP(a netip.Addr) {
	if !a.IsValid() {
		return
	}
	a = a.Unmap().WithZone("")
	if i, found := slices.BinarySearchFunc(n.ips, a, netip.Addr.Compare); !found {
		n.ips = slices.Insert(n.ips, i, a)
	}
}

// netIPs returns n's addresses in the form x509.Certificate uses.
func (n *names) netIPs() []net.IP {
	out := make([]net.IP, 0, len(n.ips))
	for _, a := range n.ips {
		out = append(out, net.IP(a.AsSlice()))
	}
	return out
}

// coveredBy reports whether cert carries every name and address in n, as
// literal SAN entries (a wildcard entry does not cover a name asked for).
func (n *names) coveredBy(cert *x509.Certificate) bool {
	var have names
	for _, d := range cert.DNSNames {
		have.add(d)
	}
	for _, ip := range cert.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			have.addIP(a)
		}
	}
	for _, d := range n.dns {
		if _, found := slices.BinarySearch(have.dns, d); !found {
			return false
		}
	}
	for _, a := range n.ips {
		if _, found := slices.BinarySearchFunc(have.ips, a, netip.Addr.Compare); !found {
			return false
		}
	}
	return true
}

// servingNames returns the names the API server's certificate must cover
// for opts, which must be complete (see Options.complete).
func servingNames(opts Options) names {
	var n names
	for _, s := range []string{
		"localhost",
		"127.0.0.1",
		"::1",
		opts.HostName,
		"kubernetes",
		"kubernetes.default",
		"kubernetes.default.svc",
		"kubernetes.default.svc." + opts.ClusterDomain,
	} {
		n.add(s)
	}
	n.addIP(opts.ServiceIP)
	for _, a := range opts.HostIPs {
		n.addIP(a)
	}
	for _, s := range opts.SANs {
		n.add(s)
	}
	return n
}

// hostIPs returns the addresses of the host's interfaces except loopback
// and link-local ones: link-local addresses are scoped to one link, cannot
// be used in a URL without a zone, and change whenever a virtual interface
// is recreated, which would reissue the serving certificate for nothing.
func hostIPs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list interface addresses: %w", err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
			continue
		}
		out = append(out, ip)
	}
	return out, nil
}

// hostName returns the host's name, lower case.
func hostName() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("get host name: %w", err)
	}
	return strings.ToLower(h), nil
}
