//go:build flink

// Package localnode is a kubelet for tests: it registers a Node with the local control plane and
// runs the pods scheduled to it as local processes of a real Apache Flink distribution, so that
// what the operator generates (ConfigMap, command lines, memory, ports, probes) is run by real
// Flink. It changes only what running every pod on one loopback interface requires; each rewrite
// is listed in docs/e2e.md and recorded per container in rewrites.log.
//
// kwok leaves the node alone: kwok manages only nodes annotated kwok.x-k8s.io/node=fake, and the
// e2e suite starts the local cluster with no kwok nodes, so the scheduler has this node only.
package localnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/test/flinkcluster"
)

// Options configure a Node.
type Options struct {
	Name string
	Kube kubernetes.Interface
	// WorkDir holds one directory per pod: volumes, rewritten configuration, container logs.
	WorkDir string
	// Dist returns the Flink distribution that stands in for an image.
	Dist func(image string) (flinkcluster.Dist, error)
	// Binaries are the images other than Flink's the node runs: each one program, found at
	// its path in the image and run from a local file instead.
	Binaries map[string]Binary
	// Logf reports what the node does (t.Logf or a file).
	Logf func(format string, args ...any)
	// APIServer is the API server's URL, given to pods as KUBERNETES_SERVICE_HOST/PORT.
	APIServer string
	// PodNetwork is the second octet of the pod IPs (10.N.a.b, listening on 127.N.a.b); nodes
	// that run at the same time on one machine need different ones, or their pods' ports
	// collide. Default 244.
	PodNetwork int
	// RestartDelay is the wait before a container is restarted (the kubelet's back-off starts at
	// 10 s; tests want seconds).
	RestartDelay time.Duration
}

// Binary is an image whose one program is a local executable: Entrypoint is its path in the
// image (what a container's command names), Path the file that runs.
type Binary struct {
	Entrypoint string
	Path       string
}

// Node runs the pods bound to it.
type Node struct {
	opts     Options
	services *serviceTable
	slices   discoverylisters.EndpointSliceLister
	ctx      context.Context // the node's lifetime, set by Run

	// kubeletPort serves `kubectl logs` (startKubeletAPI).
	kubeletPort int32
	// events records the kubelet's events (startEvents); nil before Register.
	events record.EventRecorder

	mu       sync.Mutex
	pods     map[types.UID]*podRunner
	podCount int
	wg       sync.WaitGroup
}

// New returns a Node; Run registers and runs it.
func New(opts Options) *Node {
	if opts.RestartDelay == 0 {
		opts.RestartDelay = time.Second
	}
	if opts.PodNetwork == 0 {
		opts.PodNetwork = 244
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	n := &Node{opts: opts, services: newServiceTable(opts.Kube), pods: map[types.UID]*podRunner{}}
	n.services.backing = n.backingPort
	n.services.serve = n.serveService
	return n
}

// Run keeps the Node's Lease fresh and runs its pods until ctx ends; then it kills every process
// it started and returns. Register must have succeeded first.
func (n *Node) Run(ctx context.Context) error {
	n.ctx = ctx
	// The Service proxies read EndpointSlices, as kube-proxy does; they must be known before a
	// pod's first connection.
	sliceFactory := informers.NewSharedInformerFactory(n.opts.Kube, 0)
	n.slices = sliceFactory.Discovery().V1().EndpointSlices().Lister()
	sliceFactory.Start(ctx.Done())
	sliceFactory.WaitForCacheSync(ctx.Done())
	defer sliceFactory.Shutdown()
	factory := informers.NewSharedInformerFactoryWithOptions(n.opts.Kube, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", n.opts.Name).String()
		}))
	pods := factory.Core().V1().Pods().Informer()
	_, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { n.sync(ctx, obj) },
		UpdateFunc: func(_, obj any) { n.sync(ctx, obj) },
		DeleteFunc: func(obj any) { n.forget(obj) },
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	go n.heartbeat(ctx)
	<-ctx.Done()
	factory.Shutdown()
	n.mu.Lock()
	for _, r := range n.pods {
		r.stop(0)
	}
	n.mu.Unlock()
	n.wg.Wait()
	return nil
}

// Register creates (or takes over) the Node object and marks it Ready.
func (n *Node) Register(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:   n.opts.Name,
		Labels: map[string]string{corev1.LabelHostname: n.opts.Name, corev1.LabelOSStable: "linux"},
	}}
	if _, err := n.opts.Kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating node %s: %w", n.opts.Name, err)
	}
	n.startEvents(ctx)
	if err := n.startKubeletAPI(ctx); err != nil {
		return fmt.Errorf("serving the kubelet API: %w", err)
	}
	// The node lifecycle controller writes a new Node at once (taints), so the first status write
	// can conflict: CI saw it.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error { return n.updateNodeStatus(ctx) })
}

func (n *Node) updateNodeStatus(ctx context.Context) error {
	node, err := n.opts.Kube.CoreV1().Nodes().Get(ctx, n.opts.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node.Status.Capacity, node.Status.Allocatable = capacity, capacity
	// The API server reaches a kubelet at its Hostname address first (its default
	// --kubelet-preferred-address-types): localhost, where startKubeletAPI listens.
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.nodeIP()}, {Type: corev1.NodeHostName, Address: "localhost"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = n.kubeletPort
	node.Status.Conditions = []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "LocalNodeReady",
		Message: "test/localnode runs pods as local processes", LastHeartbeatTime: now, LastTransitionTime: now,
	}}
	_, err = n.opts.Kube.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the node's Lease as a kubelet does, so the node lifecycle controller never
