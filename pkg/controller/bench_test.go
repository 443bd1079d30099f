package controller

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kubefake "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
	fcfake "github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/fake"
)

// benchClusters is how many FlinkClusters the benchmark's caches hold; workers sync them round
// robin, as they would distinct keys from the workqueue.
const benchClusters = 64

// BenchmarkNoOpSync measures one sync of a FlinkCluster that is already where its spec wants it
// (Running, every child up to date): the cost every watch event and every Flink poll pays. The
// caches are indexers, the clientsets are fakes (a no-op sync must not call them: the setup checks
// that it writes nothing), and the clock is fixed. The job variant asks a stub Flink REST client
// for the job (one in-memory GET /jobs/{id}, no network). Reported as syncs/s of wall time with 1
// and 2 workers (goroutines running syncs in parallel, as --workers does).
//
//	go test -run '^$' -bench BenchmarkNoOpSync -benchtime 3s ./pkg/controller/
func BenchmarkNoOpSync(b *testing.B) {
	for _, kind := range []string{"session", "job"} {
		var bf *benchFixture // built once per kind, on first use (a -bench filter may skip it)
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", kind, workers), func(b *testing.B) {
				if bf == nil {
					bf = newBenchFixture(b, kind)
				}
				bf.tb = b
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				var next atomic.Int64
				var wg sync.WaitGroup
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						benchWorker(b, bf, &next)
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "syncs/s")
				if w := bf.writes.Load(); w != 0 {
					b.Fatalf("a no-op sync wrote %d times", w)
				}
			})
		}
	}
}

// benchWorker is one worker: it syncs keys round robin until b.N syncs were taken. (A named
// function, so that a profile can be focused on it: pprof -focus=benchWorker.)
func benchWorker(b *testing.B, bf *benchFixture, next *atomic.Int64) {
	ctx := quiet()
	for {
		i := next.Add(1) - 1
		if i >= int64(b.N) {
			return
		}
		if _, err := bf.r.Sync(ctx, bf.keys[i%benchClusters]); err != nil {
			b.Error(err)
			return
		}
	}
}

// benchFixture is the sync fixture of reconciler_test.go for many clusters and testing.B.
type benchFixture struct {
	tb       testing.TB
	kube     *kubefake.Clientset
	flink    *fcfake.Clientset
	rest     *flinkfake.Client
	indexers map[string]cache.Indexer
	r        *Reconciler
	keys     []string
	writes   atomic.Int64
}

func newBenchFixture(tb testing.TB, kind string) *benchFixture {
	tb.Helper()
	var clusters []runtime.Object
	f := &benchFixture{tb: tb, indexers: newIndexers()}
	for i := 0; i < benchClusters; i++ {
		fc := sessionCluster()
		if kind == "job" {
			fc = jobCluster()
		}
		fc.Name = fmt.Sprintf("c%d", i)
		fc.UID = types.UID("uid-" + fc.Name)
		clusters = append(clusters, fc)
		f.keys = append(f.keys, "ns/"+fc.Name)
		if err := f.indexers["fc"].Add(fc); err != nil {
			tb.Fatal(err)
		}
	}
	f.kube, f.flink = kubefake.NewSimpleClientset(), fcfake.NewSimpleClientset(clusters...)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.rest = flinkfake.New()
	// A FakeRecorder without a channel drops events (one with a full channel would block).
	clock := func() time.Time { return now }
	f.r = testReconciler(tb, f.indexers, f.kube, f.flink, f.rest, f.rest, &record.FakeRecorder{}, clock)

	// Bring every cluster to Running as reconciler_test.go does: create the children, play the
	// Deployment controller, play Flink.
	for _, key := range f.keys {
		f.sync(key)
	}
	f.makeAvailable()
	for _, key := range f.keys {
		f.sync(key)
	}
	if kind == "job" {
		for _, key := range f.keys {
			f.sync(key) // Pending -> Submitting once the cluster is ready
		}
		for _, key := range f.keys {
			fc := f.cluster(key)
			job := fc.Status.Components.Job
			if job == nil || job.State != fsm.Submitting {
				tb.Fatalf("%s: job not Submitting: %+v", key, job)
			}
			f.rest.AddJob(jobManagerURLOf(fc), flinkfake.Job{Details: flinkclient.JobDetails{ID: job.ID, State: flinkclient.JobStateRunning}})
		}
	}
	for _, key := range f.keys {
		f.sync(key)
		f.sync(key)
	}
	for _, key := range f.keys {
		fc := f.cluster(key)
		if fc.Status.State != v1beta1.ClusterStateRunning {
			tb.Fatalf("%s: cluster %s, not Running", key, fc.Status.State)
		}
		if kind == "job" && fc.Status.Components.Job.State != fsm.Running {
			tb.Fatalf("%s: job %s, not Running", key, fc.Status.Components.Job.State)
		}
	}
	// The fake REST client records every call; a stub that answers RUNNING keeps the benchmark
	// from measuring the fake's bookkeeping. It also reports the job's metrics, so the first
	// health check of each cluster records JobHealthy: that write belongs to the setup.
	f.r = testReconciler(tb, f.indexers, f.kube, f.flink, runningFlink{}, f.rest, &record.FakeRecorder{}, clock)
	for _, key := range f.keys {
		f.sync(key)
		if n := f.sync(key); n != 0 {
			tb.Fatalf("%s: the sync of a Running cluster wrote %d times; not a no-op", key, n)
		}
	}
	// From here on every write is counted (and must not happen); reads are not recorded.
	f.kube.ClearActions()
	f.flink.ClearActions()
	count := func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			f.writes.Add(1)
		}
		return false, nil, nil
	}
	f.kube.PrependReactor("*", "*", count)
	f.flink.PrependReactor("*", "*", count)
	return f
}

