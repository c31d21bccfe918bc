package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// Workload sizes. Durations are per concurrency level.
const (
	warmup       = 1 * time.Second // discarded before each timed window
	createGetFor = 5 * time.Second
	listFor      = 3 * time.Second
	listObjects  = 1000
	memObjects   = 10000
	watchEvents  = 100                   // timed creates per watch benchmark
	watchPace    = 50 * time.Millisecond // one create every watchPace
	launches     = 5                     // server starts for the startup figure
	idleSettle   = 5 * time.Second       // idle time before reading RSS
)

var concurrencies = []int{1, 10, 100}

// configMap returns the ~300-byte ConfigMap every benchmark writes.
func configMap(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench"}},
		Data:       map[string]string{"key": strings.Repeat("v", 64)},
	}
}

func createNamespace(b *testing.B, cs kubernetes.Interface, name string) {
	b.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		b.Fatalf("create namespace %s: %v", name, err)
	}
}

// runFor runs op on c workers, first for warmup (results discarded) and then
// for d, and returns the number of ops completed in the timed window and
// its exact length. op gets the worker index and a per-worker sequence
// number and records its own latencies when timed is true.
func runFor(b *testing.B, s *server, c int, d time.Duration, op func(worker, seq int, timed bool) error) window {
	b.Helper()
	var (
		done     atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	start := time.Now()
	timedFrom := start.Add(warmup)
	end := timedFrom.Add(d)
	cpu0 := make(chan cpuSample, 1)
	go func() {
		time.Sleep(time.Until(timedFrom))
		cpu0 <- s.cpu(b)
	}()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				now := time.Now()
				if now.After(end) {
					return
				}
				timed := !now.Before(timedFrom)
				if err := op(w, seq, timed); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if timed {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(timedFrom)
	used := s.cpu(b).sub(<-cpu0)
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	return window{ops: int(done.Load()), took: took, cpu: used}
}

// window is what runFor measured in its timed window.
type window struct {
	ops  int
	took time.Duration
	cpu  cpuSample // CPU time the server and this process used
}

func (w window) perSec() float64 { return float64(w.ops) / w.took.Seconds() }

// cpuPerOp returns the server's and this process's CPU time per op, in ms.
func (w window) cpuPerOp() (server, client float64) {
	n := float64(max(w.ops, 1))
	return ms(w.cpu.server) / n, ms(w.cpu.client) / n
}

// BenchmarkCreateGet creates a ConfigMap and gets it back, in a loop on c
// concurrent workers sharing one client-go clientset (one HTTP/2
// connection), and reports pairs/s, requests/s and create and get latency.
func BenchmarkCreateGet(b *testing.B) {
	s := startServer(b)
	cs := s.client(b)
	for _, c := range concurrencies {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			for i := range b.N {
				ns := fmt.Sprintf("cg-c%d-%d", c, i)
				createNamespace(b, cs, ns)
				var create, get latencies
				cms := cs.CoreV1().ConfigMaps(ns)
				ctx := context.Background()
				win := runFor(b, s, c, createGetFor, func(w, seq int, timed bool) error {
					name := fmt.Sprintf("cm-%d-%d", w, seq)
					t0 := time.Now()
					if _, err := cms.Create(ctx, configMap(name), metav1.CreateOptions{}); err != nil {
						return fmt.Errorf("create %s/%s: %w", ns, name, err)
					}
					t1 := time.Now()
					if _, err := cms.Get(ctx, name, metav1.GetOptions{}); err != nil {
						return fmt.Errorf("get %s/%s: %w", ns, name, err)
					}
					if timed {
						create.add(t1.Sub(t0))
						get.add(time.Since(t1))
					}
					return nil
				})
				cst, gst := create.stats(), get.stats()
				pairsPerSec := win.perSec()
				srvCPU, cliCPU := win.cpuPerOp()
				b.ReportMetric(pairsPerSec, "pairs/s")
				b.ReportMetric(2*pairsPerSec, "req/s")
				reportLatency(b, "create", cst)
				reportLatency(b, "get", gst)
				b.ReportMetric(srvCPU, "server-cpu-ms/pair")
				note("create+get   c=%-3d  %6.0f pairs/s (%6.0f req/s)  create p50 %6.2f ms p99 %6.2f ms  get p50 %6.2f ms p99 %6.2f ms  (%d pairs in %.1fs; CPU per pair: server %.2f ms, client %.2f ms; load %s)",
					c, pairsPerSec, 2*pairsPerSec, ms(cst.p50), ms(cst.p99), ms(gst.p50), ms(gst.p99), win.ops, win.took.Seconds(), srvCPU, cliCPU, loadavg())
			}
		})
	}
}

