package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// The floor: the same children the operator creates for a burst of N job clusters, created by
// the harness itself before the operator starts, on the same fresh cluster, as many clusters at
// a time as the operator has workers, each cluster's objects as the operator's updater writes
// them, under the operator's client rate limit. How long its Deployments take to become available
// is the control plane's share of a burst; the burst minus the floor, both timed from their first
// create, is the operator's share.

const floorNamespace = "bench-floor"

// podsPerFloorCluster: the floor's JobManager and TaskManager (no submitter).
const podsPerFloorCluster = 2

// availability records when each Deployment first had all its replicas available, from a
// watch of every Deployment.
type availability struct {
	mu        sync.Mutex
	available map[string]time.Time // namespace/name
}

func (a *availability) start(ctx context.Context, kube kubernetes.Interface) error {
	a.available = map[string]time.Time{}
	f := informers.NewSharedInformerFactory(kube, 0)
	inf := f.Apps().V1().Deployments().Informer()
	// Keep only what availability reads.
	_ = inf.SetTransform(func(obj interface{}) (interface{}, error) {
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			return obj, nil
		}
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: d.Name, ResourceVersion: d.ResourceVersion},
			Spec: appsv1.DeploymentSpec{Replicas: d.Spec.Replicas}, Status: d.Status}, nil
	})
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    a.onDeployment,
		UpdateFunc: func(_, obj interface{}) { a.onDeployment(obj) },
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache of %v did not sync", typ)
		}
	}
	return nil
}

func (a *availability) onDeployment(obj interface{}) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.AvailableReplicas < want {
		return
	}
	now := time.Now()
	key := d.Namespace + "/" + d.Name
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, seen := a.available[key]; !seen {
		a.available[key] = now
	}
}

// cluster is when both Deployments of the cluster NAMESPACE/NAME were available (zero while one
// is not).
func (a *availability) cluster(key string) time.Time {
	ns, name, _ := strings.Cut(key, "/")
	a.mu.Lock()
	defer a.mu.Unlock()
	jm, ok1 := a.available[ns+"/"+names.JobManagerDeployment(name)]
	tm, ok2 := a.available[ns+"/"+names.TaskManagerDeployment(name)]
	if !ok1 || !ok2 {
		return time.Time{}
	}
	if tm.After(jm) {
		return tm
	}
	return jm
}

// floorResult is the floor of one run.
type floorResult struct {
	Clusters, Concurrency int
	// Available: per cluster, from the first create of the phase (the whole burst is wanted at
	// once) to both of its Deployments available.
	Available latency
	// AllAvailable: from the first create to the last Deployment available.
	AllAvailable time.Duration
}

// The operator's client defaults (--kube-api-qps, --kube-api-burst), which the floor's creates
// obey too.
const operatorQPS, operatorBurst = 200, 400

// floor creates the children of N job clusters without the operator and waits for their
// Deployments.
func (e *env) floor(ctx context.Context) error {
	fc, err := e.defaultedCluster(ctx)
	if err != nil {
		return err
	}
	cfg := mustConfig(e.cfg.kubeconfig)
	cfg.QPS, cfg.Burst = operatorQPS, operatorBurst
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	logf("floor: creating the children of %d job clusters, %d at a time, without the operator", e.n, e.cfg.workers)
	begin := time.Now()
	keys, err := e.createFloor(ctx, kube, fc)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	res, err := e.waitFloor(ctx, keys, begin)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	e.run.Floor = res
	logf("floor: all %d available after %s; p50 %s, p99 %s", e.n, fmtDur(res.AllAvailable), fmtDur(res.Available.P50), fmtDur(res.Available.P99))
	return nil
}

