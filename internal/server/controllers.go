package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/controller"
	"github.com/skiff/skiff/internal/controller/cronjob"
	"github.com/skiff/skiff/internal/controller/csrapproving"
	"github.com/skiff/skiff/internal/controller/csrsigning"
	"github.com/skiff/skiff/internal/controller/daemonset"
	"github.com/skiff/skiff/internal/controller/deployment"
	"github.com/skiff/skiff/internal/controller/disruption"
	"github.com/skiff/skiff/internal/controller/endpoints"
	"github.com/skiff/skiff/internal/controller/endpointslice"
	"github.com/skiff/skiff/internal/controller/gc"
	"github.com/skiff/skiff/internal/controller/job"
	"github.com/skiff/skiff/internal/controller/localpath"
	"github.com/skiff/skiff/internal/controller/namespace"
	"github.com/skiff/skiff/internal/controller/nodeipam"
	"github.com/skiff/skiff/internal/controller/nodelifecycle"
	"github.com/skiff/skiff/internal/controller/persistentvolume"
	"github.com/skiff/skiff/internal/controller/podgc"
	"github.com/skiff/skiff/internal/controller/replicaset"
	"github.com/skiff/skiff/internal/controller/resourcequota"
	"github.com/skiff/skiff/internal/controller/rootcacert"
	"github.com/skiff/skiff/internal/controller/serviceaccount"
	"github.com/skiff/skiff/internal/controller/statefulset"
	"github.com/skiff/skiff/internal/controller/tokencleaner"
	"github.com/skiff/skiff/internal/controller/ttlafterfinished"
)

// controllerLease names the Lease that elects the one server running
// controllers (in kube-system, as upstream's kube-controller-manager).
const controllerLease = "skiff-controller-manager"

// controllersComponent is the --disable name that turns off every
// controller (the scheduler has its own).
const controllersComponent = "controllers"

// disabledControllers returns the --disable-controllers names that are
// among ctls (with every controller off, naming one is not an error).
func (s *Server) disabledControllers(ctls []controller.Descriptor) []string {
	var out []string
	for _, n := range s.cfg.DisableControllers {
		for _, d := range ctls {
			if d.Name == n {
				out = append(out, n)
			}
		}
	}
	return out
}

// controllerManager is the running controller manager.
type controllerManager struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// controllers lists every controller the server can run, in start order.
// It is the registry: a new controller adds one entry here.
func (s *Server) controllers() []controller.Descriptor {
	return []controller.Descriptor{
		{Name: namespace.Name, New: func(c controller.Context) (controller.RunFunc, error) {
			ctl, err := namespace.New(namespace.Config{
				Client: c.Client, Dynamic: c.Dynamic, Namespaces: c.Informers.Core().V1().Namespaces(), Logger: c.Logger,
			})
			if err != nil {
				return nil, err
			}
			return ctl.Run, nil
		}},
		{Name: serviceaccount.Name, New: func(c controller.Context) (controller.RunFunc, error) {
			ctl, err := serviceaccount.New(serviceaccount.Config{
				Client: c.Client, Namespaces: c.Informers.Core().V1().Namespaces(),
				ServiceAccounts: c.Informers.Core().V1().ServiceAccounts(), Logger: c.Logger,
			})
			if err != nil {
				return nil, err
			}
			return ctl.Run, nil
		}},
		{Name: rootcacert.Name, New: func(c controller.Context) (controller.RunFunc, error) {
			ctl, err := rootcacert.New(rootcacert.Config{
				Client: c.Client, Namespaces: c.Informers.Core().V1().Namespaces(),
				ConfigMaps: c.Informers.Core().V1().ConfigMaps(), RootCA: s.bundle.ServerCAPEM(), Logger: c.Logger,
			})
			if err != nil {
				return nil, err
			}
			return ctl.Run, nil
		}},
		replicaset.Descriptor(),
		replicaset.ReplicationControllerDescriptor(),
		deployment.Descriptor(),
		statefulset.Descriptor(),
		daemonset.Descriptor(),
		gc.Descriptor(s.clientConfig),
		endpoints.Descriptor(),
		endpointslice.Descriptor(),
		podgc.Descriptor(podgc.DefaultTerminatedPodThreshold),
		job.Descriptor(job.Options{BackoffBase: s.cfg.JobBackoff}),
		cronjob.Descriptor(s.cfg.ControllerClock),
		ttlafterfinished.Descriptor(s.cfg.ControllerClock),
		persistentvolume.Descriptor(),
		localpath.Descriptor(s.localPathOptions()),
		nodeipam.Descriptor(s.cfg.ClusterCIDR),
		nodelifecycle.Descriptor(nodelifecycle.Config{GracePeriod: s.cfg.NodeMonitorGracePeriod}),
		nodelifecycle.TaintEvictionDescriptor(nil),
		disruption.Descriptor(),
		csrapproving.Descriptor(),
		csrsigning.Descriptor(s.signClient),
		tokencleaner.Descriptor(),
		resourcequota.Descriptor(),
	}
}

