package localpath

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name for --disable-controllers.
const Name = "local-path-provisioner"

// ProvisionerName is the provisioner of the local-path class.
const ProvisionerName = "skiff.io/local-path"

// ClassName is the name of the default StorageClass created at startup.
const ClassName = "local-path"

// DefaultBasePath is where volumes live on a node when Config.BasePath is
// empty.
const DefaultBasePath = "/var/lib/skiff/storage"

// Annotations and labels read and written (the binder's and scheduler's,
// upstream's spellings).
const (
	annStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	annBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	annSelectedNode           = "volume.kubernetes.io/selected-node"
	annProvisionedBy          = "pv.kubernetes.io/provisioned-by"
	annBetaStorageClass       = "volume.beta.kubernetes.io/storage-class"
	annIsDefaultClass         = "storageclass.kubernetes.io/is-default-class"
	// AnnNode records on a volume the node whose directory holds it.
	AnnNode       = "skiff.io/local-path-node"
	labelHostname = "kubernetes.io/hostname"
)

// Event reasons (those of upstream's external-provisioner library).
const (
	reasonProvisioning          = "Provisioning"
	reasonProvisioningSucceeded = "ProvisioningSucceeded"
	reasonProvisioningFailed    = "ProvisioningFailed"
	reasonVolumeFailedDelete    = "VolumeFailedDelete"
)

const workers = 2

// Config configures a Controller.
type Config struct {
	Client  kubernetes.Interface
	Claims  coreinformers.PersistentVolumeClaimInformer
	Volumes coreinformers.PersistentVolumeInformer
	Classes storageinformers.StorageClassInformer
	Nodes   coreinformers.NodeInformer
	// Recorder records events on claims and volumes. Required.
	Recorder record.EventRecorder
	// Dirs makes and removes volume directories; nil means NodeLocal{}
	// (no local node: directories are the agents' job).
	Dirs Directories
	// BasePath is the directory on every node that holds the volumes;
	// "" means DefaultBasePath.
	BasePath string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller provisions and deletes local-path volumes.
type Controller struct {
	client   kubernetes.Interface
	claims   corelisters.PersistentVolumeClaimLister
	volumes  corelisters.PersistentVolumeLister
	classes  storagelisters.StorageClassLister
	nodes    corelisters.NodeLister
	recorder record.EventRecorder
	dirs     Directories
	base     string
	log      *slog.Logger

	claimRunner  *controller.Runner
	volumeRunner *controller.Runner
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Claims == nil || cfg.Volumes == nil || cfg.Classes == nil || cfg.Nodes == nil || cfg.Recorder == nil {
		return nil, errors.New("local-path-provisioner: Client, informers and Recorder are required")
	}
	if cfg.Dirs == nil {
		cfg.Dirs = NodeLocal{}
	}
	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	c := &Controller{
		client: cfg.Client, claims: cfg.Claims.Lister(), volumes: cfg.Volumes.Lister(), classes: cfg.Classes.Lister(),
		nodes: cfg.Nodes.Lister(), recorder: cfg.Recorder, dirs: cfg.Dirs, base: cfg.BasePath, log: cfg.Logger,
	}
	synced := []cache.InformerSynced{
		cfg.Claims.Informer().HasSynced, cfg.Volumes.Informer().HasSynced, cfg.Classes.Informer().HasSynced, cfg.Nodes.Informer().HasSynced,
	}
	c.claimRunner = controller.NewRunner(controller.RunnerConfig{Name: Name + "-claims", Sync: c.syncClaim, Synced: synced, Logger: cfg.Logger})
	c.volumeRunner = controller.NewRunner(controller.RunnerConfig{Name: Name + "-volumes", Sync: c.syncVolume, Synced: synced, Logger: cfg.Logger})
	if _, err := cfg.Claims.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueClaim,
		UpdateFunc: func(_, cur any) { c.enqueueClaim(cur) },
	}); err != nil {
		return nil, err
	}
	if _, err := cfg.Volumes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueVolume,
		UpdateFunc: func(_, cur any) { c.enqueueVolume(cur) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Options are the server's settings for the provisioner.
type Options struct {
	// BasePath: see Config.BasePath.
	BasePath string
	// Dirs: see Config.Dirs.
	Dirs Directories
}

// Descriptor describes the controller for the Manager.
func Descriptor(o Options) controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		f := cc.Informers
		c, err := New(Config{
			Client: cc.Client, Claims: f.Core().V1().PersistentVolumeClaims(), Volumes: f.Core().V1().PersistentVolumes(),
			Classes: f.Storage().V1().StorageClasses(), Nodes: f.Core().V1().Nodes(),
			Recorder: cc.Recorder(ProvisionerName), Dirs: o.Dirs, BasePath: o.BasePath, Logger: cc.Logger,
		})
		if err != nil {
			return nil, err
		}
		return c.Run, nil
	}}
}

