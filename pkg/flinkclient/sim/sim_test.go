package sim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

func TestEveryEndpointThroughClient(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c1")
	e.submit("ns/c1", jobA, "-p", "2", "-s", "s3://b/sp/savepoint-000000-aaaaaaaaaaaa", "-Dpipeline.name=counter")

	ov, err := e.client.GetOverview(e.ctx, jm)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.ClusterOverview{TaskManagers: 1, SlotsTotal: 4, SlotsAvailable: 2, JobsRunning: 1,
		FlinkVersion: DefaultFlinkVersion, FlinkCommit: ov.FlinkCommit}, ov)
	cfg, err := e.client.GetConfig(e.ctx, jm)
	require.NoError(t, err)
	assert.Equal(t, DefaultFlinkVersion, cfg.FlinkVersion)

	jobs, err := e.client.ListJobs(e.ctx, jm)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.Equal(t, flinkclient.JobOverview{ID: jobA, Name: "counter", State: flinkclient.JobStateInitializing,
		StartTime: flinkclient.EpochMillis(epoch.UnixMilli()), EndTime: -1, LastModification: flinkclient.EpochMillis(epoch.UnixMilli())}, jobs[0])

	d, err := e.client.GetJob(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.JobStateInitializing, d.State)
	assert.Equal(t, "STREAMING", d.JobType)
	assert.Equal(t, flinkclient.EpochMillis(epoch.UnixMilli()), d.Now)
	require.Len(t, d.Vertices, 2)
	assert.Equal(t, "CREATED", d.Vertices[0].Status)

	e.clock.Advance(testDelays.Initialize)
	d, err = e.client.GetJob(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.JobStateRunning, d.State)
	assert.Equal(t, int64(2000), d.DurationMillis)
	assert.Equal(t, flinkclient.EpochMillis(epoch.Add(2*time.Second).UnixMilli()), d.Timestamps[flinkclient.JobStateRunning])
	assert.Equal(t, flinkclient.EpochMillis(0), d.Timestamps[flinkclient.JobStateFailed])
	for _, v := range d.Vertices {
		assert.Equal(t, 2, v.Parallelism)
		assert.Equal(t, "DEPLOYING", v.Status)
	}
	e.clock.Advance(testDelays.Deploy)
	d, err = e.client.GetJob(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, "RUNNING", d.Vertices[1].Status)

	ex, err := e.client.GetJobExceptions(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Empty(t, ex.History)
	assert.Empty(t, ex.RootException)

	cp, err := e.client.GetCheckpoints(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.CheckpointCounts{Restored: 1}, cp.Counts)
	require.NotNil(t, cp.LatestRestored)
	assert.Equal(t, "s3://b/sp/savepoint-000000-aaaaaaaaaaaa", cp.LatestRestored.ExternalPath)
	assert.True(t, cp.LatestRestored.IsSavepoint)

	// Savepoint with a client-chosen trigger ID: asynchronous, idempotent.
	req := flinkclient.SavepointRequest{TargetDirectory: "s3://b/sp/", TriggerID: trig, FormatType: flinkclient.SavepointFormatNative}
	id, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, req)
	require.NoError(t, err)
	assert.Equal(t, trig, id)
	assert.Equal(t, flinkclient.OperationInProgress, e.savepointStatus(jm, jobA, trig).State)
	e.clock.Advance(testDelays.Savepoint)
	id, err = e.client.TriggerSavepoint(e.ctx, jm, jobA, req) // retry after completion: same operation
	require.NoError(t, err)
	assert.Equal(t, trig, id)
	st := e.savepointStatus(jm, jobA, trig)
	require.Equal(t, flinkclient.OperationCompleted, st.State)
	assert.Regexp(t, regexp.MustCompile(`^s3://b/sp/savepoint-a5e0ed-[0-9a-f]{12}$`), st.Location)
	assert.True(t, e.srv.HasSavepoint(st.Location))
	info, _ := e.srv.Cluster("ns", "c1").Job(jobA)
	assert.Equal(t, []string{st.Location}, info.Savepoints, "the repeated trigger must not take a second savepoint")
	cp, err = e.client.GetCheckpoints(e.ctx, jm, jobA)
	require.NoError(t, err)
	require.NotNil(t, cp.LatestSavepoint)
	assert.Equal(t, st.Location, cp.LatestSavepoint.ExternalPath)
	assert.Equal(t, "NATIVE", cp.LatestSavepoint.SavepointFormat)
	assert.Equal(t, int64(1), cp.Counts.Completed)

	// Stop with savepoint (Flink-generated trigger ID): FINISHED.
	stopID, err := e.client.StopWithSavepoint(e.ctx, jm, jobA, flinkclient.StopRequest{Drain: true})
	require.NoError(t, err)
	assert.True(t, flinkclient.IsValidID(stopID))
	e.clock.Advance(testDelays.Savepoint)
	assert.Equal(t, flinkclient.OperationInProgress, e.savepointStatus(jm, jobA, stopID).State)
	assert.Equal(t, flinkclient.JobStateRunning, e.state(jm, jobA))
	e.clock.Advance(testDelays.Stop)
	st = e.savepointStatus(jm, jobA, stopID)
	require.Equal(t, flinkclient.OperationCompleted, st.State)
	assert.Regexp(t, `^s3://default/sp/savepoint-a5e0ed-[0-9a-f]{12}$`, st.Location, "no target directory: the cluster default")
	d, err = e.client.GetJob(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.JobStateFinished, d.State)
	assert.Equal(t, "FINISHED", d.Vertices[0].Status)
	assert.Equal(t, flinkclient.EpochMillis(e.clock.Now().UnixMilli()), d.EndTime)

	// Disposal.
	dispID, err := e.client.DisposeSavepoint(e.ctx, jm, st.Location)
	require.NoError(t, err)
	ds, err := e.client.GetDisposalStatus(e.ctx, jm, dispID)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.OperationInProgress, ds.State)
	e.clock.Advance(testDelays.Disposal)
	ds, err = e.client.GetDisposalStatus(e.ctx, jm, dispID)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.SavepointStatus{State: flinkclient.OperationCompleted}, ds)
	assert.False(t, e.srv.HasSavepoint(st.Location))
	// Disposing it again fails like a missing file in Flink.
	dispID, err = e.client.DisposeSavepoint(e.ctx, jm, st.Location)
	require.NoError(t, err)
	e.clock.Advance(testDelays.Disposal)
	ds, err = e.client.GetDisposalStatus(e.ctx, jm, dispID)
	require.NoError(t, err)
	require.Equal(t, flinkclient.OperationFailed, ds.State)
	assert.Contains(t, ds.Failure.StackTrace, "FileNotFoundException")

	// Cancel: CANCELLING then CANCELED.
	e.running("ns/c1", jm, jobB)
	require.NoError(t, e.client.CancelJob(e.ctx, jm, jobB))
	assert.Equal(t, flinkclient.JobStateCancelling, e.state(jm, jobB))
	require.NoError(t, e.client.CancelJob(e.ctx, jm, jobB), "cancelling twice is accepted")
	e.clock.Advance(testDelays.Cancel)
	assert.Equal(t, flinkclient.JobStateCanceled, e.state(jm, jobB))
	require.NoError(t, e.client.CancelJob(e.ctx, jm, jobB), "cancelling a CANCELED job is accepted")
	var ue *flinkclient.UnexpectedResponseError
	require.ErrorAs(t, e.client.CancelJob(e.ctx, jm, jobA), &ue, "cancelling a FINISHED job")
	assert.Equal(t, 409, ue.StatusCode)

	ov, err = e.client.GetOverview(e.ctx, jm)
	require.NoError(t, err)
	assert.Equal(t, [4]int{0, 1, 1, 0}, [4]int{ov.JobsRunning, ov.JobsFinished, ov.JobsCancelled, ov.JobsFailed})
	assert.Equal(t, 4, ov.SlotsAvailable)
}