// createFloor creates the children of e.n copies of fc, as many clusters at a time as the
// operator has workers; it returns the clusters' keys.
func (e *env) createFloor(ctx context.Context, kube kubernetes.Interface, fc *v1beta1.FlinkCluster) ([]string, error) {
	keys := make([]string, e.n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/f-%05d", floorNamespace, i)
	}
	return keys, inParallel(e.n, e.cfg.workers, func(i int) error {
		c := fc.DeepCopy()
		c.Name = fmt.Sprintf("f-%05d", i)
		return createChildren(ctx, kube, c)
	})
}

// waitFloor waits until every floor cluster's Deployments are available.
func (e *env) waitFloor(ctx context.Context, keys []string, begin time.Time) (floorResult, error) {
	deadline := time.Now().Add(runningTimeout(e.n))
	for {
		l, last := e.available(keys, begin)
		if l.Missing == 0 {
			return floorResult{Clusters: e.n, Concurrency: e.cfg.workers, Available: l, AllAvailable: last}, nil
		}
		if time.Now().After(deadline) {
			return floorResult{}, fmt.Errorf("%d of %d clusters' Deployments not available after %s", l.Missing, e.n, runningTimeout(e.n))
		}
		select {
		case <-ctx.Done():
			return floorResult{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// defaultedCluster is the benchmark's job cluster as the API server stores it (its defaults
// applied, by a dry-run create), which the operator's builders take.
func (e *env) defaultedCluster(ctx context.Context) (*v1beta1.FlinkCluster, error) {
	if err := e.namespace(ctx, floorNamespace); err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON([]byte(fmt.Sprintf(jobClusterTemplate, "floor", floorNamespace))); err != nil {
		return nil, err
	}
	stored, err := e.dyn.Resource(fcResource).Namespace(floorNamespace).Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return nil, fmt.Errorf("dry-run create of the job cluster: %w", err)
	}
	fc := &v1beta1.FlinkCluster{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(stored.Object, fc); err != nil {
		return nil, err
	}
	return fc, nil
}

// createChildren creates what the operator's first syncs create for fc, as its updater does
// (the ConfigMap first, then the Service and both Deployments concurrently), without the owner
// reference and the managed-by label (the operator must not see them).
func createChildren(ctx context.Context, kube kubernetes.Interface, fc *v1beta1.FlinkCluster) error {
	c, err := desired.Build(fc, desired.Env{})
	if err != nil {
		return err
	}
	for _, o := range []metav1.Object{c.ConfigMap, c.JobManagerService, c.JobManagerDeployment, c.TaskManagerDeployment} {
		o.SetOwnerReferences(nil)
		o.SetLabels(withoutManagedBy(o.GetLabels()))
	}
	ns := fc.Namespace
	if _, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, c.ConfigMap, metav1.CreateOptions{}); err != nil {
		return err
	}
	creates := []func() error{func() error {
		_, err := kube.CoreV1().Services(ns).Create(ctx, c.JobManagerService, metav1.CreateOptions{})
		return err
	}}
	for _, d := range []*appsv1.Deployment{c.JobManagerDeployment, c.TaskManagerDeployment} {
		d.Spec.Template.Labels = withoutManagedBy(d.Spec.Template.Labels)
		creates = append(creates, func() error {
			_, err := kube.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
			return err
		})
	}
	errs := make([]error, len(creates))
	var wg sync.WaitGroup
	for i, create := range creates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = create()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func withoutManagedBy(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if k != "app.kubernetes.io/managed-by" {
			out[k] = v
		}
	}
	return out
}

// available is, for the clusters keys, the latency from begin (the first create of the phase)
// to both Deployments available, and from begin to the last cluster available.
func (e *env) available(keys []string, begin time.Time) (latency, time.Duration) {
	var ds []time.Duration
	var last time.Time
	missing := 0
	for _, k := range keys {
		t := e.avail.cluster(k)
		if t.IsZero() {
			missing++
			continue
		}
		ds = append(ds, max(0, t.Sub(begin)))
		if t.After(last) {
			last = t
		}
	}
	l := summarize(ds)
	l.Missing = missing
	if last.IsZero() {
		return l, 0
	}
	return l, last.Sub(begin)
}
