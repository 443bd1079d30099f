package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
)

// checkpointsUpTo is a checkpoint history whose latest checkpoint is id, with the latest savepoint
// (when path is set) at savepointID.
func checkpointsUpTo(id, savepointID int64, path string) *flinkclient.CheckpointStats {
	stats := &flinkclient.CheckpointStats{LatestCompleted: &flinkclient.CompletedCheckpoint{ID: id, ExternalPath: "/checkpoints/chk-x"}}
	if path != "" {
		stats.LatestSavepoint = &flinkclient.CompletedCheckpoint{ID: savepointID, IsSavepoint: true, ExternalPath: path}
	}
	return stats
}

// flinkForgets plays a JobManager on which the job ended in state with the given history, and
// which no longer knows any savepoint trigger (rest.async.store-duration passed).
func (f *fixture) flinkForgets(state flinkclient.JobState, stats *flinkclient.CheckpointStats) {
	f.rest.AddJob(jmURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: state}, Checkpoints: stats})
}

// stopWith starts a stop of the running job of f by the given request, while its checkpoint
// history ends at checkpoint 5, and returns the state it stops in.
func stopWith(t *testing.T, f *fixture, request string) fsm.State {
	f.rest.AddJob(jmURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: flinkclient.JobStateRunning},
		Checkpoints: checkpointsUpTo(5, 0, ""), SavepointOutcome: flinkfake.Outcome{Polls: 1000}})
	switch request {
	case "update":
		f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.Parallelism = ptr.To[int32](2) })
	case "cancel":
		f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.CancelRequested = ptr.To(true) })
	case "suspend":
		f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.State = ptr.To(v1beta1.JobDesiredStateSuspended) })
	case "delete":
		deleting := f.cluster().DeepCopy()
		now := metav1.NewTime(f.now)
		deleting.DeletionTimestamp = &now
		require.NoError(t, f.indexers["fc"].Update(deleting))
	}
	f.rest.ResetCalls()
	f.sync()
	require.True(t, fsm.SavepointInFlight(*f.job()), "%s: a stop is in flight", request)
	assert.Equal(t, int64(5), f.job().Savepoint.AfterCheckpointID, "the baseline is recorded with the stop")
	var paths []string
	for _, c := range f.rest.Calls() {
		paths = append(paths, c.Method+" "+c.Path[strings.LastIndex(c.Path, "/"):])
	}
	assert.Equal(t, []string{"GET /" + f.job().ID, "GET /checkpoints", "POST /stop"}, paths, "history read before the stop")
	return f.job().State
}

func (f *fixture) events() string {
	var all []string
	for len(f.recorder.Events) > 0 {
		all = append(all, <-f.recorder.Events)
	}
	return strings.Join(all, "\n")
}

// TestSuspendThroughTheSync: a suspension stops the job with a savepoint (history read first),
// deletes only the TaskManagers once the job stopped, and the resume submits a new attempt from
// that savepoint after the TaskManagers are back.
func TestSuspendThroughTheSync(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	assert.Equal(t, fsm.Suspending, stopWith(t, f, "suspend"))
	f.rest.AddJob(jmURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: flinkclient.JobStateFinished},
		Checkpoints: checkpointsUpTo(5, 6, "/savepoints/suspend"), SavepointOutcome: flinkfake.Outcome{Location: "/savepoints/suspend"}})
	var writes []string
	for i := 0; i < 3 && f.job().State != fsm.Suspended; i++ {
		writes = f.sync()
	}
	require.Equal(t, fsm.Suspended, f.job().State)
	assert.Equal(t, "/savepoints/suspend", f.job().SavepointLocation)
	assert.ElementsMatch(t, []string{"update flinkclusters/status", "delete deployments"}, writes, "the TaskManagers go with the transition")
	_, tmLeft, _ := f.indexers["deploy"].GetByKey("ns/c-taskmanager")
	_, jmLeft, _ := f.indexers["deploy"].GetByKey("ns/c-jobmanager")
	assert.False(t, tmLeft)
	assert.True(t, jmLeft, "the JobManager stays")
	suspendedID := f.job().ID

	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.State = ptr.To(v1beta1.JobDesiredStateRunning) })
	for i := 0; i < 4 && f.job().State != fsm.Submitting; i++ {
		f.sync()
		f.makeAvailable()
	}
	require.Equal(t, fsm.Submitting, f.job().State)
	assert.NotEqual(t, suspendedID, f.job().ID, "a new attempt")
	assert.Equal(t, "/savepoints/suspend", f.job().FromSavepoint, "resumed from the suspension's savepoint")
	f.sync() // the old submitter is replaced
	assert.Contains(t, strings.Join(f.storedSubmitter().Spec.Template.Spec.Containers[0].Command, " "), "--fromSavepoint /savepoints/suspend")
}