// BenchmarkList lists 1,000 ConfigMaps of one namespace on c concurrent
// workers: paged500 walks the list 500 at a time with continue tokens, as
// kubectl does (one op = the whole walk, two requests); rv0 asks for the
// whole list with resourceVersion=0, which the watch cache serves. Bodies
// are read raw (not decoded into objects) so that the figures are the
// server's and not the benchmark's JSON decoding.
func BenchmarkList(b *testing.B) {
	s := startServer(b)
	cs := s.client(b)
	const ns = "list"
	createNamespace(b, cs, ns)
	fill(b, cs, ns, listObjects, 20)
	if l, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{ResourceVersion: "0"}); err != nil {
		b.Fatal(err)
	} else if len(l.Items) < listObjects {
		// The root-ca-cert-publisher controller adds kube-root-ca.crt.
		b.Fatalf("list of %s: %d items, want %d or more", ns, len(l.Items), listObjects)
	}
	rc := cs.CoreV1().RESTClient()
	ctx := context.Background()
	kinds := []struct {
		name string
		list func() error
	}{
		{"paged500", func() error {
			cont := ""
			for pages := 0; ; pages++ {
				raw, err := rc.Get().Namespace(ns).Resource("configmaps").
					VersionedParams(&metav1.ListOptions{Limit: 500, Continue: cont}, scheme.ParameterCodec).
					Do(ctx).Raw()
				if err != nil {
					return fmt.Errorf("list %s page %d: %w", ns, pages, err)
				}
				var meta struct {
					Metadata metav1.ListMeta `json:"metadata"`
				}
				if err := json.Unmarshal(raw, &meta); err != nil {
					return err
				}
				if cont = meta.Metadata.Continue; cont == "" {
					return nil
				}
			}
		}},
		{"rv0", func() error {
			_, err := rc.Get().Namespace(ns).Resource("configmaps").
				VersionedParams(&metav1.ListOptions{ResourceVersion: "0"}, scheme.ParameterCodec).
				Do(ctx).Raw()
			return err
		}},
	}
	for _, k := range kinds {
		for _, c := range concurrencies {
			b.Run(fmt.Sprintf("%s/c=%d", k.name, c), func(b *testing.B) {
				for range b.N {
					var lat latencies
					win := runFor(b, s, c, listFor, func(_, _ int, timed bool) error {
						t0 := time.Now()
						if err := k.list(); err != nil {
							return err
						}
						if timed {
							lat.add(time.Since(t0))
						}
						return nil
					})
					st := lat.stats()
					perSec := win.perSec()
					srvCPU, cliCPU := win.cpuPerOp()
					b.ReportMetric(perSec, "lists/s")
					b.ReportMetric(perSec*listObjects, "objects/s")
					reportLatency(b, "list", st)
					b.ReportMetric(srvCPU, "server-cpu-ms/list")
					note("list %-8s c=%-3d  %6.1f lists/s of %d  p50 %7.2f ms  p99 %7.2f ms  (CPU per list: server %.1f ms, client %.1f ms; load %s)",
						k.name, c, perSec, listObjects, ms(st.p50), ms(st.p99), srvCPU, cliCPU, loadavg())
				}
			})
		}
	}
}

// fill creates n ConfigMaps named cm-0… in ns on c workers.
func fill(b *testing.B, cs kubernetes.Interface, ns string, n, c int) {
	b.Helper()
	var (
		next     atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	cms := cs.CoreV1().ConfigMaps(ns)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := cms.Create(context.Background(), configMap(fmt.Sprintf("cm-%d", i)), metav1.CreateOptions{}); err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("create %s/cm-%d: %w", ns, i, err))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWatch opens w watchers of the ConfigMaps of one namespace
// (spread over 10 clientsets, i.e. 10 HTTP/2 connections), waits until each
// has seen a first object, then creates watchEvents ConfigMaps one at a
// time, one every watchPace, and measures for every watcher×event pair the
// time from the create's response to the watcher receiving the ADDED event.
// An event that arrives before the create's response counts as 0.
func BenchmarkWatch(b *testing.B) {
	s := startServer(b)
	clients := make([]*kubernetes.Clientset, 10)
	for i := range clients {
		clients[i] = s.client(b)
	}
	for _, w := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("watchers=%d", w), func(b *testing.B) {
			for i := range b.N {
				benchWatch(b, clients, fmt.Sprintf("watch-%d-%d", w, i), w)
			}
		})
	}
}