func TestUnknownJobAndTrigger(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "empty")
	for name, call := range map[string]func() error{
		"GetJob":           func() error { _, err := e.client.GetJob(e.ctx, jm, jobA); return err },
		"GetJobExceptions": func() error { _, err := e.client.GetJobExceptions(e.ctx, jm, jobA); return err },
		"GetCheckpoints":   func() error { _, err := e.client.GetCheckpoints(e.ctx, jm, jobA); return err },
		"CancelJob":        func() error { return e.client.CancelJob(e.ctx, jm, jobA) },
	} {
		assert.ErrorIs(t, call(), flinkclient.ErrJobNotFound, name)
	}
	_, err := e.client.GetSavepointStatus(e.ctx, jm, jobA, trig)
	assert.ErrorIs(t, err, flinkclient.ErrTriggerNotFound)
	_, err = e.client.GetDisposalStatus(e.ctx, jm, trig)
	assert.ErrorIs(t, err, flinkclient.ErrTriggerNotFound)

	// Like Flink 1.15+, a savepoint for an unknown job is accepted and fails.
	for _, stop := range []bool{false, true} {
		var id string
		if stop {
			id, err = e.client.StopWithSavepoint(e.ctx, jm, jobA, flinkclient.StopRequest{})
		} else {
			id, err = e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
		}
		require.NoError(t, err)
		st := e.savepointStatus(jm, jobA, id)
		require.Equal(t, flinkclient.OperationFailed, st.State)
		assert.Equal(t, "java.util.concurrent.CompletionException", st.Failure.Class)
		assert.Contains(t, st.Failure.StackTrace, "org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job ("+jobA+")")
	}

	// Unknown paths answer Flink's 404.
	_, err = e.client.GetOverview(e.ctx, e.hs.URL+"/nowhere")
	var ue *flinkclient.UnexpectedResponseError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, 404, ue.StatusCode)
	assert.Equal(t, []string{"Not found: /nowhere/overview"}, ue.FlinkErrors)
}