func TestAStopWhoseTriggerFlinkForgotIsFoundInTheCheckpointHistory(t *testing.T) {
	for _, request := range []string{"update", "cancel", "delete"} {
		t.Run(request, func(t *testing.T) {
			f := startedJob(t, jobCluster())
			f.makeAvailable()
			f.sync()
			stopWith(t, f, request)
			f.flinkForgets(flinkclient.JobStateFinished, checkpointsUpTo(5, 6, "/savepoints/savepoint-6"))
			f.events()
			f.sync()
			job := f.job()
			assert.Equal(t, "/savepoints/savepoint-6", job.SavepointLocation)
			assert.Equal(t, v1beta1.SavepointStateSucceeded, job.Savepoint.State)
			events := f.events()
			if request == "delete" {
				assert.Contains(t, events, "Final savepoint written to /savepoints/savepoint-6")
				return
			}
			assert.Contains(t, events, "SavepointConfirmed savepoint /savepoints/savepoint-6 confirmed from the job's checkpoint history")
			if request != "update" {
				return
			}
			for i := 0; i < 3 && f.job().State != fsm.Submitting; i++ {
				f.sync()
				f.makeAvailable()
			}
			assert.Equal(t, fsm.Submitting, f.job().State)
			assert.Equal(t, "/savepoints/savepoint-6", f.job().FromSavepoint, "the update restores from the stop's savepoint")
		})
	}
}

func TestAStopWithoutAConfirmableSavepointStopsTheOperator(t *testing.T) {
	for _, tt := range []struct {
		request string
		want    fsm.State
	}{{"update", fsm.Failed}, {"cancel", fsm.Cancelled}, {"delete", fsm.Deleting}} {
		t.Run(tt.request, func(t *testing.T) {
			fc := jobCluster()
			fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
			fc.Status.Components.Job = &v1beta1.JobStatus{SavepointLocation: "/savepoints/older"}
			f := startedJob(t, fc)
			require.Equal(t, "/savepoints/older", f.job().SavepointLocation)
			stopWith(t, f, tt.request)
			// Only a savepoint taken before the stop (checkpoint 4) is in the history.
			f.flinkForgets(flinkclient.JobStateCanceled, checkpointsUpTo(5, 4, "/savepoints/savepoint-4"))
			f.events()
			writes := f.sync()
			events := f.events()
			assert.Equal(t, "/savepoints/older", f.job().SavepointLocation, "the older savepoint is not taken for the stop's")
			if tt.request == "delete" {
				assert.Empty(t, f.cluster().Finalizers, "the deletion goes on and says so")
				assert.Contains(t, events, "Warning FinalSavepoint No final savepoint (Unconfirmed): the job stopped, but")
				return
			}
			assert.Contains(t, events, "Warning StopUnconfirmed")
			assert.Equal(t, tt.want, f.job().State)
			assert.NotContains(t, writes, "create jobs")
			if tt.request == "update" {
				cond := condition(f.cluster(), "StopUnconfirmed")
				require.NotNil(t, cond)
				assert.Equal(t, "SavepointNotFound", cond.Reason)
				f.now = f.now.Add(time.Hour)
				assert.NotContains(t, f.sync(), "create jobs", "not restarted from the older savepoint")
				assert.Equal(t, fsm.Failed, f.job().State)
			}
		})
	}
}

