package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/cri"
	"github.com/skiff/skiff/internal/kubelet/cgroups"
	"github.com/skiff/skiff/internal/kubelet/prober"
	"github.com/skiff/skiff/internal/kubelet/staticpod"
	"github.com/skiff/skiff/internal/kubelet/volume"
)

// Version is the kubelet version the node reports.
const Version = "v1.37.2"

// Config configures a Kubelet. Client, Runtime, Images and NodeName are
// required.
type Config struct {
	// Client talks to the API server with the node's identity.
	Client kubernetes.Interface
	// Runtime and Images are the node's CRI runtime.
	Runtime cri.RuntimeService
	Images  cri.ImageManager
	// NodeName is the Node this agent registers and runs pods for.
	NodeName string
	// NodeIP is the node's InternalIP: pods' hostIP, and host-network pods' IP.
	NodeIP string
	// KubeletPort is the port of the node's API (kubeletserver), which
	// the node status advertises as daemonEndpoints.kubeletEndpoint.
	KubeletPort int32
	// NodeLabels and NodeTaints are added to the Node when this kubelet
	// creates it (--node-label, --node-taint); an existing Node keeps its
	// own, as upstream's --node-labels and --register-with-taints.
	NodeLabels map[string]string
	NodeTaints []corev1.Taint
	// Host is the machine's capacity and identity (see ReadHostInfo).
	Host HostInfo
	// MaxPods is the pods capacity (default 110).
	MaxPods int64
	// LogDir is the root of pod log directories (required).
	LogDir string
	// PodsDir holds a directory per pod UID, upstream's
	// /var/lib/kubelet/pods: volumes, termination-message files (default
	// <dir of LogDir>/kubelet/pods).
	PodsDir string
	// Workers is how many pods sync at once (default 16: a sync may
	// wait out a container's termination grace period).
	Workers int
	// ResyncPeriod is how often every pod is synced with the runtime, to
	// notice exits (default 1 s).
	ResyncPeriod time.Duration
	// NodeStatusUpdateFrequency is how often node conditions are checked
	// and the Lease renewed (default 10 s); NodeStatusReportFrequency how
	// often an unchanged status is posted anyway (default 1 min).
	NodeStatusUpdateFrequency, NodeStatusReportFrequency time.Duration
	// SystemReserved and KubeReserved are left out of allocatable
	// (--system-reserved, --kube-reserved).
	SystemReserved, KubeReserved corev1.ResourceList
	// Cgroups keeps the pods' cgroups (nil: the runtime's defaults, no
	// pod-level cgroups).
	Cgroups *cgroups.Manager
	// StaticPodPath is the directory of static pod manifests ("": none).
	StaticPodPath string
	// Clock defaults to the real clock.
	Clock clock.WithTicker
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Kubelet runs the pods bound to one node. Create it with New.
type Kubelet struct {
	cfg     Config
	client  kubernetes.Interface
	runtime cri.RuntimeService
	images  cri.ImageManager
	clock   clock.WithTicker
	log     *slog.Logger
	backoff *backoff
	net     networkState

	// runtimeName and runtimeVersion are read once in Run (or by tests).
	runtimeName, runtimeVersion string

	pods  corelisters.PodLister
	queue workqueue.TypedRateLimitingInterface[string]

	// recorder records the pods' events (source kubelet, host the node);
	// stopRecorder ends its goroutines.
	recorder     record.EventRecorder
	stopRecorder func()
	// probes runs the containers' probes.
	probes *prober.Manager
	// tasks runs the pods' slow stops in the background.
	tasks podTasks
	// objects fetches what volumes and environments refer to; volumes
	// prepares the pods' volumes.
	objects volume.Objects
	volumes *volume.Manager

	// nodeMu guards lastStatus and lastReport.
	nodeMu     sync.Mutex
	lastStatus *corev1.NodeStatus
	lastReport time.Time
	// staticMu guards static.
	staticMu sync.Mutex
	static   staticPods

	// relistMu guards lastRelist and lastSync (relist.go).
	relistMu   sync.Mutex
	lastRelist relist
	lastSync   map[types.UID]time.Time

	// burstableMilliCPU is the cpu last set on the burstable cgroup.
	burstableMilliCPU int64
	burstableSet      bool
}

// New returns a Kubelet for cfg with defaults filled in.
func New(cfg Config) (*Kubelet, error) {
	if cfg.Client == nil || cfg.Runtime == nil || cfg.Images == nil || cfg.NodeName == "" || cfg.LogDir == "" {
		return nil, errors.New("kubelet: Client, Runtime, Images, NodeName and LogDir are required")
	}
	if cfg.MaxPods == 0 {
		cfg.MaxPods = 110
	}
	if cfg.Workers == 0 {
		cfg.Workers = 16
	}
	if cfg.ResyncPeriod == 0 {
		cfg.ResyncPeriod = time.Second
	}
	if cfg.NodeStatusUpdateFrequency == 0 {
		cfg.NodeStatusUpdateFrequency = 10 * time.Second
	}
	if cfg.NodeStatusReportFrequency == 0 {
		cfg.NodeStatusReportFrequency = time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PodsDir == "" {
		cfg.PodsDir = filepath.Join(filepath.Dir(cfg.LogDir), "kubelet", "pods")
	}
	k := &Kubelet{
		cfg:     cfg,
		client:  cfg.Client,
		runtime: cfg.Runtime,
		images:  cfg.Images,
		clock:   cfg.Clock,
		log:     cfg.Logger.With("component", "kubelet", "node", cfg.NodeName),
		backoff: newBackoff(cfg.Clock, initialBackoff, maxBackoff),
		static:  staticPods{seen: map[types.UID]time.Time{}},
	}
	k.recorder, k.stopRecorder = newEventRecorder(cfg.Client, cfg.NodeName)
	k.probes = newProbeManager(k)
	k.objects, k.volumes = newVolumes(k)
	return k, nil
}

// Run registers the node, then runs its pods, renews its Lease and posts
// its status until ctx ends; it returns once every goroutine it started
// has. Running containers are left running when it returns.
func (k *Kubelet) Run(ctx context.Context) error {
	if err := k.readRuntimeVersion(ctx); err != nil {
		return err
	}
	if err := k.initCgroups(); err != nil {
		return err
	}
	if err := k.registerNode(ctx); err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(k.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", k.cfg.NodeName).String()
	}))
	podInformer := factory.Core().V1().Pods()
	k.pods = podInformer.Lister()
	k.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 10*time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "kubelet", Clock: k.clock})
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    k.enqueue,
		UpdateFunc: func(_, obj any) { k.enqueue(obj) },
		DeleteFunc: k.enqueue,
	}); err != nil {
		return fmt.Errorf("kubelet: pod informer: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.Informer().HasSynced) {
		return ctx.Err()
	}
	// Static pods are known before the first resync, which would take
	// their sandboxes for orphans.
	k.loadStaticPods(ctx)
	k.log.Info("Kubelet is running pods")

	var wg sync.WaitGroup
	defer k.stopRecorder()
	defer k.probes.Stop()
	defer k.tasks.wait()
	defer wg.Wait()
	defer k.queue.ShutDown()
	for range k.cfg.Workers {
		wg.Go(func() {
			for k.processNext(ctx) {
			}
		})
	}
	wg.Go(func() { k.every(ctx, k.cfg.ResyncPeriod, k.resync) })
	if k.cfg.StaticPodPath != "" {
		wg.Go(func() { k.every(ctx, staticPollPeriod, k.loadStaticPods) })
	}
	wg.Go(func() { k.every(ctx, k.cfg.NodeStatusUpdateFrequency, k.heartbeat) })
	<-ctx.Done()
	return nil
}