func TestCheckpointingDisabledForBatch(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "b")
	e.running("ns/b", jm, jobA, "-Dexecution.runtime-mode=BATCH")
	_, err := e.client.GetCheckpoints(e.ctx, jm, jobA)
	assert.ErrorIs(t, err, flinkclient.ErrCheckpointingDisabled)
	d, err := e.client.GetJob(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, "BATCH", d.JobType)
}

func TestSavepointRequestErrors(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Defaults.DefaultSavepointDir = "" })
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	var ue *flinkclient.UnexpectedResponseError
	_, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, 400, ue.StatusCode)
	assert.Equal(t, []string{"Config key [execution.checkpointing.savepoint-dir] is not set. Property [target-directory] must be provided."}, ue.FlinkErrors)
	_, err = e.client.StopWithSavepoint(e.ctx, jm, jobA, flinkclient.StopRequest{})
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.FlinkErrors[0], "Property [targetDirectory]")
}

func TestSavepointOnJobNotRunningFails(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.submit("ns/c", jobA) // INITIALIZING
	id, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
	require.NoError(t, err)
	st := e.savepointStatus(jm, jobA, id)
	require.Equal(t, flinkclient.OperationFailed, st.State)
	assert.Contains(t, st.Failure.StackTrace, "Not all required tasks are currently running.")

	// A savepoint in progress when the job is cancelled fails.
	e.clock.Advance(testDelays.Initialize)
	id, err = e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
	require.NoError(t, err)
	require.NoError(t, e.client.CancelJob(e.ctx, jm, jobA))
	e.clock.Advance(testDelays.Savepoint)
	st = e.savepointStatus(jm, jobA, id)
	require.Equal(t, flinkclient.OperationFailed, st.State)
	assert.Contains(t, st.Failure.StackTrace, "Checkpoint Coordinator is suspending.")
	cp, err := e.client.GetCheckpoints(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, int64(1), cp.Counts.Failed)
	require.NotNil(t, cp.LatestFailed)
}

func TestSavepointWithCancelJob(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	id, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{TargetDirectory: "/sp", CancelJob: true})
	require.NoError(t, err)
	e.clock.Advance(testDelays.Savepoint)
	st := e.savepointStatus(jm, jobA, id)
	require.Equal(t, flinkclient.OperationCompleted, st.State)
	assert.Regexp(t, `^file:/sp/savepoint-a5e0ed-[0-9a-f]{12}$`, st.Location, "local paths are reported as file: URIs")
	assert.True(t, e.srv.HasSavepoint(st.Location[len("file:"):]))
	assert.True(t, e.srv.HasSavepoint("file://"+st.Location[len("file:"):]))
	assert.Equal(t, flinkclient.JobStateCancelling, e.state(jm, jobA))
	e.clock.Advance(testDelays.Cancel)
	assert.Equal(t, flinkclient.JobStateCanceled, e.state(jm, jobA))
}

