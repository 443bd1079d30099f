package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
)

// takeUserSavepoint asks for savepoint n (savepointGeneration) and syncs until it is recorded.
func (f *fixture) takeUserSavepoint(n int32) {
	f.now = f.now.Add(time.Minute) // a new trigger ID
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.SavepointGeneration = n })
	f.rest.SetSavepointOutcome(jmURL, f.job().ID, flinkfake.Outcome{Location: fmt.Sprintf("/savepoints/savepoint-%d", n)})
	for i := 0; i < 3 && f.job().SavepointGeneration < n; i++ {
		f.sync()
	}
	require.Equal(f.t, n, f.job().SavepointGeneration)
	require.Equal(f.t, fsm.Running, f.job().State)
}

// keepingOneSavepoint is a running job with savepointRetention maxCount 1 and savepoint 1 taken.
func keepingOneSavepoint(t *testing.T) *fixture {
	fc := jobCluster()
	fc.Spec.Job.SavepointRetention = &v1beta1.SavepointRetention{MaxCount: ptr.To[int32](1)}
	f := startedJob(t, fc)
	f.takeUserSavepoint(1)
	return f
}

func (f *fixture) disposalCalls() (triggers, polls int) {
	for _, c := range f.rest.Calls() {
		switch {
		case c.Method == "POST" && c.Path == "/savepoint-disposal":
			triggers++
		case c.Method == "GET" && len(c.Path) > len("/savepoint-disposal/") && c.Path[:len("/savepoint-disposal/")] == "/savepoint-disposal/":
			polls++
		}
	}
	return triggers, polls
}

func historyEntry(t *testing.T, job *v1beta1.JobStatus, location string) v1beta1.SavepointOperation {
	for _, e := range job.SavepointHistory {
		if e.Location == location {
			return e
		}
	}
	t.Fatalf("no history entry for %s", location)
	return v1beta1.SavepointOperation{}
}

// TestSavepointRetentionThroughTheSync: the disposal is recorded in status before it is
// triggered, polled with the trigger Flink gave, and recorded on the history entry when it ends.
func TestSavepointRetentionThroughTheSync(t *testing.T) {
	f := keepingOneSavepoint(t)
	f.rest.SetDisposalOutcome(jmURL, flinkfake.Outcome{Polls: 1})
	f.rest.ResetCalls()
	counted := disposalsCounted(t, "Disposed") // other tests count ns/c's disposals too
	f.takeUserSavepoint(2)
	f.events()

	// The sync that recorded savepoint 2 already started the disposal of savepoint 1.
	first := historyEntry(t, f.job(), "/savepoints/savepoint-1").Disposal
	require.NotNil(t, first)
	assert.Equal(t, v1beta1.DisposalStateInProgress, first.State)
	triggers, _ := f.disposalCalls()
	assert.Equal(t, 1, triggers)
	assert.Nil(t, historyEntry(t, f.job(), "/savepoints/savepoint-2").Disposal, "the newest stays")

	f.sync() // in progress
	f.sync() // done
	assert.Equal(t, v1beta1.DisposalStateDisposed, historyEntry(t, f.job(), "/savepoints/savepoint-1").Disposal.State)
	triggers, polls := f.disposalCalls()
	assert.Equal(t, 1, triggers, "triggered once")
	assert.Equal(t, 2, polls)
	assert.Contains(t, f.events(), "SavepointDisposed disposed of savepoint /savepoints/savepoint-1")
	assert.Equal(t, counted+1, disposalsCounted(t, "Disposed"), "the metric counts it")
	assert.Empty(t, f.sync(), "nothing more to do")
}