// received is one ADDED event as a watcher saw it.
type received struct {
	name string
	at   time.Time
}

func benchWatch(b *testing.B, clients []*kubernetes.Clientset, ns string, nWatchers int) {
	createNamespace(b, clients[0], ns)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Open the watchers, 50 at a time.
	watchers := make([]watch.Interface, nWatchers)
	var (
		openErr atomic.Value
		wg      sync.WaitGroup
		sem     = make(chan struct{}, 50)
	)
	for i := range watchers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			wi, err := clients[i%len(clients)].CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{})
			if err != nil {
				openErr.CompareAndSwap(nil, fmt.Errorf("watch %s: %w", ns, err))
				return
			}
			watchers[i] = wi
		}()
	}
	wg.Wait()
	defer func() {
		for _, wi := range watchers {
			if wi != nil {
				wi.Stop()
			}
		}
	}()
	if err, _ := openErr.Load().(error); err != nil {
		b.Fatal(err)
	}

	// Each watcher records its ADDED events in a slice of its own.
	got := make([][]received, nWatchers)
	var events atomic.Int64 // ADDED events received by all watchers
	var readers sync.WaitGroup
	for i, wi := range watchers {
		got[i] = make([]received, 0, watchEvents+1)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for ev := range wi.ResultChan() {
				if ev.Type != watch.Added {
					continue
				}
				at := time.Now()
				// Only the benchmark's own objects: controllers add
				// others (kube-root-ca.crt).
				if cm, ok := ev.Object.(*corev1.ConfigMap); ok && (cm.Name == "sentinel" || strings.HasPrefix(cm.Name, "cm-")) {
					got[i] = append(got[i], received{cm.Name, at})
					events.Add(1)
				}
			}
		}()
	}
	cms := clients[0].CoreV1().ConfigMaps(ns)
	waitEvents := func(want int64, timeout time.Duration) bool {
		deadline := time.Now().Add(timeout)
		for events.Load() < want {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(5 * time.Millisecond)
		}
		return true
	}

	// A first object proves every watch is established on the server.
	if _, err := cms.Create(ctx, configMap("sentinel"), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	if !waitEvents(int64(nWatchers), time.Minute) {
		b.Fatalf("only %d of %d watchers saw the first object", events.Load(), nWatchers)
	}

	respAt := make(map[string]time.Time, watchEvents)
	var create latencies
	tick := time.NewTicker(watchPace)
	for i := range watchEvents {
		<-tick.C
		name := fmt.Sprintf("cm-%d", i)
		t0 := time.Now()
		if _, err := cms.Create(ctx, configMap(name), metav1.CreateOptions{}); err != nil {
			tick.Stop()
			b.Fatalf("create %s/%s: %v", ns, name, err)
		}
		respAt[name] = time.Now()
		create.add(respAt[name].Sub(t0))
	}
	tick.Stop()
	want := int64(nWatchers * (watchEvents + 1))
	complete := waitEvents(want, time.Minute)
	for _, wi := range watchers {
		wi.Stop()
	}
	readers.Wait()

	lat := make([]time.Duration, 0, nWatchers*watchEvents)
	early := 0
	for _, evs := range got {
		for _, r := range evs {
			t, ok := respAt[r.name]
			if !ok {
				continue // the sentinel
			}
			d := r.at.Sub(t)
			if d < 0 {
				early++
				d = 0
			}
			lat = append(lat, d)
		}
	}
	missing := nWatchers*watchEvents - len(lat)
	if !complete || missing != 0 {
		b.Errorf("%d of %d events never reached their watcher within a minute", missing, nWatchers*watchEvents)
	}
	st := summarize(lat)
	cst := create.stats()
	reportLatency(b, "delivery", st)
	b.ReportMetric(ms(st.max), "delivery-max-ms")
	b.ReportMetric(ms(cst.p99), "create-p99-ms")
	note("watch %4d watchers  %6d deliveries  delivery p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (%d before the create's response; create p50 %.2f ms p99 %.2f ms; load %s)",
		nWatchers, len(lat), ms(st.p50), ms(st.p99), ms(st.max), early, ms(cst.p50), ms(cst.p99), loadavg())
}