func TestTriggerIDScopedToJob(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	e.running("ns/c", jm, jobB)
	for _, j := range []string{jobA, jobB} {
		id, err := e.client.TriggerSavepoint(e.ctx, jm, j, flinkclient.SavepointRequest{TriggerID: trig})
		require.NoError(t, err)
		assert.Equal(t, trig, id)
	}
	e.clock.Advance(testDelays.Savepoint)
	a, b := e.savepointStatus(jm, jobA, trig), e.savepointStatus(jm, jobB, trig)
	assert.Contains(t, a.Location, "savepoint-a5e0ed-")
	assert.Contains(t, b.Location, "savepoint-012345-")
}

func TestPeriodicCheckpointsAndRestart(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	c := e.srv.Cluster("ns", "c")
	e.running("ns/c", jm, jobA, "-Dexecution.checkpointing.interval=10 s", "-Dexecution.checkpointing.dir=s3://b/chk")
	e.clock.Advance(35 * time.Second)
	cp, err := e.client.GetCheckpoints(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, int64(3), cp.Counts.Completed)
	require.NotNil(t, cp.LatestCompleted)
	assert.Equal(t, "s3://b/chk/"+jobA+"/chk-3", cp.LatestCompleted.ExternalPath)
	assert.Equal(t, flinkclient.EpochMillis(epoch.Add(32*time.Second).UnixMilli()), cp.LatestCompleted.LatestAckTimestamp)

	require.NoError(t, c.RestartJob(jobA, "TaskManager lost"))
	assert.Equal(t, flinkclient.JobStateRestarting, e.state(jm, jobA))
	e.clock.Advance(time.Hour) // no checkpoints while restarting... until RUNNING again
	assert.Equal(t, flinkclient.JobStateRunning, e.state(jm, jobA))
	cp, err = e.client.GetCheckpoints(e.ctx, jm, jobA)
	require.NoError(t, err)
	require.NotNil(t, cp.LatestRestored)
	assert.Equal(t, "s3://b/chk/"+jobA+"/chk-3", cp.LatestRestored.ExternalPath)
	assert.Equal(t, int64(1), cp.Counts.Restored)
	// 3 before the restart, then one per 10 s during the hour minus the 6 s restart.
	assert.Equal(t, int64(3+(3600-6)/10), cp.Counts.Completed)

	ex, err := e.client.GetJobExceptions(e.ctx, jm, jobA)
	require.NoError(t, err)
	require.Len(t, ex.History, 1)
	assert.Contains(t, ex.RootException, "TaskManager lost")
	info, _ := c.Job(jobA)
	assert.Equal(t, 1, info.Restarts)
}

func TestFailJobExceptionsPerVersion(t *testing.T) {
	for _, version := range []string{"1.20.1", "2.1.0", "1.19.0"} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.Defaults.FlinkVersion = version })
			jm := e.jm("ns", "c")
			e.running("ns/c", jm, jobA)
			c := e.srv.Cluster("ns", "c")
			require.NoError(t, c.RestartJob(jobA, "first"))
			e.clock.Advance(time.Second)
			require.NoError(t, c.FailJob(jobA, "boom"))
			assert.ErrorIs(t, c.FailJob(jobA, "again"), ErrNoJob, "already terminal")
			d, err := e.client.GetJob(e.ctx, jm, jobA)
			require.NoError(t, err)
			assert.Equal(t, flinkclient.JobStateFailed, d.State)
			assert.Equal(t, version != "1.19.0", d.JobType != "")
			ex, err := e.client.GetJobExceptions(e.ctx, jm, jobA)
			require.NoError(t, err)
			require.Len(t, ex.History, 2)
			// Newest: the final failure, a JobException without task, caused by the job's exception.
			assert.Equal(t, "org.apache.flink.runtime.JobException", ex.History[0].ExceptionName)
			assert.Contains(t, ex.History[0].Stacktrace, "Recovery is suppressed")
			assert.Contains(t, ex.History[0].Stacktrace, "Caused by: java.lang.RuntimeException: boom")
			assert.Empty(t, ex.History[0].TaskName)
			assert.Empty(t, ex.History[0].Endpoint)
			// Older: the task failure that caused the restart.
			assert.Equal(t, "java.lang.RuntimeException", ex.History[1].ExceptionName)
			assert.Contains(t, ex.History[1].Stacktrace, "first")
			assert.Contains(t, ex.History[1].TaskName, "- execution #0")
			assert.NotEmpty(t, ex.History[1].Endpoint)
			assert.NotEmpty(t, ex.History[1].TaskManagerID)
			assert.Contains(t, ex.RootException, "boom")
			assert.Equal(t, flinkclient.EpochMillis(e.clock.Now().UnixMilli()), ex.Timestamp)
			ov, err := e.client.GetOverview(e.ctx, jm)
			require.NoError(t, err)
			assert.Equal(t, 1, ov.JobsFailed)
			assert.Equal(t, version, ov.FlinkVersion)
		})
	}
}

