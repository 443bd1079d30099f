package controller

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	kubefake "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	fcfake "github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/fake"
)

func newTestController(t *testing.T, syncer Syncer) (*Controller, *Informers) {
	t.Helper()
	inf := NewInformers(kubefake.NewSimpleClientset(), fcfake.NewSimpleClientset(), "", "")
	c, err := New(inf, syncer, NewHeartbeat(time.Now))
	require.NoError(t, err)
	return c, inf
}

func flinkCluster(name string, generation int64) *v1beta1.FlinkCluster {
	return &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Generation: generation}}
}

func ownedBy(owner string, kind, apiVersion string) *appsv1.Deployment {
	ctrl := true
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
		Namespace: "ns", Name: owner + "-jobmanager",
		Labels:          names.ClusterLabels(owner),
		OwnerReferences: []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: owner, Controller: &ctrl}},
	}}
}

func TestEnqueueOwner(t *testing.T) {
	gv := v1beta1.SchemeGroupVersion.String()
	tests := []struct {
		name string
		obj  interface{}
		want []string
	}{
		{"controlled by a FlinkCluster", ownedBy("a", "FlinkCluster", gv), []string{"ns/a"}},
		{"tombstone of a controlled child", cache.DeletedFinalStateUnknown{Key: "ns/a-jobmanager", Obj: ownedBy("a", "FlinkCluster", gv)}, []string{"ns/a"}},
		{"controlled by another kind", ownedBy("a", "Deployment", "apps/v1"), nil},
		{"same kind name in another group", ownedBy("a", "FlinkCluster", "other.io/v1"), nil},
		{"no owner", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "x"}}, nil},
		{"not an object", "garbage", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestController(t, nil)
			c.enqueueOwner(tt.obj)
			assert.Equal(t, tt.want, drain(c))
		})
	}
}

func TestFlinkClusterUpdateIgnoresStatusOnlyChanges(t *testing.T) {
	base := flinkCluster("a", 1)
	withStatus := base.DeepCopy()
	withStatus.Status.State = v1beta1.ClusterStateRunning
	withStatus.ResourceVersion = "2"
	newGen := base.DeepCopy()
	newGen.Generation = 2
	annotated := base.DeepCopy()
	annotated.Annotations = map[string]string{"k": "v"}
	deleting := base.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	finalized := base.DeepCopy()
	finalized.Finalizers = []string{"f"}
	relabelled := base.DeepCopy()
	relabelled.Labels = map[string]string{"team": "x"}

	tests := []struct {
		name    string
		updated *v1beta1.FlinkCluster
		want    []string
	}{
		{"status only", withStatus, nil},
		{"spec generation", newGen, []string{"ns/a"}},
		{"annotation", annotated, []string{"ns/a"}},
		{"label", relabelled, []string{"ns/a"}},
		{"deletion", deleting, []string{"ns/a"}},
		{"finalizers", finalized, []string{"ns/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestController(t, nil)
			c.onFlinkClusterUpdate(base, tt.updated)
			assert.Equal(t, tt.want, drain(c))
		})
	}
}

// drain returns the keys queued now, without waiting.
func drain(c *Controller) []string {
	var keys []string
	for c.queue.Len() > 0 {
		k, _ := c.queue.Get()
		keys = append(keys, k)
		c.queue.Done(k)
	}
	return keys
}

type recordingSyncer struct {
	mu     sync.Mutex
	calls  map[string]int
	result Result
	err    error
}

func (r *recordingSyncer) Sync(_ context.Context, key string) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[key]++
	return r.result, r.err
}

func (r *recordingSyncer) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[key]
}