func TestAStopThatOutlivesItsTimeoutIsNeverTheJobsEnd(t *testing.T) {
	for _, request := range []string{"update", "cancel", "delete"} {
		t.Run(request, func(t *testing.T) {
			f := startedJob(t, jobCluster())
			f.makeAvailable()
			f.sync()
			state := stopWith(t, f, request)
			id := f.job().ID
			// Flink's answer about the stop fails when the savepoint timeout has passed.
			f.rest.Inject(flinkfake.Fault{Method: "GET", Path: "/jobs/" + id + "/savepoints/" + f.job().Savepoint.TriggerID, Err: flinkfake.Timeout(), Times: 1})
			f.now = f.now.Add(fsm.DefaultSettings().SavepointTimeout)
			f.events()
			f.sync()
			assert.Equal(t, state, f.job().State, "a stop's timeout never returns the job to Running")
			assert.True(t, fsm.StopOverdue(*f.job()))
			assert.Contains(t, f.events(), "Warning StopOverdue")
			if request != "delete" {
				cond := condition(f.cluster(), "StopUnconfirmed")
				require.NotNil(t, cond)
				assert.Equal(t, "Overdue", cond.Reason)
			}
			// Flink finishes the stop late, and the job ends as a stop-with-savepoint leaves it.
			f.rest.AddJob(jmURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: id, State: flinkclient.JobStateFinished},
				Checkpoints: checkpointsUpTo(5, 6, "/savepoints/late")})
			f.rest.SetSavepointOutcome(jmURL, id, flinkfake.Outcome{Location: "/savepoints/late"})
			_, err := f.rest.StopWithSavepoint(t.Context(), jmURL, id, flinkclient.StopRequest{TriggerID: f.job().Savepoint.TriggerID})
			require.NoError(t, err)
			var writes []string
			for i := 0; i < 4; i++ {
				writes = append(writes, f.sync()...)
				f.makeAvailable()
				assert.NotEqual(t, fsm.Succeeded, f.job().State, "a late stop is never read as the job's own end")
				assert.NotEqual(t, fsm.Running, f.job().State)
			}
			if request == "update" {
				assert.NotContains(t, writes, "delete deployments", "afterJobSucceeds: DeleteCluster never runs")
			}
			assert.Equal(t, "/savepoints/late", f.job().SavepointLocation)
			if request == "update" {
				assert.Equal(t, "/savepoints/late", f.job().FromSavepoint, "the update restores from the late stop's savepoint")
			}
		})
	}
}

func TestAnUnbuildableUpdateNeverStopsTheRunningJob(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.Job.Parallelism = ptr.To[int32](2)
		fc.Spec.TaskManager.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("500M")
	})
	f.rest.ResetCalls()
	writes := f.sync()
	f.sync()
	for _, c := range f.rest.Calls() {
		assert.NotEqual(t, "POST", c.Method, "nothing is stopped: %s", c.Path)
	}
	assert.NotContains(t, writes, "update deployments")
	assert.Equal(t, fsm.Running, f.job().State)
	ready := condition(f.cluster(), "Ready")
	require.NotNil(t, ready)
	assert.Equal(t, "InvalidSpec", ready.Reason)
	assert.Contains(t, ready.Message, "off-heap")
	pending := condition(f.cluster(), "UpdatePending")
	require.NotNil(t, pending)
	assert.Equal(t, "InvalidSpec", pending.Reason)
}