// startControllers runs the controller manager, minus
// cfg.DisableControllers, whenever this server holds the controller
// Lease. It returns at once; stopControllers ends it.
func (s *Server) startControllers(ctx context.Context) error {
	rc, err := s.clientConfig()
	if err != nil {
		return err
	}
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "skiff-controller-manager"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("controller client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("controller dynamic client: %w", err)
	}
	sched, err := s.schedulerDescriptors()
	if err != nil {
		return err
	}
	ctls := s.controllers()
	if slices.Contains(s.cfg.Disable, controllersComponent) {
		ctls = nil
	}
	mgr, err := controller.NewManager(controller.ManagerConfig{
		Controllers: append(ctls, sched...), Disabled: s.disabledControllers(ctls),
		Client: client, Dynamic: dyn, Logger: s.log,
	})
	if err != nil {
		return err
	}
	id, err := s.controllerIdentity()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	cm := &controllerManager{cancel: cancel, done: make(chan struct{})}
	s.controllerManager = cm
	go func() {
		defer close(cm.done)
		err := controller.RunElected(ctx, controller.ElectionConfig{
			Client: client, Namespace: "kube-system", Name: controllerLease, Identity: id, Logger: s.log,
		}, func(ctx context.Context) {
			if err := mgr.Run(ctx); err != nil {
				s.log.Error("Controller manager failed", "err", err)
			}
		})
		if err != nil {
			s.log.Error("Controller leader election failed", "err", err)
		}
	}()
	return nil
}

// stopControllers stops the controller manager and waits for it, which
// releases the Lease; it is safe to call when none runs.
func (s *Server) stopControllers() {
	if s.controllerManager == nil {
		return
	}
	s.controllerManager.cancel()
	<-s.controllerManager.done
	s.controllerManager = nil
}

// controllerIdentity is this server's holder identity: the host name and
// a digest of the data dir. It is stable across restarts, so a restarted
// server takes its Lease back at once, and unique per server because the
// data dir is locked by one process.
func (s *Server) controllerIdentity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("host name: %w", err)
	}
	dir, err := filepath.Abs(s.cfg.DataDir)
	if err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	sum := sha256.Sum256([]byte(dir))
	return host + "_" + hex.EncodeToString(sum[:6]), nil
}

// localPathOptions places local-path volumes under DATA-DIR/storage and
// lets the provisioner make their directories itself when the volume's
// node is this server's own agent.
func (s *Server) localPathOptions() localpath.Options {
	dirs := localpath.NodeLocal{}
	if !s.cfg.DisableAgent {
		dirs.Node, _ = config.NodeName(s.cfg.NodeName) // "" on error: the agent makes the directories
	}
	return localpath.Options{BasePath: filepath.Join(s.cfg.DataDir, "storage"), Dirs: dirs}
}
