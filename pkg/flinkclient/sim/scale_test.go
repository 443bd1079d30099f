package sim

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// TestManyClusters serves 2,000 clusters from one Server: each gets a job,
// is polled through the real client, and idle clusters cost little memory
// and no goroutine.
func TestManyClusters(t *testing.T) {
	const n = 2000
	e := newEnv(t)
	runtime.GC()
	goroutines := runtime.NumGoroutine()

	for i := 0; i < n; i++ {
		e.submit(fmt.Sprintf("ns-%d/c", i%50), fmt.Sprintf("%032x", i+1), "-p", "1")
		if i%50 == 49 { // clusters ns-X/c hold several jobs; give others one each
			e.submit(fmt.Sprintf("solo/c-%d", i), fmt.Sprintf("%032x", i+1))
		}
	}
	for i := 0; i < n; i++ {
		e.srv.Cluster("idle", fmt.Sprintf("c-%d", i))
	}
	e.clock.Advance(testDelays.Initialize)
	for i := 0; i < n; i++ {
		jm := e.jm("idle", fmt.Sprintf("c-%d", i))
		jobs, err := e.client.ListJobs(e.ctx, jm)
		require.NoError(t, err)
		require.Empty(t, jobs)
	}
	for i := 0; i < 50; i++ {
		jobs, err := e.client.ListJobs(e.ctx, e.jm(fmt.Sprintf("ns-%d", i), "c"))
		require.NoError(t, err)
		require.Len(t, jobs, n/50)
		for _, j := range jobs {
			require.Equal(t, flinkclient.JobStateRunning, j.State)
		}
	}
	assert.Equal(t, n+50+n/50, e.srv.NumClusters())
	assert.Equal(t, int64(1), e.srv.Cluster("idle", "c-7").TotalRequests())

	// No goroutine or timer per cluster: a handful for the HTTP connections.
	assert.Less(t, runtime.NumGoroutine()-goroutines, 20)
}

// TestIdleClusterMemory bounds the heap cost of a cluster that exists and
// was polled but has no job.
func TestIdleClusterMemory(t *testing.T) {
	const n = 2000
	srv := New(Options{Clock: NewFakeClock(epoch)})
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("cluster-%d", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, name := range names {
		c := srv.Cluster("namespace", name)
		c.Jobs() // advance once, like a poll
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perCluster := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("heap per idle cluster: %d bytes", perCluster)
	assert.Less(t, perCluster, int64(1024))
	runtime.KeepAlive(srv)
}

// BenchmarkPoll measures one job-details poll through the HTTP handler and
// the real client.
func BenchmarkPoll(b *testing.B) {
	clock := NewFakeClock(epoch)
	srv := New(Options{Clock: clock})
	for i := 0; i < 100; i++ {
		require.NoError(b, srv.Submit(fmt.Sprintf("ns/c-%d", i), []string{"flink", "run", "-D" + PropJobID + "=" + jobA, "j.jar"}))
	}
	clock.Advance(time.Second)
	e := &env{srv: srv, clock: clock}
	e.hs = newTestServer(b, srv)
	client := flinkclient.New(flinkclient.Options{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := client.GetJob(b.Context(), e.jm("ns", fmt.Sprintf("c-%d", i%100)), jobA); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentUse exercises the Go API, the REST API and the clock from
// several goroutines at once (meaningful under -race).
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			e.clock.Advance(100 * time.Millisecond)
		}
	}()
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			cluster := fmt.Sprintf("ns/c-%d", g%3)
			ns, name, _ := strings.Cut(cluster, "/")
			jm := e.jm(ns, name)
			var err error
			for i := 0; i < 25 && err == nil; i++ {
				id := fmt.Sprintf("%030x%02x", i, g)
				if _, err = e.srv.SubmitJob(cluster, []string{"flink", "run", "-D" + PropJobID + "=" + id, "j.jar"}); err != nil {
					break
				}
				_, err = e.client.ListJobs(e.ctx, jm)
				if err == nil {
					_, err = e.client.TriggerSavepoint(e.ctx, jm, id, flinkclient.SavepointRequest{})
				}
				if i%5 == 0 {
					_ = e.srv.Cluster(ns, name).RestartJob(id, "x")
					e.srv.Cluster(ns, name).RequestCounts()
				}
			}
			errs <- err
		}()
	}
	for g := 0; g < 8; g++ {
		require.NoError(t, <-errs)
	}
	<-done
}