// Run creates the default class if missing, then provisions and deletes
// volumes until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { c.ensureClassLoop(ctx) })
	wg.Go(func() { c.claimRunner.Run(ctx, workers) })
	wg.Go(func() { c.volumeRunner.Run(ctx, workers) })
	wg.Wait()
}

func (c *Controller) enqueueClaim(obj any) {
	if cl, ok := obj.(*corev1.PersistentVolumeClaim); ok && cl.Spec.VolumeName == "" && isOurs(cl.Annotations) {
		c.claimRunner.EnqueueObject(cl)
	}
}

func (c *Controller) enqueueVolume(obj any) {
	if v, ok := obj.(*corev1.PersistentVolume); ok && v.Annotations[annProvisionedBy] == ProvisionerName {
		c.volumeRunner.EnqueueObject(v)
	}
}

// isOurs reports whether a claim's annotations hand it to this provisioner.
func isOurs(ann map[string]string) bool {
	return ann[annStorageProvisioner] == ProvisionerName || ann[annBetaStorageProvisioner] == ProvisionerName
}

// DefaultClass returns the StorageClass created at startup.
func DefaultClass() *storagev1.StorageClass {
	reclaim := corev1.PersistentVolumeReclaimDelete
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: ClassName, Annotations: map[string]string{annIsDefaultClass: "true"}},
		Provisioner:       ProvisionerName,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &mode,
	}
}

// ensureClass creates the default class unless a class of that name
// exists (a changed one is the administrator's and is kept).
func (c *Controller) ensureClass(ctx context.Context) error {
	_, err := c.client.StorageV1().StorageClasses().Get(ctx, ClassName, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get storage class %s: %w", ClassName, err)
	}
	_, err = c.client.StorageV1().StorageClasses().Create(ctx, DefaultClass(), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create storage class %s: %w", ClassName, err)
	}
	c.log.Info("Created the default storage class", "storageClass", ClassName)
	return nil
}

// ensureClassLoop retries ensureClass with backoff until it succeeds or
// ctx ends.
func (c *Controller) ensureClassLoop(ctx context.Context) {
	delay := time.Second
	for {
		err := c.ensureClass(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		c.log.Info("Cannot create the default storage class, will retry", "err", err, "after", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// claimClass returns the class a claim asks for ("" for none).
func claimClass(cl *corev1.PersistentVolumeClaim) string {
	if v, ok := cl.Annotations[annBetaStorageClass]; ok {
		return v
	}
	if cl.Spec.StorageClassName != nil {
		return *cl.Spec.StorageClassName
	}
	return ""
}

// volumeName is the name of the volume provisioned for a claim.
func volumeName(cl *corev1.PersistentVolumeClaim) string { return "pvc-" + string(cl.UID) }

// volumePath is where the claim's volume lives on its node.
func (c *Controller) volumePath(cl *corev1.PersistentVolumeClaim) string {
	return path.Join(c.base, cl.Namespace+"_"+cl.Name+"_"+volumeName(cl))
}

// syncClaim provisions the volume of a claim handed to this provisioner.
func (c *Controller) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("claim key %q: %w", key, err)
	}
	claim, err := c.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get claim %s: %w", key, err)
	}
	if claim.Spec.VolumeName != "" || claim.DeletionTimestamp != nil || !isOurs(claim.Annotations) {
		return nil
	}
	class, err := c.classes.Get(claimClass(claim))
	if apierrors.IsNotFound(err) {
		return nil // the binder reports a missing class
	}
	if err != nil {
		return fmt.Errorf("get class of claim %s: %w", key, err)
	}
	if class.Provisioner != ProvisionerName {
		return nil
	}
	nodeName := claim.Annotations[annSelectedNode]
	wffc := class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
	if nodeName == "" && wffc {
		return nil // the scheduler picks the node first
	}
	if _, err := c.volumes.Get(volumeName(claim)); err == nil {
		return nil // provisioned already; the binder binds it
	}
	fail := func(err error) {
		c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonProvisioningFailed, "failed to provision volume with StorageClass %q: %v", class.Name, err)
	}
	if err := checkClaim(claim, nodeName); err != nil {
		fail(err)
		return nil // permanent until the claim changes
	}
	node, err := c.node(ctx, nodeName)
	if err != nil {
		fail(err)
		return err
	}
	c.recorder.Eventf(claim, corev1.EventTypeNormal, reasonProvisioning, "External provisioner is provisioning volume for claim %q", key)
	pv := c.newVolume(claim, class, node)
	vpath := pv.Spec.Local.Path
	if err := c.dirs.Create(ctx, node.Name, vpath); err != nil {
		fail(err)
		return err
	}
	if _, err := c.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		fail(err)
		return fmt.Errorf("create volume %s for claim %s: %w", pv.Name, key, err)
	}
	c.log.Info("Provisioned volume", "claim", key, "volume", pv.Name, "node", node.Name, "path", vpath)
	c.recorder.Eventf(claim, corev1.EventTypeNormal, reasonProvisioningSucceeded, "Successfully provisioned volume %s", pv.Name)
	return nil
}

