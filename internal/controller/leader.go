package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ElectionConfig configures RunElected. The durations default to
// upstream's kube-controller-manager values (15s, 10s, 2s).
type ElectionConfig struct {
	Client kubernetes.Interface
	// Namespace and Name name the coordination.k8s.io Lease.
	Namespace, Name string
	// Identity is this candidate's holderIdentity; it must be unique
	// among candidates and may be reused by a restarted process.
	Identity string
	// LeaseDuration is how long followers wait after the last renewal
	// before taking over; RenewDeadline how long the leader retries
	// renewing before giving up; RetryPeriod the pause between tries.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// RunElected campaigns for the Lease and calls run while this process
// holds it, until ctx ends. run's context ends when leadership is lost or
// ctx ends; RunElected waits for run to return before campaigning again
// and, when ctx ends, before releasing the Lease so that another candidate
// can take over at once. It returns nil when ctx ends, or an error if cfg
// is invalid.
func RunElected(ctx context.Context, cfg ElectionConfig, run func(ctx context.Context)) error {
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 15 * time.Second
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = 10 * time.Second
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = 2 * time.Second
	}
	cfg.Logger = LoggerOrDiscard(cfg.Logger)
	log := cfg.Logger.With("lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
	for ctx.Err() == nil {
		if err := campaign(ctx, cfg, log, run); err != nil {
			return err
		}
	}
	return nil
}

// campaign runs one election: acquire, run while renewing, then stop.
func campaign(ctx context.Context, cfg ElectionConfig, log *slog.Logger, run func(context.Context)) error {
	// The elector gets its own context so that, when ctx ends, run stops
	// before the Lease is released (ReleaseOnCancel's contract).
	electCtx, cancelElect := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelElect()
	var (
		mu      sync.Mutex
		over    bool
		running sync.WaitGroup
	)
	finish := func() {
		mu.Lock()
		over = true
		mu.Unlock()
		running.Wait()
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
			Client:     cfg.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
		},
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leadCtx context.Context) {
				mu.Lock()
				if over {
					mu.Unlock()
					return
				}
				running.Add(1)
				mu.Unlock()
				defer running.Done()
				runCtx, cancel := context.WithCancel(leadCtx)
				defer cancel()
				defer context.AfterFunc(ctx, cancel)()
				log.Info("Became leader")
				run(runCtx)
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(identity string) {
				if identity != cfg.Identity {
					log.Info("Another candidate leads", "leader", identity)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election %s/%s: %w", cfg.Namespace, cfg.Name, err)
	}
	stop := context.AfterFunc(ctx, func() {
		finish()
		cancelElect()
	})
	defer stop()
	le.Run(electCtx)
	finish()
	if ctx.Err() == nil {
		log.Warn("Lost leadership, campaigning again")
	}
	return nil
}
