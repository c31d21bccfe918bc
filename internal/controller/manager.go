package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Context is what a controller is built from. All controllers of one
// Manager run share its informer factory, so each kind is listed and
// watched once.
type Context struct {
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface
	Informers informers.SharedInformerFactory
	// Logger is already scoped to the controller ("controller" key).
	Logger *slog.Logger
	// Recorder returns an event recorder for component; the Manager
	// stops it when the run ends.
	Recorder func(component string) record.EventRecorder
}

// RunFunc runs a built controller: it blocks until ctx ends and returns
// only after all goroutines it started have returned.
type RunFunc func(ctx context.Context)

// Descriptor names a controller and says how to build it.
type Descriptor struct {
	// Name is what --disable-controllers uses (for example "namespace").
	Name string
	// New builds the controller: it registers informers and event
	// handlers on c.Informers and returns how to run it. It must not
	// start goroutines.
	New func(c Context) (RunFunc, error)
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Controllers are the known controllers, in start order.
	Controllers []Descriptor
	// Disabled names controllers not to run; each must be known.
	Disabled []string
	Client   kubernetes.Interface
	Dynamic  dynamic.Interface
	// ResyncPeriod is the informer factory's default resync (0 means
	// 12h, as upstream's lower bound); handlers may ask for shorter ones.
	ResyncPeriod time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Manager runs a set of named controllers from one SharedInformerFactory.
type Manager struct {
	cfg     ManagerConfig
	enabled []Descriptor
	log     *slog.Logger
}

// ErrUnknownController is returned by NewManager for a disabled name that
// no controller has.
var ErrUnknownController = errors.New("unknown controller")

// NewManager checks cfg: controller names must be unique and disabled
// names known.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	cfg.Logger = LoggerOrDiscard(cfg.Logger)
	if cfg.ResyncPeriod == 0 {
		cfg.ResyncPeriod = 12 * time.Hour
	}
	names := map[string]bool{}
	for _, d := range cfg.Controllers {
		if d.Name == "" || d.New == nil || names[d.Name] {
			return nil, fmt.Errorf("controller %q: empty, without New, or registered twice", d.Name)
		}
		names[d.Name] = true
	}
	for _, n := range cfg.Disabled {
		if !names[n] {
			return nil, fmt.Errorf("disable controller %q: %w", n, ErrUnknownController)
		}
	}
	m := &Manager{cfg: cfg, log: cfg.Logger}
	for _, d := range cfg.Controllers {
		if !slices.Contains(cfg.Disabled, d.Name) {
			m.enabled = append(m.enabled, d)
		}
	}
	return m, nil
}

// Enabled returns the names of the controllers Run starts, in order.
func (m *Manager) Enabled() []string {
	out := make([]string, 0, len(m.enabled))
	for _, d := range m.enabled {
		out = append(out, d.Name)
	}
	return out
}

// Run builds the enabled controllers with a fresh informer factory, starts
// the informers and the controllers, and blocks until ctx ends; it returns
// after every controller and informer has stopped. It returns an error,
// having started nothing, when a controller cannot be built. Run may be
// called again after it returns (each leadership term gets fresh caches).
func (m *Manager) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(m.cfg.Client, m.cfg.ResyncPeriod)
	var (
		mu    sync.Mutex
		stops []func()
	)
	recorder := func(component string) record.EventRecorder {
		r, stop := NewEventRecorder(m.cfg.Client, component, m.log)
		mu.Lock()
		stops = append(stops, stop)
		mu.Unlock()
		return r
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, stop := range stops {
			stop()
		}
	}()
	runs := make(map[string]RunFunc, len(m.enabled))
	for _, d := range m.enabled {
		run, err := d.New(Context{
			Client: m.cfg.Client, Dynamic: m.cfg.Dynamic, Informers: factory,
			Logger: m.log.With("controller", d.Name), Recorder: recorder,
		})
		if err != nil {
			return fmt.Errorf("build controller %s: %w", d.Name, err)
		}
		runs[d.Name] = run
	}
	m.log.Info("Starting controllers", "controllers", m.Enabled())
	factory.Start(ctx.Done())
	var (
		wg      sync.WaitGroup
		running sync.Map // name → struct{}, for shutdown diagnostics
	)
	for name, run := range runs {
		running.Store(name, struct{}{})
		wg.Go(func() {
			defer running.Delete(name)
			run(ctx)
		})
	}
	<-ctx.Done()
	m.wait(&wg, &running)
	factory.Shutdown()
	return nil
}

// stuckAfter is how long a stopping controller may take before the
// Manager names it in the log (it keeps waiting).
const stuckAfter = 10 * time.Second

// wait waits for wg, logging the controllers still running every
// stuckAfter: a controller that ignores its context would otherwise hang
// the server's shutdown without a word.
func (m *Manager) wait(wg *sync.WaitGroup, running *sync.Map) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTicker(stuckAfter)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			var names []string
			running.Range(func(k, _ any) bool {
				names = append(names, k.(string))
				return true
			})
			slices.Sort(names)
			m.log.Error("Controllers have not stopped", "controllers", names)
		}
	}
}