// marks it unreachable and evicts the pods.
func (n *Node) heartbeat(ctx context.Context) {
	leases := n.opts.Kube.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	for {
		now := metav1.NewMicroTime(time.Now())
		lease, err := leases.Get(ctx, n.opts.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: n.opts.Name},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(n.opts.Name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now},
			}, metav1.CreateOptions{})
		case err == nil:
			lease.Spec.RenewTime = &now
			_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		}
		if err != nil && ctx.Err() == nil {
			n.opts.Logf("localnode: renewing lease: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}

// sync starts a pod the first time it is seen and stops it once it is being deleted.
func (n *Node) sync(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	r, known := n.pods[pod.UID]
	if !known {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			// Not started by this node (or finished): nothing to run, only to release.
			if pod.DeletionTimestamp != nil {
				go n.release(ctx, pod)
			}
			return
		}
		dir := filepath.Join(n.opts.WorkDir, pod.Namespace+"_"+pod.Name+"_"+string(pod.UID)[:8])
		n.podCount++
		r = newPodRunner(n, pod, dir, fmt.Sprintf("10.%d.%d.%d", n.opts.PodNetwork, n.podCount/250, n.podCount%250+1))
		n.pods[pod.UID] = r
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			r.run(ctx)
			n.release(ctx, r.pod)
		}()
		return
	}
	if pod.DeletionTimestamp != nil {
		grace := int64(30)
		if pod.DeletionGracePeriodSeconds != nil {
			grace = *pod.DeletionGracePeriodSeconds
		}
		r.stop(time.Duration(grace) * time.Second)
	}
}

// forget kills a pod that was removed from the API without this node's help (a forced delete).
func (n *Node) forget(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	n.mu.Lock()
	r := n.pods[pod.UID]
	n.mu.Unlock()
	if r != nil {
		r.stop(0)
	}
}

// release deletes a pod whose containers have all stopped, once the API asked for its deletion:
// the final step of a graceful delete that a kubelet performs.
func (n *Node) release(ctx context.Context, pod *corev1.Pod) {
	for ctx.Err() == nil {
		cur, err := n.opts.Kube.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && cur.UID != pod.UID) {
			break
		}
		if err == nil && cur.DeletionTimestamp != nil {
			err = n.opts.Kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
				GracePeriodSeconds: ptr.To[int64](0), Preconditions: metav1.NewUIDPreconditions(string(pod.UID)),
			})
			if err == nil || apierrors.IsNotFound(err) {
				break
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	n.mu.Lock()
	delete(n.pods, pod.UID)
	n.mu.Unlock()
}

// Kill SIGKILLs the running process of container in the first running pod of namespace whose
// labels match selector: a crash, which the container's restart policy then answers.
func (n *Node) Kill(namespace string, selector map[string]string, container string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.pods {
		if r.pod.Namespace != namespace || !labelsMatch(selector, r.pod.Labels) {
			continue
		}
		if r.kill(container, nil) {
			return r.pod.Name, nil
		}
	}
	return "", fmt.Errorf("no running container %q in a pod of %s matching %v", container, namespace, selector)
}

// KillAt SIGKILLs the running process of container in the pod whose processes listen on
// localIP (a Flink process's own address, as Flink reports it), and returns the pod's name.
func (n *Node) KillAt(localIP, container string) (string, error) {
	return n.killAt(localIP, container, nil)
}

// KillAtAndHold is KillAt for a process that does not come back at once (its machine failed):
// the container is restarted only after release is called.
func (n *Node) KillAtAndHold(localIP, container string) (pod string, release func(), err error) {
	held := make(chan struct{})
	pod, err = n.killAt(localIP, container, held)
	var once sync.Once
	return pod, func() { once.Do(func() { close(held) }) }, err
}

func (n *Node) killAt(localIP, container string, held chan struct{}) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.pods {
		if r.localIP == localIP && r.kill(container, held) {
			return r.pod.Name, nil
		}
	}
	return "", fmt.Errorf("no running container %q in a pod at %s", container, localIP)
}

// ContainerLog is the path of a container's stdout and stderr (all restarts appended).
func (n *Node) ContainerLog(podDir, container string) string {
	return filepath.Join(podDir, container+".log")
}

// PodDirs lists the work directories of pods of namespace whose labels match selector, running
// or not (the directories stay until the suite ends).
func (n *Node) PodDirs(namespace string, selector map[string]string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var dirs []string
	for _, r := range n.pods {
		if r.pod.Namespace == namespace && labelsMatch(selector, r.pod.Labels) {
			dirs = append(dirs, r.dir)
		}
	}
	return dirs
}

// Running counts the pods with a live process.
func (n *Node) Running() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, r := range n.pods {
		if r.alive() {
			c++
		}
	}
	return c
}

func labelsMatch(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// loopback is where the Service proxies listen (each pod listens on its own localIP).
const loopback = "127.0.0.1"

// nodeIP is the node's address in the API (EndpointSlices and Node addresses reject loopback).
func (n *Node) nodeIP() string { return fmt.Sprintf("10.%d.255.254", n.opts.PodNetwork) }

func mkdirAll(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}