func TestProcessNextItem(t *testing.T) {
	t.Run("success forgets the key", func(t *testing.T) {
		s := &recordingSyncer{}
		c, _ := newTestController(t, s)
		c.queue.Add("ns/a")
		require.True(t, c.processNextItem(context.Background()))
		assert.Equal(t, 1, s.count("ns/a"))
		assert.Equal(t, 0, c.queue.NumRequeues("ns/a"))
		assert.Equal(t, 0, c.queue.Len())
	})
	t.Run("error requeues with backoff", func(t *testing.T) {
		s := &recordingSyncer{err: errors.New("boom")}
		c, _ := newTestController(t, s)
		c.queue.Add("ns/a")
		require.True(t, c.processNextItem(context.Background()))
		assert.Equal(t, 1, c.queue.NumRequeues("ns/a"))
	})
	t.Run("RequeueAfter schedules the key again", func(t *testing.T) {
		s := &recordingSyncer{result: Result{RequeueAfter: 10 * time.Millisecond}}
		c, _ := newTestController(t, s)
		c.queue.Add("ns/a")
		require.True(t, c.processNextItem(context.Background()))
		require.Eventually(t, func() bool { return c.queue.Len() == 1 }, time.Second, 5*time.Millisecond)
	})
	t.Run("a sync stuck in I/O is cut at the sync timeout and retried", func(t *testing.T) {
		// A syncer blocked on a call that honours its context, as client-go's do, against an API
		// server that does not answer.
		stuck := SyncerFunc(func(ctx context.Context, _ string) (Result, error) {
			<-ctx.Done()
			return Result{}, ctx.Err()
		})
		c, _ := newTestController(t, stuck)
		c.syncTimeout = 50 * time.Millisecond
		c.queue.Add("ns/a")
		start := time.Now()
		require.True(t, c.processNextItem(context.Background()))
		assert.Less(t, time.Since(start), 5*time.Second, "the worker is free again")
		assert.Equal(t, 1, c.queue.NumRequeues("ns/a"), "the key is retried with backoff")
	})
	t.Run("shutdown stops the loop", func(t *testing.T) {
		c, _ := newTestController(t, &recordingSyncer{})
		c.queue.ShutDown()
		assert.False(t, c.processNextItem(context.Background()))
	})
}

// TestRunFinishesInFlightSyncs checks graceful shutdown: a sync running when the context ends
// still completes, and Run returns only after it did.
func TestRunFinishesInFlightSyncs(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	finished := false
	syncer := SyncerFunc(func(ctx context.Context, key string) (Result, error) {
		close(started)
		<-release
		finished = ctx.Err() == nil
		return Result{}, nil
	})
	c, _ := newTestController(t, syncer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx, 1); close(done) }()
	c.queue.Add("ns/a")
	<-started
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while a sync was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-done
	assert.True(t, finished, "the in-flight sync must not see a cancelled context")
}

func TestEventsEnqueueThroughInformers(t *testing.T) {
	s := &recordingSyncer{}
	kube := kubefake.NewSimpleClientset()
	flink := fcfake.NewSimpleClientset()
	inf := NewInformers(kube, flink, "", "")
	c, err := New(inf, s, NewHeartbeat(time.Now))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inf.Start(ctx)
	require.NoError(t, inf.WaitForSync(ctx, 5*time.Second))
	go c.Run(ctx, 1)

	_, err = flink.FlinkoperatorV1beta1().FlinkClusters("ns").Create(ctx, flinkCluster("a", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.count("ns/a") == 1 }, 5*time.Second, 10*time.Millisecond)

	_, err = kube.AppsV1().Deployments("ns").Create(ctx, ownedBy("a", "FlinkCluster", v1beta1.SchemeGroupVersion.String()), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.count("ns/a") == 2 }, 5*time.Second, 10*time.Millisecond)
}

func TestStripManagedFields(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}}}
	out, err := stripManagedFields(cm)
	require.NoError(t, err)
	assert.Nil(t, out.(*corev1.ConfigMap).ManagedFields)
}

// TestSlimFlinkCluster: the cached FlinkCluster loses only managedFields and kubectl's copy of
// the manifest; the operator's own annotations stay.
func TestSlimFlinkCluster(t *testing.T) {
	fc := flinkCluster("a", 1)
	fc.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	fc.Annotations = map[string]string{lastAppliedAnnotation: `{"spec":{}}`, "flinkoperator.k8s.io/skip-final-savepoint": "true"}
	out, err := SlimFlinkCluster(fc.DeepCopy())
	require.NoError(t, err)
	slim := out.(*v1beta1.FlinkCluster)
	assert.Nil(t, slim.ManagedFields)
	assert.Equal(t, map[string]string{"flinkoperator.k8s.io/skip-final-savepoint": "true"}, slim.Annotations)
	assert.Equal(t, fc.Spec, slim.Spec)
}

func TestHeartbeat(t *testing.T) {
	now := time.Unix(1000, 0)
	h := NewHeartbeat(func() time.Time { return now })
	assert.NoError(t, h.Check(0, time.Minute), "an empty queue is healthy however long it is idle")
	now = now.Add(2 * time.Minute)
	assert.NoError(t, h.Check(0, time.Minute))
	assert.Error(t, h.Check(3, time.Minute), "waiting keys and no progress is wedged")
	h.Beat()
	assert.NoError(t, h.Check(3, time.Minute))
}
