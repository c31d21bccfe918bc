package apiserver

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/storage"
)

// ipAllocator hands out Service cluster IPs and node ports. Its state is
// rebuilt from the stored Services on first use, so it keeps nothing the
// API lacks.
type ipAllocator struct {
	prefix netip.Prefix
	mu     sync.Mutex
	loaded bool
	used   map[netip.Addr]bool
	ports  map[int32]bool
	next   int
}

const nodePortMin, nodePortMax = 30000, 32767

func newIPAllocator(cidr string) (*ipAllocator, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", cidr, err)
	}
	return &ipAllocator{prefix: p.Masked(), used: map[netip.Addr]bool{}, ports: map[int32]bool{}}, nil
}

func (a *ipAllocator) load(ctx context.Context, st storage.Store) error {
	if a.loaded {
		return nil
	}
	res, err := st.List(ctx, "/registry/services/", storage.ListOptions{Recursive: true})
	if err != nil {
		return err
	}
	for _, o := range res.Items {
		a.markUsed(o.(*corev1.Service))
	}
	a.loaded = true
	return nil
}

func (a *ipAllocator) markUsed(svc *corev1.Service) {
	for _, ip := range svc.Spec.ClusterIPs {
		if addr, err := netip.ParseAddr(ip); err == nil {
			a.used[addr] = true
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			a.ports[p.NodePort] = true
		}
	}
}

// allocate fills in the service's cluster IP and node ports.
func (a *ipAllocator) allocate(svc *corev1.Service) error {
	if svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		if svc.Spec.ClusterIP == "" {
			ip, err := a.nextIP()
			if err != nil {
				return err
			}
			svc.Spec.ClusterIP = ip.String()
		} else {
			addr, err := netip.ParseAddr(svc.Spec.ClusterIP)
			if err != nil || !a.prefix.Contains(addr) {
				return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{
					field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), svc.Spec.ClusterIP, fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", svc.Spec.ClusterIP, svc.Spec.ClusterIP, a.prefix)),
				})
			}
			if a.used[addr] {
				return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{
					field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), svc.Spec.ClusterIP, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", svc.Spec.ClusterIP)),
				})
			}
			a.used[addr] = true
		}
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	} else if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		svc.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort == 0 {
				port, err := a.nextPort()
				if err != nil {
					return err
				}
				p.NodePort = port
			} else if a.ports[p.NodePort] {
				return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{
					field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort, "provided port is already allocated"),
				})
			} else {
				a.ports[p.NodePort] = true
			}
		}
	}
	return nil
}

func (a *ipAllocator) nextIP() (netip.Addr, error) {
	base := a.prefix.Addr()
	size := new(big.Int).Lsh(big.NewInt(1), uint(base.BitLen()-a.prefix.Bits()))
	n := int(size.Int64())
	if n > 1<<20 {
		n = 1 << 20
	}
	// Skip the network address; .1 goes to the kubernetes Service first.
	for i := 0; i < n; i++ {
		off := (a.next+i)%(n-2) + 1
		ip := addOffset(base, off)
		if !a.used[ip] {
			a.used[ip] = true
			a.next = off
			return ip, nil
		}
	}
	return netip.Addr{}, apierrors.NewInternalError(fmt.Errorf("range is full"))
}

func (a *ipAllocator) nextPort() (int32, error) {
	for p := int32(nodePortMin); p <= nodePortMax; p++ {
		if !a.ports[p] {
			a.ports[p] = true
			return p, nil
		}
	}
	return 0, apierrors.NewInternalError(fmt.Errorf("range is full"))
}

func (a *ipAllocator) release(svc *corev1.Service) {
	for _, ip := range svc.Spec.ClusterIPs {
		if addr, err := netip.ParseAddr(ip); err == nil {
			delete(a.used, addr)
		}
	}
	for _, p := range svc.Spec.Ports {
		delete(a.ports, p.NodePort)
	}
}

func addOffset(base netip.Addr, off int) netip.Addr {
	b := base.AsSlice()
	v := new(big.Int).SetBytes(b)
	v.Add(v, big.NewInt(int64(off)))
	out := v.FillBytes(make([]byte, len(b)))
	addr, _ := netip.AddrFromSlice(out)
	return addr
}

func (s *Server) allocateOnCreate(ctx context.Context, rs *resource, obj runtime.Object) error {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil
	}
	s.alloc.mu.Lock()
	defer s.alloc.mu.Unlock()
	if err := s.alloc.load(ctx, rs.store); err != nil {
		return err
	}
	return s.alloc.allocate(svc)
}

func (s *Server) releaseOnFailure(_ *resource, obj runtime.Object) {
	if svc, ok := obj.(*corev1.Service); ok {
		s.alloc.mu.Lock()
		s.alloc.release(svc)
		s.alloc.mu.Unlock()
	}
}

func (s *Server) releaseOnDelete(rs *resource, obj runtime.Object) { s.releaseOnFailure(rs, obj) }