// every calls fn each period until ctx ends.
func (k *Kubelet) every(ctx context.Context, period time.Duration, fn func(context.Context)) {
	t := k.clock.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			fn(ctx)
		}
	}
}

// readRuntimeVersion asks the runtime for its name and version.
func (k *Kubelet) readRuntimeVersion(ctx context.Context) error {
	v, err := k.runtime.Version(ctx)
	if err != nil {
		return fmt.Errorf("kubelet: runtime version: %w", err)
	}
	k.runtimeName, k.runtimeVersion = v.RuntimeName, v.RuntimeVersion
	return nil
}

func (k *Kubelet) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return // not an object: nothing to sync
	}
	k.queue.Add(key)
}

// resync enqueues the pods of the node whose runtime state changed (or
// that were not synced for a while, see relist.go) and removes the
// sandboxes of pods that no longer exist.
func (k *Kubelet) resync(ctx context.Context) {
	pods, err := k.pods.List(labels.Everything())
	if err != nil {
		return // a lister over a cache cannot fail
	}
	pods = append(pods, k.staticPodList()...)
	uids := make(map[types.UID]bool, len(pods))
	for _, p := range pods {
		uids[p.UID] = true
	}
	r, err := k.readRelist(ctx)
	if err != nil {
		k.log.Warn("Listing the runtime's pods failed", "err", err)
	}
	k.enqueueChanged(pods, r, err == nil)
	if err := k.removeOrphans(ctx, uids); err != nil {
		k.log.Warn("Cleaning up deleted pods failed", "err", err)
	}
	k.cleanupVolumes(uids)
	k.syncCgroups(pods, uids)
}

func (k *Kubelet) processNext(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	log := k.log.With("pod", key)
	ns, name, _ := cache.SplitMetaNamespaceKey(key) // keys come from enqueue
	pod, err := k.pods.Pods(ns).Get(name)
	static := k.staticPod(key)
	if static != nil {
		pod, err = static, nil
	} else if err == nil && staticpod.IsMirror(pod) {
		// The mirror of a static pod whose manifest is gone.
		if err := k.deleteMirror(ctx, pod); err != nil {
			log.Warn("Deleting an orphaned mirror pod failed", "err", err)
			k.queue.AddRateLimited(key)
		}
		return true
	}
	if apierrors.IsNotFound(err) {
		k.queue.Forget(key)
		k.probes.RemovePod(key)
		return true // resync removes what it ran
	}
	if err != nil {
		return true
	}
	if pod.DeletionTimestamp == nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		k.probes.AddPod(ctx, pod)
	}
	sync := k.syncPod
	if static != nil {
		sync = k.syncStatic
	}
	after, err := sync(ctx, pod.DeepCopy())
	if err != nil {
		log.Warn("Syncing pod failed", "err", err)
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	if after > 0 {
		k.queue.AddAfter(key, after)
	}
	return true
}