func TestASavepointThatStoppedTheJobOutsideIsRecordedBeforeCleanup(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.rest.AddJob(jmURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: flinkclient.JobStateFinished},
		Checkpoints: checkpointsUpTo(8, 9, "/savepoints/from-the-ui")})
	f.events()
	var atFirstDelete *v1beta1.JobStatus
	f.kube.PrependReactor("delete", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		if atFirstDelete == nil {
			obj, err := f.flink.Tracker().Get(v1beta1.SchemeGroupVersion.WithResource("flinkclusters"), "ns", "c")
			require.NoError(t, err)
			atFirstDelete = obj.(*v1beta1.FlinkCluster).Status.Components.Job.DeepCopy()
		}
		return false, nil, nil
	})
	writes := f.sync()
	assert.Equal(t, fsm.Succeeded, f.job().State)
	assert.Equal(t, "/savepoints/from-the-ui", f.job().SavepointLocation)
	assert.Equal(t, v1beta1.SavepointReasonExternal, f.job().SavepointHistory[0].Reason)
	assert.Contains(t, f.events(), "ExternalSavepoint recorded savepoint /savepoints/from-the-ui")
	require.Contains(t, writes, "delete deployments")
	require.NotNil(t, atFirstDelete)
	assert.Equal(t, "/savepoints/from-the-ui", atFirstDelete.SavepointLocation, "status is written before the cleanup policy deletes anything")
}

// TestARedirectedServiceGetsNoRESTCallAndIsPutBack: someone points the JobManager Service
// elsewhere while the job runs (keeping its spec-hash annotation); the operator asks nothing
// through it, says so, and puts it back although the job's changes are held.
func TestARedirectedServiceGetsNoRESTCallAndIsPutBack(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	obj, exists, err := f.indexers["svc"].GetByKey("ns/c-jobmanager")
	require.NoError(t, err)
	require.True(t, exists)
	tampered := obj.(*corev1.Service).DeepCopy()
	tampered.Spec.Selector = map[string]string{"app": "elsewhere"}
	require.NoError(t, f.indexers["svc"].Update(tampered))
	f.events()
	f.rest.ResetCalls()

	writes := f.sync()
	assert.Empty(t, f.rest.Calls(), "no REST call goes through a redirected Service")
	assert.Contains(t, writes, "update services", "put back while the job runs")
	cond := condition(f.cluster(), "JobManagerReachable")
	require.NotNil(t, cond)
	assert.Equal(t, "ServiceRedirected", cond.Reason)
	assert.Contains(t, cond.Message, "selector")
	assert.Contains(t, f.events(), "Warning ServiceRedirected")
	assert.Equal(t, fsm.Running, f.job().State, "the job's state is untouched")

	repaired, _, _ := f.indexers["svc"].GetByKey("ns/c-jobmanager")
	assert.Equal(t, "c", repaired.(*corev1.Service).Spec.Selector["flinkoperator.k8s.io/cluster"])
	f.sync()
	assert.NotEmpty(t, f.rest.Calls(), "polled again once it is back")
	assert.Equal(t, "Answering", condition(f.cluster(), "JobManagerReachable").Reason)
}

// TestForeignEndpointsGetNoRESTCall: a hand-made EndpointSlice adds an address to the JobManager
// Service (kube-proxy would send some of the operator's calls there). The operator asks nothing
// through the Service while it exists, says so once, and polls again when it is gone.
func TestForeignEndpointsGetNoRESTCall(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-jobmanager-extra",
		Labels: map[string]string{discoveryv1.LabelServiceName: "c-jobmanager", discoveryv1.LabelManagedBy: "someone"}},
		AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.9.9.9"}}}}
	require.NoError(t, f.indexers["eps"].Add(slice))
	f.events()
	f.rest.ResetCalls()

	f.sync()
	assert.Empty(t, f.rest.Calls(), "no REST call goes through a Service with foreign endpoints")
	cond := condition(f.cluster(), "JobManagerReachable")
	require.NotNil(t, cond)
	assert.Equal(t, "ForeignEndpoints", cond.Reason)
	assert.Contains(t, cond.Message, `c-jobmanager-extra (managed by "someone")`)
	assert.Contains(t, f.events(), "Warning ForeignEndpoints")
	assert.Equal(t, fsm.Running, f.job().State, "the job's state is untouched")
	f.sync()
	assert.NotContains(t, f.events(), "ForeignEndpoints", "reported once, not per sync")

	require.NoError(t, f.indexers["eps"].Delete(slice))
	f.sync()
	assert.NotEmpty(t, f.rest.Calls(), "polled again once it is gone")
	assert.Equal(t, "Answering", condition(f.cluster(), "JobManagerReachable").Reason)
}