// TestJobExceptionClass: a task failure with the job's own exception class,
// as a test job that throws IllegalStateException reports it on 1.20.5 and
// 2.3.0: task failures name the class, the final JobException has it as the
// cause.
func TestJobExceptionClass(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	c := e.srv.Cluster("ns", "c")
	const ise = "java.lang.IllegalStateException"
	require.NoError(t, c.RestartJobWith(jobA, ise, "intentional"))
	e.clock.Advance(testDelays.Restart)
	require.NoError(t, c.FailJobWith(jobA, ise, "intentional"))
	ex, err := e.client.GetJobExceptions(e.ctx, jm, jobA)
	require.NoError(t, err)
	require.Len(t, ex.History, 2)
	assert.Equal(t, "org.apache.flink.runtime.JobException", ex.History[0].ExceptionName)
	assert.Contains(t, ex.History[0].Stacktrace, "Caused by: "+ise+": intentional")
	assert.Equal(t, ise, ex.History[1].ExceptionName)
	assert.True(t, strings.HasPrefix(ex.History[1].Stacktrace, ise+": intentional"), ex.History[1].Stacktrace)

	info, ok := c.Job(jobA)
	require.True(t, ok)
	assert.Equal(t, epoch.Add(testDelays.Initialize+testDelays.Restart), info.Timestamps[flinkclient.JobStateRunning],
		"Timestamps: the last time the job entered each state")
	assert.Equal(t, epoch.Add(testDelays.Initialize), info.Timestamps[flinkclient.JobStateRestarting])
	assert.Equal(t, info.EndTime, info.Timestamps[flinkclient.JobStateFailed])

	// The control API takes the class too.
	e.running("ns/c", jm, jobB)
	code, body := e.do(http.MethodPost, "/sim/clusters/ns/c/jobs/"+jobB+"/restart", `{"exception":"`+ise+`","message":"m"}`)
	require.Equal(t, http.StatusNoContent, code, body)
	ex, err = e.client.GetJobExceptions(e.ctx, jm, jobB)
	require.NoError(t, err)
	require.Len(t, ex.History, 1)
	assert.Equal(t, ise, ex.History[0].ExceptionName)
}

func TestSavepointTimes(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	_, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
	require.NoError(t, err)
	e.clock.Advance(testDelays.Savepoint)
	info, _ := e.srv.Cluster("ns", "c").Job(jobA)
	require.Len(t, info.Savepoints, 1)
	assert.Equal(t, []time.Time{epoch.Add(testDelays.Initialize + testDelays.Savepoint)}, info.SavepointTimes)
}