func jobManagerURLOf(fc *v1beta1.FlinkCluster) string {
	return fmt.Sprintf("http://%s-jobmanager.%s.svc:8081", fc.Name, fc.Namespace)
}

// sync runs one sync during the setup and feeds its writes back into the caches, as the informers
// would; it returns the number of writes.
func (f *benchFixture) sync(key string) int {
	f.kube.ClearActions()
	f.flink.ClearActions()
	if _, err := f.r.Sync(quiet(), key); err != nil {
		f.tb.Fatal(err)
	}
	n := 0
	for _, a := range append(f.kube.Actions(), f.flink.Actions()...) {
		var obj runtime.Object
		switch a := a.(type) {
		case k8stesting.CreateAction:
			obj = a.GetObject()
		case k8stesting.UpdateAction:
			obj = a.GetObject()
		case k8stesting.DeleteAction:
			f.tb.Fatalf("unexpected delete of %s %s", a.GetResource().Resource, a.GetName())
		default:
			continue
		}
		n++
		idx := map[string]cache.Indexer{"flinkclusters": f.indexers["fc"], "deployments": f.indexers["deploy"],
			"services": f.indexers["svc"], "ingresses": f.indexers["ing"], "configmaps": f.indexers["cm"], "jobs": f.indexers["job"]}[a.GetResource().Resource]
		if err := idx.Update(obj); err != nil {
			f.tb.Fatal(err)
		}
	}
	return n
}

func (f *benchFixture) makeAvailable() {
	for _, item := range f.indexers["deploy"].List() {
		d := item.(*appsv1.Deployment).DeepCopy()
		n := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
		if err := f.indexers["deploy"].Update(d); err != nil {
			f.tb.Fatal(err)
		}
	}
}

func (f *benchFixture) cluster(key string) *v1beta1.FlinkCluster {
	item, ok, err := f.indexers["fc"].GetByKey(key)
	if err != nil || !ok {
		f.tb.Fatalf("%s not in the cache: %v", key, err)
	}
	return item.(*v1beta1.FlinkCluster)
}

// quiet is a context whose logger discards (the zero logr.Logger does), so that log lines
// neither flood the output nor count in the timing.
func quiet() context.Context { return klog.NewContext(context.Background(), klog.Logger{}) }

// runningFlink answers every job poll with RUNNING, like a healthy JobManager.
type runningFlink struct{}

func (runningFlink) GetJob(_ context.Context, _, jobID string) (flinkclient.JobDetails, error) {
	return flinkclient.JobDetails{ID: jobID, State: flinkclient.JobStateRunning}, nil
}

func (runningFlink) GetJobExceptions(context.Context, string, string) (flinkclient.JobExceptions, error) {
	return flinkclient.JobExceptions{}, nil
}

func (runningFlink) GetSavepointStatus(context.Context, string, string, string) (flinkclient.SavepointStatus, error) {
	return flinkclient.SavepointStatus{}, fmt.Errorf("no savepoint in flight")
}

func (runningFlink) GetCheckpoints(context.Context, string, string) (flinkclient.CheckpointStats, error) {
	return flinkclient.CheckpointStats{}, nil
}

func (runningFlink) GetCheckpointConfig(context.Context, string, string) (flinkclient.CheckpointConfig, error) {
	return flinkclient.CheckpointConfig{}, nil
}

func (runningFlink) GetDisposalStatus(context.Context, string, string) (flinkclient.SavepointStatus, error) {
	return flinkclient.SavepointStatus{}, fmt.Errorf("no disposal in flight")
}

func (runningFlink) GetJobMetrics(context.Context, string, string, ...string) (map[string]string, error) {
	return map[string]string{"numRestarts": "0", "numberOfCompletedCheckpoints": "0"}, nil
}