// TestADisposalIsRecordedBeforeItIsTriggered: a trigger that fails leaves status saying
// InProgress, so the next sync (of this process or a new one) triggers it again, and a disposal
// that finds nothing at the path (the first one had done its work) counts as done.
func TestADisposalIsRecordedBeforeItIsTriggered(t *testing.T) {
	f := keepingOneSavepoint(t)
	f.rest.Inject(flinkfake.Fault{Method: "POST", Path: "/savepoint-disposal", Err: flinkfake.Unreachable(), Times: 1})
	f.now = f.now.Add(time.Minute)
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.SavepointGeneration = 2 })
	f.rest.SetSavepointOutcome(jmURL, f.job().ID, flinkfake.Outcome{Location: "/savepoints/savepoint-2"})
	f.sync() // triggers savepoint 2
	_, err := f.r.Sync(t.Context(), "ns/c")
	require.ErrorContains(t, err, "disposing of savepoint /savepoints/savepoint-1")
	stored, getErr := f.flink.Tracker().Get(v1beta1.SchemeGroupVersion.WithResource("flinkclusters"), "ns", "c")
	require.NoError(t, getErr)
	job := stored.(*v1beta1.FlinkCluster).Status.Components.Job
	assert.Equal(t, v1beta1.DisposalStateInProgress, historyEntry(t, job, "/savepoints/savepoint-1").Disposal.State,
		"status said InProgress before the trigger")
	require.NoError(t, f.indexers["fc"].Update(stored))

	// A new operator process does not know a trigger: it triggers again; this time the first
	// disposal had finished, and the second finds nothing there.
	f.r = f.newProcess()
	f.rest.SetDisposalOutcome(jmURL, flinkfake.Outcome{Failure: &flinkclient.FailureCause{Class: "java.io.FileNotFoundException",
		StackTrace: "java.io.FileNotFoundException: Cannot find checkpoint or savepoint file/directory '/savepoints/savepoint-1' on file system 'file'."}})
	f.rest.ResetCalls()
	f.sync()
	f.sync()
	triggers, _ := f.disposalCalls()
	assert.Equal(t, 1, triggers)
	got := historyEntry(t, f.job(), "/savepoints/savepoint-1").Disposal
	assert.Equal(t, v1beta1.DisposalStateDisposed, got.State)
	assert.Contains(t, got.Message, "found nothing at this path")
	assert.Contains(t, f.events(), "ActionFailed disposal of savepoint /savepoints/savepoint-1 failed (will retry)")
}

// TestAFailedDisposalIsReportedAndRetriedAfterItsBackoff: a disposal Flink fails is a Warning
// event and is not tried again before its backoff (1 min after the first failure).
func TestAFailedDisposalIsReportedAndRetriedAfterItsBackoff(t *testing.T) {
	f := keepingOneSavepoint(t)
	f.rest.SetDisposalOutcome(jmURL, flinkfake.Outcome{Failure: &flinkclient.FailureCause{Class: "java.nio.file.AccessDeniedException",
		StackTrace: "java.nio.file.AccessDeniedException: /savepoints/savepoint-1"}})
	f.takeUserSavepoint(2)
	f.sync()
	got := historyEntry(t, f.job(), "/savepoints/savepoint-1").Disposal
	require.Equal(t, v1beta1.DisposalStateFailed, got.State)
	assert.Equal(t, int32(1), got.Failures)
	assert.Contains(t, f.events(), "SavepointDisposalFailed disposal 1 of savepoint /savepoints/savepoint-1 failed: the JobManager could not dispose of it: java.nio.file.AccessDeniedException")

	f.rest.ResetCalls()
	f.now = f.now.Add(59 * time.Second)
	f.sync()
	triggers, _ := f.disposalCalls()
	assert.Zero(t, triggers, "not before the backoff")
	f.now = f.now.Add(time.Second)
	f.rest.SetDisposalOutcome(jmURL, flinkfake.Outcome{})
	f.sync()
	f.sync()
	triggers, _ = f.disposalCalls()
	assert.Equal(t, 1, triggers)
	assert.Equal(t, v1beta1.DisposalStateDisposed, historyEntry(t, f.job(), "/savepoints/savepoint-1").Disposal.State)
}

// disposalsCounted is flinkcluster_savepoint_disposals_total of ns/c with the outcome.
func disposalsCounted(t *testing.T, outcome string) float64 {
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "flinkcluster_savepoint_disposals_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == "ns" && labels["name"] == "c" && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