func TestExceptionHistoryTruncated(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	c := e.srv.Cluster("ns", "c")
	for i := 0; i < 40; i++ {
		require.NoError(t, c.RestartJob(jobA, "again"))
		e.clock.Advance(testDelays.Restart)
	}
	ex, err := e.client.GetJobExceptions(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Len(t, ex.History, exceptionHistorySize)
	assert.True(t, ex.HistoryTruncated)
}

func TestJobManagerRestartLosesJobs(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	id, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
	require.NoError(t, err)
	e.srv.Cluster("ns", "c").RestartJobManager()
	jobs, err := e.client.ListJobs(e.ctx, jm)
	require.NoError(t, err)
	assert.Empty(t, jobs)
	_, err = e.client.GetJob(e.ctx, jm, jobA)
	assert.ErrorIs(t, err, flinkclient.ErrJobNotFound)
	_, err = e.client.GetSavepointStatus(e.ctx, jm, jobA, id)
	assert.ErrorIs(t, err, flinkclient.ErrTriggerNotFound)
	e.clock.Advance(time.Hour) // the lost savepoint event must not resurrect anything
	e.submit("ns/c", jobA)     // the ID is free again
}

func TestRetention(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	id, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
	require.NoError(t, err)
	e.clock.Advance(testDelays.Savepoint + DefaultOperationStoreDuration - time.Millisecond)
	assert.Equal(t, flinkclient.OperationCompleted, e.savepointStatus(jm, jobA, id).State)
	e.clock.Advance(time.Millisecond)
	_, err = e.client.GetSavepointStatus(e.ctx, jm, jobA, id)
	assert.ErrorIs(t, err, flinkclient.ErrTriggerNotFound, "expired like rest.async.store-duration")

	require.NoError(t, e.client.CancelJob(e.ctx, jm, jobA))
	e.clock.Advance(testDelays.Cancel + DefaultJobStoreExpiration)
	_, err = e.client.GetJob(e.ctx, jm, jobA)
	assert.ErrorIs(t, err, flinkclient.ErrJobNotFound, "expired like jobstore.expiration-time")
	assert.ErrorIs(t, e.srv.Submit("ns/c", []string{"flink", "run", "-D" + PropJobID + "=" + jobA, "x.jar"}), ErrDuplicateJob,
		"the job result is still known")
}

func TestCheckRestorePaths(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.CheckRestorePaths = true })
	jm := e.jm("ns", "c")
	e.submit("ns/c", jobA, "-s", "/sp/missing")
	e.srv.AddSavepoint("/sp/known")
	e.submit("ns/c", jobB, "--fromSavepoint", "/sp/known")
	e.clock.Advance(testDelays.Initialize)
	assert.Equal(t, flinkclient.JobStateFailed, e.state(jm, jobA))
	ex, err := e.client.GetJobExceptions(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Contains(t, ex.RootException, "Cannot find checkpoint or savepoint")
	assert.Equal(t, flinkclient.JobStateRunning, e.state(jm, jobB))
}

func TestSubmitDuplicate(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	c := e.srv.Cluster("ns", "c")
	args := []string{"flink", "run", "-d", "-D" + PropJobID + "=" + jobA, "job.jar", "--input", "x"}
	id, err := c.Submit(args)
	require.NoError(t, err)
	assert.Equal(t, jobA, id)

	_, err = c.Submit(args)
	require.ErrorIs(t, err, ErrDuplicateJob)
	assert.Contains(t, err.Error(), "DuplicateJobSubmissionException: Job has already been submitted.")
	require.NoError(t, e.client.CancelJob(e.ctx, jm, jobA))
	e.clock.Advance(testDelays.Cancel)
	assert.ErrorIs(t, e.srv.Submit("ns/c", args), ErrDuplicateJob, "also when the job is terminal")

	jobs := c.Jobs()
	require.Len(t, jobs, 1, "never run twice")
	assert.Equal(t, args, jobs[0].Submission.Args)
	assert.Equal(t, []string{"--input", "x"}, jobs[0].Submission.Command.ProgramArgs)
	subs := c.Submissions()
	require.Len(t, subs, 3)
	assert.Empty(t, subs[0].Err)
	assert.NotEmpty(t, subs[1].Err)

	// Without a job ID one is generated.
	id, err = e.srv.SubmitJob("ns/c", []string{"flink", "run", "job.jar"})
	require.NoError(t, err)
	assert.True(t, flinkclient.IsValidID(id))
	assert.NotEqual(t, jobA, id)

	assert.ErrorIs(t, e.srv.Submit("ns/c", []string{"flink", "list"}), ErrBadCommand)
	assert.ErrorIs(t, e.srv.Submit("no-slash", []string{"flink", "run", "x.jar"}), ErrNoCluster)
}

func TestRequestCounts(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	for i := 0; i < 3; i++ {
		_, _ = e.client.ListJobs(e.ctx, jm)
	}
	_, _ = e.client.GetOverview(e.ctx, jm)
	_, _ = e.client.GetOverview(e.ctx, jm+"/v1")
	c := e.srv.Cluster("ns", "c")
	assert.Equal(t, map[string]int64{"GET /jobs/{jobid}": 1, "GET /jobs/overview": 3, "GET /overview": 2}, c.RequestCounts())
	assert.Equal(t, int64(6), c.TotalRequests())
	c.ResetRequestCounts()
	assert.Empty(t, c.RequestCounts())
	assert.Zero(t, e.srv.Cluster("ns", "other").TotalRequests(), "counters are per cluster")
}