// checkClaim returns why the claim cannot be provisioned, or nil.
func checkClaim(cl *corev1.PersistentVolumeClaim, node string) error {
	if node == "" {
		return errors.New("configuration error, no node was specified")
	}
	if cl.Spec.Selector != nil {
		return errors.New("claim Selector is not supported")
	}
	for _, m := range cl.Spec.AccessModes {
		if m != corev1.ReadWriteOnce && m != corev1.ReadWriteOncePod {
			return errors.New("local-path only supports ReadWriteOnce and ReadWriteOncePod access modes")
		}
	}
	if cl.Spec.VolumeMode != nil && *cl.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		return errors.New("local-path does not support volumeMode Block")
	}
	return nil
}

// node returns the named node from the cache, or else from the server.
func (c *Controller) node(ctx context.Context, name string) (*corev1.Node, error) {
	if n, err := c.nodes.Get(name); err == nil {
		return n, nil
	}
	n, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to get target node: %w", err)
	}
	return n, nil
}

// newVolume returns the volume for claim on node: local, at volumePath,
// pinned to the node's hostname, pre-bound to the claim.
func (c *Controller) newVolume(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, node *corev1.Node) *corev1.PersistentVolume {
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	hostname := node.Labels[labelHostname]
	if hostname == "" {
		hostname = node.Name
	}
	mode := corev1.PersistentVolumeFilesystem
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        volumeName(claim),
			Annotations: map[string]string{annProvisionedBy: ProvisionerName, AnnNode: node.Name},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: claim.Spec.Resources.Requests[corev1.ResourceStorage].DeepCopy()},
			AccessModes:                   claim.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    &mode,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: c.volumePath(claim)}},
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: claim.Namespace, Name: claim.Name,
				UID: claim.UID, ResourceVersion: claim.ResourceVersion,
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: labelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{hostname}}},
			}}}},
		},
	}
}

// syncVolume deletes a Released volume of this provisioner whose policy is
// Delete: first its directory, then the object.
func (c *Controller) syncVolume(ctx context.Context, key string) error {
	v, err := c.volumes.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get volume %s: %w", key, err)
	}
	if !shouldDelete(v) {
		return nil
	}
	// The cache may be stale, and removing data is not undone: check the
	// live object.
	v, err = c.client.CoreV1().PersistentVolumes().Get(ctx, key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get volume %s: %w", key, err)
	}
	if !shouldDelete(v) {
		return nil
	}
	node, vpath := volumeLocation(v)
	if vpath != "" {
		if err := c.dirs.Remove(ctx, node, vpath); err != nil {
			c.recorder.Event(v, corev1.EventTypeWarning, reasonVolumeFailedDelete, err.Error())
			return err
		}
	}
	err = c.client.CoreV1().PersistentVolumes().Delete(ctx, v.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &v.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete volume %s: %w", v.Name, err)
	}
	c.log.Info("Deleted volume", "volume", v.Name, "node", node, "path", vpath)
	return nil
}

// shouldDelete reports whether v is a Released local-path volume to
// delete.
func shouldDelete(v *corev1.PersistentVolume) bool {
	return v.Annotations[annProvisionedBy] == ProvisionerName && v.DeletionTimestamp == nil &&
		v.Status.Phase == corev1.VolumeReleased && v.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete
}

// volumeLocation returns the node and path of a volume's directory.
func volumeLocation(v *corev1.PersistentVolume) (node, dir string) {
	switch {
	case v.Spec.Local != nil:
		dir = v.Spec.Local.Path
	case v.Spec.HostPath != nil:
		dir = v.Spec.HostPath.Path
	}
	node = v.Annotations[AnnNode]
	if node == "" && v.Spec.NodeAffinity != nil && v.Spec.NodeAffinity.Required != nil {
		for _, t := range v.Spec.NodeAffinity.Required.NodeSelectorTerms {
			for _, r := range t.MatchExpressions {
				if r.Key == labelHostname && len(r.Values) == 1 {
					node = r.Values[0]
				}
			}
		}
	}
	return node, dir
}
