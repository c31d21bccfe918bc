package containerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/skiff/skiff/internal/cri"
)

// Supervision backoff after containerd exits on its own.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
	// stableRun is how long a run must last for the backoff to reset.
	stableRun = time.Minute
)

// Daemon is a running, supervised private containerd.
type Daemon struct {
	cfg Config
	log *slog.Logger

	stopOnce sync.Once
	stopping chan struct{} // closed by Stop
	done     chan struct{} // closed when the supervisor has returned

	mu  sync.Mutex
	cmd *exec.Cmd // the current process, nil between runs
}

// Start writes the config, starts containerd and waits until its CRI
// answers Version, or fails when it does not within cfg.StartTimeout (or
// ctx ends first), stopping whatever it started. It refuses to start when
// something already answers on the socket.
func Start(ctx context.Context, cfg Config) (*Daemon, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{cfg.Root, cfg.State, cfg.CNIConfDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("containerd: %w", err)
		}
	}
	if err := os.WriteFile(cfg.configFile(), []byte(cfg.TOML()), 0o600); err != nil {
		return nil, fmt.Errorf("containerd: %w", err)
	}
	client, err := cri.Dial(cfg.socket())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	if _, err := os.Stat(cfg.socket()); err == nil {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := client.Version(pctx)
		cancel()
		if err == nil {
			return nil, fmt.Errorf("containerd: a runtime already answers on %s", cfg.socket())
		}
	}

	d := &Daemon{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "containerd", "socket", cfg.socket()),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	started := make(chan error, 1)
	go d.supervise(started)
	if err := <-started; err != nil {
		<-d.done
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	if err := waitReady(ctx, client, d.done); err != nil {
		stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancelStop()
		_ = d.Stop(stopCtx) // the start error is the one to report
		return nil, fmt.Errorf("containerd did not become ready (see %s): %w", cfg.logFile(), err)
	}
	d.log.Info("Containerd is ready", "root", cfg.Root)
	return d, nil
}

// waitReady polls the CRI's Version until it answers, ctx ends or the
// supervisor gives up.
func waitReady(ctx context.Context, client *cri.Client, exited <-chan struct{}) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := client.Version(pctx)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-exited:
			return errors.New("containerd exited")
		case <-tick.C:
		}
	}
}

// Address returns the path of containerd's gRPC socket (what ctr -a
// takes).
func (d *Daemon) Address() string { return d.cfg.socket() }

// Endpoint returns the CRI endpoint ("unix://" + Address()).
func (d *Daemon) Endpoint() string { return "unix://" + d.cfg.socket() }

// Config returns the configuration the daemon runs with, defaults filled
// in.
func (d *Daemon) Config() Config { return d.cfg }

// Done is closed once containerd has stopped for good (after Stop, or when
// it could not be started again).
func (d *Daemon) Done() <-chan struct{} { return d.done }

// PID returns the process ID of the running containerd, or 0 between
// restarts and after Stop.
func (d *Daemon) PID() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil || d.cmd.Process == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

// Stop sends SIGTERM to containerd and waits for it to exit; when ctx ends
// first it sends SIGKILL and waits again. Running containers keep running
// (see ShimPIDs). Stop is idempotent and safe to call concurrently.
func (d *Daemon) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() { close(d.stopping) })
	d.signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
	}
	d.log.Warn("Containerd did not stop in time, killing it")
	d.signal(syscall.SIGKILL)
	<-d.done
	return nil
}

func (d *Daemon) signal(sig syscall.Signal) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(sig) // fails only if it already exited
	}
}

// supervise runs containerd until Stop, restarting it when it exits on its
// own. It reports the first start on started. It keeps its OS thread
// locked, because the child's parent-death signal fires when the thread
// that started it exits, not the process.
func (d *Daemon) supervise(started chan<- error) {
	runtime.LockOSThread()
	defer close(d.done)
	backoff := minBackoff
	first := true
	for {
		log, err := os.OpenFile(d.cfg.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			err = fmt.Errorf("containerd: %w", err)
		} else {
			err = d.startProcess(log)
			log.Close() // the child has its own descriptor
		}
		if first {
			started <- err
			if err != nil {
				return
			}
			first = false
		}
		begin := time.Now()
		if err == nil {
			err = d.cmd.Wait()
			d.mu.Lock()
			d.cmd = nil
			d.mu.Unlock()
		}
		select {
		case <-d.stopping:
			d.log.Info("Containerd stopped")
			return
		default:
		}
		if time.Since(begin) > stableRun {
			backoff = minBackoff
		}
		d.log.Error("Containerd exited, restarting", "err", err, "backoff", backoff)
		select {
		case <-d.stopping:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (d *Daemon) startProcess(log *os.File) error {
	cmd := exec.Command(d.cfg.Binary, "--config", d.cfg.configFile())
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: a terminal's ^C reaches the agent, which
		// then stops containerd in order.
		Setpgid: true,
		// containerd must not outlive a crashed agent (its shims do).
		Pdeathsig: syscall.SIGTERM,
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.stopping:
		return errors.New("containerd: stopped before start")
	default:
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("containerd: start %s: %w", d.cfg.Binary, err)
	}
	d.cmd = cmd
	d.log.Info("Containerd started", "pid", cmd.Process.Pid)
	return nil
}