func TestRemoveAndExplicitClusters(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.RequireExplicitClusters = true })
	jm := e.jm("ns", "c")
	_, err := e.client.GetOverview(e.ctx, jm)
	assert.ErrorIs(t, err, flinkclient.ErrUnreachable, "a cluster that was never created does not answer")
	assert.ErrorIs(t, e.srv.Submit("ns/c", []string{"flink", "run", "x.jar"}), ErrNoCluster)

	e.srv.CreateCluster("ns", "c", ClusterConfig{FlinkVersion: "2.1.0", TaskManagers: 3, SlotsPerTaskManager: 2})
	ov, err := e.client.GetOverview(e.ctx, jm)
	require.NoError(t, err)
	assert.Equal(t, 6, ov.SlotsTotal)
	assert.Equal(t, "2.1.0", ov.FlinkVersion)
	assert.Equal(t, []string{"ns/c"}, e.srv.Clusters())

	assert.True(t, e.srv.RemoveCluster("ns", "c"))
	assert.False(t, e.srv.RemoveCluster("ns", "c"))
	_, err = e.client.GetOverview(e.ctx, jm)
	assert.ErrorIs(t, err, flinkclient.ErrUnreachable)
}

func TestClusterDelaysOverride(t *testing.T) {
	e := newEnv(t)
	c := e.srv.Cluster("ns", "slow")
	cfg := c.Config()
	cfg.Delays.Initialize = time.Minute
	c.SetConfig(cfg)
	jm := e.jm("ns", "slow")
	e.submit("ns/slow", jobA)
	e.submit("ns/fast", jobA) // same job ID in another cluster is fine
	e.clock.Advance(testDelays.Initialize)
	assert.Equal(t, flinkclient.JobStateInitializing, e.state(jm, jobA))
	assert.Equal(t, flinkclient.JobStateRunning, e.state(e.jm("ns", "fast"), jobA))
	e.clock.Advance(time.Minute)
	assert.Equal(t, flinkclient.JobStateRunning, e.state(jm, jobA))
}

func TestCancelWhileInitializing(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.submit("ns/c", jobA)
	require.NoError(t, e.client.CancelJob(e.ctx, jm, jobA))
	e.clock.Advance(time.Hour)
	assert.Equal(t, flinkclient.JobStateCanceled, e.state(jm, jobA), "the stale INITIALIZING->RUNNING event is dropped")
	info, ok := e.srv.Cluster("ns", "c").Job(jobA)
	require.True(t, ok)
	assert.False(t, info.EndTime.IsZero())
}

func TestVersionSpecificShapes(t *testing.T) {
	for _, tt := range []struct {
		version        string
		duplicate      string
		detailsFields  []string // present
		detailsAbsent  []string
		overviewFields []string
	}{
		{"1.20.5", "DuplicateJobSubmissionException: Job has already been submitted.",
			[]string{"job-type"}, []string{"pending-operators", "application-id", "schedulerType"}, nil},
		{"2.0.0", "DuplicateJobSubmissionException: Job has already been submitted.",
			[]string{"job-type", "pending-operators"}, []string{"application-id", "schedulerType"}, []string{"pending-operators"}},
		{"2.3.0", "DuplicateApplicationSubmissionException: Application has already been submitted.",
			[]string{"job-type", "pending-operators", "application-id", "schedulerType"}, nil,
			[]string{"pending-operators", "jobType", "schedulerType"}},
	} {
		t.Run(tt.version, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.Defaults.FlinkVersion = tt.version })
			jm := e.jm("ns", "c")
			e.running("ns/c", jm, jobA)
			err := e.srv.Submit("ns/c", []string{"flink", "run", "-D" + PropJobID + "=" + jobA, "j.jar"})
			require.ErrorIs(t, err, ErrDuplicateJob)
			assert.Contains(t, err.Error(), tt.duplicate)

			var details map[string]any
			code, body := e.do(http.MethodGet, "/clusters/ns/c/jobs/"+jobA, "")
			require.Equal(t, http.StatusOK, code)
			require.NoError(t, json.Unmarshal([]byte(body), &details))
			for _, f := range tt.detailsFields {
				assert.Contains(t, details, f)
			}
			for _, f := range tt.detailsAbsent {
				assert.NotContains(t, details, f)
			}
			var overview struct{ Jobs []map[string]any }
			_, body = e.do(http.MethodGet, "/clusters/ns/c/jobs/overview", "")
			require.NoError(t, json.Unmarshal([]byte(body), &overview))
			for _, f := range tt.overviewFields {
				assert.Contains(t, overview.Jobs[0], f)
			}
			if tt.version == "2.3.0" {
				assert.Equal(t, jobA, details["application-id"])
				assert.Equal(t, "Default", details["schedulerType"])
			}
		})
	}
}

