package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// TestRetainedCheckpoints: like Flink, the simulator keeps the newest num-retained checkpoints
// as files, deletes the ones they subsume, and on the job's end keeps or deletes them as the
// externalized-checkpoint retention says (what Flink 1.20 and 2.3 did when tried by hand).
func TestRetainedCheckpoints(t *testing.T) {
	chk := func(id int) string { return fmt.Sprintf("file:/chk/%s/chk-%d", jobA, id) }
	tests := []struct {
		retention string
		end       func(e *env, c *Cluster)
		kept      bool
	}{
		{"RETAIN_ON_CANCELLATION", func(e *env, c *Cluster) { require.NoError(t, e.client.CancelJob(e.ctx, e.jm("ns", "c"), jobA)) }, true},
		{"RETAIN_ON_CANCELLATION", func(e *env, c *Cluster) { require.NoError(t, c.FailJob(jobA, "TaskManager lost")) }, true},
		{"DELETE_ON_CANCELLATION", func(e *env, c *Cluster) { require.NoError(t, e.client.CancelJob(e.ctx, e.jm("ns", "c"), jobA)) }, false},
		{"DELETE_ON_CANCELLATION", func(e *env, c *Cluster) { require.NoError(t, c.FailJob(jobA, "TaskManager lost")) }, true},
		{"", func(e *env, c *Cluster) { require.NoError(t, c.FailJob(jobA, "TaskManager lost")) }, false},
		{"", func(e *env, c *Cluster) { c.RestartJobManager() }, true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d-%s", i, tt.retention), func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.CheckRestorePaths = true })
			jm := e.jm("ns", "c")
			c := e.srv.Cluster("ns", "c")
			conf := map[string]string{"execution.checkpointing.interval": "10 s", "execution.checkpointing.dir": "file:///chk",
				"execution.checkpointing.num-retained": "3", "execution.checkpointing.externalized-checkpoint-retention": tt.retention}
			require.NoError(t, e.srv.SubmitConfigured("ns/c", conf, []string{"flink", "run", "-d", "-D" + PropJobID + "=" + jobA, "job.jar"}))
			e.clock.Advance(testDelays.Initialize + 55*time.Second)
			cp, err := e.client.GetCheckpoints(e.ctx, jm, jobA)
			require.NoError(t, err)
			assert.Equal(t, chk(5), cp.LatestCompleted.ExternalPath)
			for id := 1; id <= 5; id++ {
				assert.Equal(t, id >= 3, e.srv.HasSavepoint(chk(id)), "checkpoint %d: only the newest 3 are retained", id)
			}
			cfg, err := e.client.GetCheckpointConfig(e.ctx, jm, jobA)
			require.NoError(t, err)
			assert.Equal(t, int64(10_000), cfg.Interval)
			assert.Equal(t, tt.retention != "", cfg.Externalization.Enabled)
			assert.Equal(t, tt.retention != "RETAIN_ON_CANCELLATION", cfg.Externalization.DeleteOnCancellation)

			tt.end(e, c)
			e.clock.Advance(time.Minute)
			if cp, err := e.client.GetCheckpoints(e.ctx, jm, jobA); err == nil { // also applies what is due
				assert.Equal(t, !tt.kept, cp.LatestCompleted.Discarded, "the history says the checkpoint is gone")
			}
			assert.Equal(t, tt.kept, e.srv.HasSavepoint(chk(5)), "the latest checkpoint after the job's end")
			assert.Equal(t, tt.kept, e.srv.HasSavepoint(chk(3)))
		})
	}
}

// TestRestoreFromACheckpoint: a job restored from a retained checkpoint runs; one restored from a
// deleted checkpoint fails to initialize with Flink's FileNotFoundException.
func TestRestoreFromACheckpoint(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.CheckRestorePaths = true })
	jm := e.jm("ns", "c")
	conf := map[string]string{"execution.checkpointing.interval": "10 s", "state.checkpoints.dir": "/chk", "state.checkpoints.num-retained": "2"}
	require.NoError(t, e.srv.SubmitConfigured("ns/c", conf, []string{"flink", "run", "-d", "-D" + PropJobID + "=" + jobA, "job.jar"}))
	e.clock.Advance(testDelays.Initialize + 45*time.Second)
	kept, gone := fmt.Sprintf("file:/chk/%s/chk-4", jobA), fmt.Sprintf("file:/chk/%s/chk-2", jobA)

	require.NoError(t, e.srv.SubmitConfigured("ns/c", conf, []string{"flink", "run", "-d", "-s", kept, "-D" + PropJobID + "=" + jobB, "job.jar"}))
	e.clock.Advance(testDelays.Initialize)
	assert.Equal(t, flinkclient.JobStateRunning, e.state(jm, jobB))

	const jobC = "c0ffee00c0ffee00c0ffee00c0ffee00"
	require.NoError(t, e.srv.SubmitConfigured("ns/c", conf, []string{"flink", "run", "-d", "-s", gone, "-D" + PropJobID + "=" + jobC, "job.jar"}))
	e.clock.Advance(testDelays.Initialize)
	assert.Equal(t, flinkclient.JobStateFailed, e.state(jm, jobC))
	ex, err := e.client.GetJobExceptions(e.ctx, jm, jobC)
	require.NoError(t, err)
	assert.Contains(t, ex.RootException, "Cannot find checkpoint or savepoint file/directory '"+gone+"'")
}