// BenchmarkStartup launches the server several times, each on a fresh data
// dir (so every launch also generates its CA and certificates and
// initializes etcd), and reports the median time from starting the process
// to the first ok from /readyz.
func BenchmarkStartup(b *testing.B) {
	for range b.N {
		took := make([]time.Duration, 0, launches)
		for range launches {
			s := startServer(b)
			took = append(took, s.readyAt.Sub(s.startedAt))
			s.stop()
		}
		slices.Sort(took)
		median := took[len(took)/2]
		b.ReportMetric(ms(median), "readyz-median-ms")
		b.ReportMetric(ms(took[len(took)-1]), "readyz-max-ms")
		note("startup      launch → /readyz ok: median %.0f ms, min %.0f ms, max %.0f ms (%d launches, fresh data dir each; load %s)",
			ms(median), ms(took[0]), ms(took[len(took)-1]), launches, loadavg())
	}
}

// BenchmarkMemory reads the server's resident memory (VmRSS, embedded etcd
// included): just after /readyz, after idleSettle idle, after storing
// 10,000 ConfigMaps and idleSettle, and after listing them all (paged and
// from the watch cache) and idleSettle. VmHWM is the peak. "server" is
// `skiff server --disable-agent` as users run it; "no-controllers" also
// disables every controller the first one started, which leaves the API
// server and etcd (what upstream's kube-apiserver+etcd figure covers).
func BenchmarkMemory(b *testing.B) {
	var controllers []string
	b.Run("server", func(b *testing.B) {
		for range b.N {
			s := startServer(b)
			controllers = s.controllers()
			benchMemory(b, s, "server")
		}
	})
	b.Run("no-controllers", func(b *testing.B) {
		if len(controllers) == 0 {
			b.Skip("the server's log named no controllers")
		}
		for range b.N {
			benchMemory(b, startServer(b, "--disable-controllers", strings.Join(controllers, ",")), "no-controllers")
		}
	})
}

func benchMemory(b *testing.B, s *server, variant string) {
	ready := s.rssMiB(b)
	time.Sleep(idleSettle) // deliberate: the figure is "after a few seconds idle"
	idle := s.rssMiB(b)

	cs := s.client(b)
	const ns = "mem"
	createNamespace(b, cs, ns)
	t0 := time.Now()
	fill(b, cs, ns, memObjects, 50)
	fillTook := time.Since(t0)
	time.Sleep(idleSettle)
	stored := s.rssMiB(b)

	ctx := context.Background()
	for range 2 {
		n := 0
		opts := metav1.ListOptions{Limit: 500}
		for {
			l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			n += len(l.Items)
			if opts.Continue = l.Continue; opts.Continue == "" {
				break
			}
		}
		l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			b.Fatal(err)
		}
		if n < memObjects || len(l.Items) < memObjects {
			b.Fatalf("lists of %s: %d and %d items, want %d or more", ns, n, len(l.Items), memObjects)
		}
	}
	time.Sleep(idleSettle)
	listed := s.rssMiB(b)
	hwm, err := procStatusKB(s.cmd.Process.Pid, "VmHWM")
	if err != nil {
		b.Fatal(err)
	}
	peak := float64(hwm) / 1024

	b.ReportMetric(ready, "ready-MiB")
	b.ReportMetric(idle, "idle-MiB")
	b.ReportMetric(stored, "10k-stored-MiB")
	b.ReportMetric(listed, "10k-listed-MiB")
	b.ReportMetric(peak, "peak-MiB")
	note("memory %-14s RSS at ready %.0f MiB, idle %.0f MiB, 10k ConfigMaps stored %.0f MiB, after listing them %.0f MiB, peak (VmHWM) %.0f MiB (load %s)",
		variant, ready, idle, stored, listed, peak, loadavg())
	note("fill   %-14s %d ConfigMaps created at c=50 in %.1fs (%.0f creates/s)",
		variant, memObjects, fillTook.Seconds(), float64(memObjects)/fillTook.Seconds())
	s.stop()
}