func TestFinishJob(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA, "-Dexecution.runtime-mode=BATCH")
	code, _ := e.do(http.MethodPost, "/sim/clusters/ns/c/jobs/"+jobA+"/finish", "")
	require.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, flinkclient.JobStateFinished, e.state(jm, jobA))
	assert.ErrorIs(t, e.srv.Cluster("ns", "c").FinishJob(jobA), ErrNoJob)
	// Savepoint and stop on a FINISHED job: accepted, then failed (verified on 1.20.5 and 2.3.0).
	id, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
	require.NoError(t, err)
	assert.Contains(t, e.savepointStatus(jm, jobA, id).Failure.StackTrace, "FlinkJobNotFoundException")
}

// TestJobManagerRestartWithHA: with Flink's HA services in the cluster's configuration a
// restarted JobManager recovers a job that had not ended: missing while it recovers, then RUNNING
// under the same ID with a new start time, restored from its latest checkpoint, its ID taken all
// along; the savepoint in flight is lost, and an ended job is not recovered.
func TestJobManagerRestartWithHA(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	conf := map[string]string{"high-availability.type": "kubernetes", "execution.checkpointing.interval": "10 s",
		"execution.checkpointing.dir": "file:///chk"}
	// The submitter's -D turns HA off for the client only; the JobManager's configuration counts.
	run := []string{"flink", "run", "-d", "-Dhigh-availability.type=NONE", "-D" + PropJobID + "=" + jobA, "job.jar"}
	require.NoError(t, e.srv.SubmitConfigured("ns/c", conf, run))
	require.NoError(t, e.srv.SubmitConfigured("ns/c", conf, []string{"flink", "run", "-d", "-D" + PropJobID + "=" + jobB, "job.jar"}))
	e.clock.Advance(testDelays.Initialize + 25*time.Second)
	require.NoError(t, e.srv.Cluster("ns", "c").FinishJob(jobB))
	before, err := e.client.GetJob(e.ctx, jm, jobA)
	require.NoError(t, err)
	sp, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
	require.NoError(t, err)

	e.srv.Cluster("ns", "c").RestartJobManagerWith(4 * time.Second)
	_, err = e.client.GetJob(e.ctx, jm, jobA)
	assert.ErrorIs(t, err, flinkclient.ErrJobNotFound, "recovering")
	assert.ErrorIs(t, e.srv.SubmitConfigured("ns/c", conf, run), ErrDuplicateJob, "its ID stays taken")
	e.clock.Advance(4 * time.Second)
	after, err := e.client.GetJob(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.JobStateRunning, after.State)
	assert.Equal(t, before.StartTime+31_000, after.StartTime, "a new start time: when it was recovered")
	cp, err := e.client.GetCheckpoints(e.ctx, jm, jobA)
	require.NoError(t, err)
	require.NotNil(t, cp.LatestRestored)
	assert.Equal(t, int64(2), cp.LatestRestored.ID, "the latest checkpoint completed before the restart")
	assert.Equal(t, int64(2), cp.LatestCompleted.ID, "none completed while it was down")
	_, err = e.client.GetSavepointStatus(e.ctx, jm, jobA, sp)
	assert.ErrorIs(t, err, flinkclient.ErrTriggerNotFound, "the operation cache is gone")
	_, err = e.client.GetJob(e.ctx, jm, jobB)
	assert.ErrorIs(t, err, flinkclient.ErrJobNotFound, "a finished job is not recovered")
	e.clock.Advance(20 * time.Second)
	cp, err = e.client.GetCheckpoints(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, int64(4), cp.LatestCompleted.ID, "checkpoints go on from the restored one")
}
