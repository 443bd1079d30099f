//go:build integration

package integration

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
)

const applicationCluster = `
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: app
spec:
  image:
    name: flink:2.1
  taskManager:
    replicas: 1
  job:
    mode: Application
    jarFile: /opt/flink/examples/streaming/StateMachineExample.jar
    className: org.apache.flink.streaming.examples.statemachine.StateMachineExample
    savepointsDir: /savepoints/app
    restartPolicy: FromSavepointOnFailure
`

// applicationJobManager is the Job that runs the application's JobManager now (nil when none).
func applicationJobManager(t *testing.T, ns string) *batchv1.Job {
	t.Helper()
	j, err := env.kube.BatchV1().Jobs(ns).Get(context.Background(), "app-jobmanager", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return j
}

// waitApplicationJobManager waits for the JobManager Job of job ID id.
func waitApplicationJobManager(t *testing.T, ns, id string) *batchv1.Job {
	t.Helper()
	var jm *batchv1.Job
	waitFor(t, 30*time.Second, "the JobManager Job of job "+id, func() bool {
		jm = applicationJobManager(t, ns)
		return jm != nil && jm.DeletionTimestamp == nil && jm.Annotations[desired.JobIDAnnotation] == id
	})
	return jm
}

// TestApplicationMode takes an application-mode cluster through its life against the simulated
// JobManager, which runs the job its JobManager Job names: the JobManager per attempt (no
// submitter, no JobManager Deployment), a savepoint, an update through a savepoint (a new
// JobManager from it), a JobManager that dies (Lost, never run again, restarted by the policy
// with a new JobManager), and a job that finishes (not run again, cleaned up).
func TestApplicationMode(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	_, err := createStrict(ctx, ns, fromYAML(t, applicationCluster))
	require.NoError(t, err)
	first := waitJob(t, ns, "app", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	jm := waitApplicationJobManager(t, ns, first.ID)
	cmd := strings.Join(jm.Spec.Template.Spec.Containers[0].Command, " ")
	assert.Contains(t, cmd, "/opt/flink/bin/standalone-job.sh start-foreground --job-classname org.apache.flink.streaming.examples.statemachine.StateMachineExample --job-id "+first.ID)
	assert.NotContains(t, cmd, "--fromSavepoint")
	assert.Zero(t, *jm.Spec.BackoffLimit)
	_, err = env.kube.AppsV1().Deployments(ns).Get(ctx, "app-jobmanager", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no JobManager Deployment in application mode")
	_, err = env.kube.BatchV1().Jobs(ns).Get(ctx, "app-job-submitter", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no submitter in application mode")
	waitFor(t, 30*time.Second, "the cluster to be Running", func() bool {
		fc := getFC(t, ns, "app")
		return fc.Status.State == v1beta1.ClusterStateRunning &&
			fc.Status.Components.JobManagerDeployment.State == v1beta1.ComponentStateReady
	})

	t.Run("a savepoint", func(t *testing.T) {
		patchJob(t, ns, "app", `{"savepointGeneration":1}`)
		j := waitJob(t, ns, "app", 30*time.Second, "savepoint generation 1", func(j *v1beta1.JobStatus) bool {
			return j.SavepointGeneration == 1 && j.State == v1beta1.JobStateRunning
		})
		assert.Contains(t, j.SavepointLocation, "/savepoints/app/savepoint-")
	})

	t.Run("an update through a savepoint runs a new JobManager from it", func(t *testing.T) {
		patchJob(t, ns, "app", `{"args":["--rate","5"]}`)
		j := waitJob(t, ns, "app", 90*time.Second, "the updated job to run", func(j *v1beta1.JobStatus) bool {
			return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
		})
		assert.Equal(t, v1beta1.SavepointReasonUpdate, j.SavepointHistory[0].Reason)
		assert.Equal(t, j.SavepointHistory[0].Location, j.FromSavepoint)
		cmd := strings.Join(waitApplicationJobManager(t, ns, j.ID).Spec.Template.Spec.Containers[0].Command, " ")
		assert.Contains(t, cmd, "--fromSavepoint "+j.FromSavepoint)
		assert.Contains(t, cmd, "-- --rate 5")
	})

	t.Run("a JobManager that dies ends the attempt; the policy restarts with a new one", func(t *testing.T) {
		before := jobStatus(t, ns, "app")
		require.NoError(t, env.kube.BatchV1().Jobs(ns).Delete(ctx, "app-jobmanager", metav1.DeleteOptions{}))
		j := waitJob(t, ns, "app", 60*time.Second, "the restarted job to run", func(j *v1beta1.JobStatus) bool {
			return j.RestartCount == 1 && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
		})
		assert.NotEqual(t, before.ID, j.ID, "never run again under the same ID: a new attempt")
		assert.Equal(t, before.SavepointLocation, j.FromSavepoint)
		waitApplicationJobManager(t, ns, j.ID)
		waitEvents(t, ns, "app", "JobStateChanged")
	})

	t.Run("a finished job is not run again, and its JobManager goes", func(t *testing.T) {
		j := jobStatus(t, ns, "app")
		simPost(t, ns, "app", "jobs/"+j.ID+"/finish", `{}`)
		waitJob(t, ns, "app", 30*time.Second, "the job to succeed", func(j *v1beta1.JobStatus) bool {
			return j.State == v1beta1.JobStateSucceeded
		})
		waitFor(t, 60*time.Second, "the cluster to stop", func() bool {
			return getFC(t, ns, "app").Status.State == v1beta1.ClusterStateStopped && applicationJobManager(t, ns) == nil
		})
		time.Sleep(3 * time.Second) // a few syncs: nothing may start the job again
		after := jobStatus(t, ns, "app")
		assert.Equal(t, j.Attempt, after.Attempt)
		assert.Equal(t, v1beta1.JobStateSucceeded, after.State)
		assert.Nil(t, applicationJobManager(t, ns))
	})
}

// TestApplicationModeDeletion: deleting an application cluster whose job runs takes the final
// savepoint from the JobManager that runs it.
func TestApplicationModeDeletion(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	_, err := createStrict(ctx, ns, fromYAML(t, applicationCluster))
	require.NoError(t, err)
	waitJob(t, ns, "app", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Delete(ctx, "app", metav1.DeleteOptions{}))
	waitFor(t, 60*time.Second, "the deleted FlinkCluster to be gone", func() bool {
		_, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, "app", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	final := regexp.MustCompile(`FinalSavepoint: Final savepoint written to \S*/savepoints/app/savepoint-`)
	var log string
	waitFor(t, eventDelivery, "the final savepoint's event", func() bool {
		events, err := env.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=app"})
		require.NoError(t, err)
		var lines []string
		for _, e := range events.Items {
			lines = append(lines, e.Reason+": "+e.Message)
		}
		log = strings.Join(lines, "\n")
		return final.MatchString(log)
	})
	assert.Contains(t, log, "Created JobManager app-jobmanager for job")
}

// TestApplicationModeLatestStateAndSuspension: an application whose policies resume from the
// latest state, against the simulated JobManager that checkpoints every second: a JobManager that
// dies is restarted by FromLatestStateOnFailure from the checkpoint it left, in a new JobManager;
// a LastState update cancels and resumes from the latest checkpoint; a suspension stops it and
// deletes its TaskManagers, and the resume starts a new JobManager from where it stopped.
func TestApplicationModeLatestStateAndSuspension(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	const name = "applatest"
	_, err := createStrict(ctx, ns, fromYAML(t, latestStateCluster(name, "\n    execution.checkpointing.interval: \"1 s\"", "\n    mode: Application")))
	require.NoError(t, err)
	first := waitJob(t, ns, name, 90*time.Second, "a checkpoint of the running job to be recorded", recordedAfter(nil))
	jobManagerCommand := func(id string) string {
		t.Helper()
		var jm *batchv1.Job
		waitFor(t, 30*time.Second, "the JobManager Job of job "+id, func() bool {
			var err error
			jm, err = env.kube.BatchV1().Jobs(ns).Get(ctx, name+"-jobmanager", metav1.GetOptions{})
			return err == nil && jm.DeletionTimestamp == nil && jm.Annotations[desired.JobIDAnnotation] == id
		})
		return strings.Join(jm.Spec.Template.Spec.Containers[0].Command, " ")
	}
	jobManagerCommand(first.ID)

	t.Run("a JobManager that dies: restarted from its latest checkpoint in a new JobManager", func(t *testing.T) {
		require.NoError(t, env.kube.BatchV1().Jobs(ns).Delete(ctx, name+"-jobmanager", metav1.DeleteOptions{}))
		j := waitJob(t, ns, name, 60*time.Second, "the restarted job to run", func(j *v1beta1.JobStatus) bool {
			return j.RestartCount == 1 && j.State == v1beta1.JobStateRunning && j.ID != first.ID
		})
		assert.True(t, j.FromCheckpoint)
		assert.Contains(t, j.FromSavepoint, "/checkpoints/"+first.ID+"/chk-")
		assert.Contains(t, jobManagerCommand(j.ID), "--fromSavepoint "+j.FromSavepoint)
	})

	t.Run("a LastState update resumes from the latest checkpoint in a new JobManager", func(t *testing.T) {
		before := waitJob(t, ns, name, 30*time.Second, "a checkpoint of attempt 2", recordedAfter(nil))
		patchJob(t, ns, name, `{"parallelism":2}`)
		j := waitJob(t, ns, name, 60*time.Second, "the updated job to run", func(j *v1beta1.JobStatus) bool {
			return j.Attempt == before.Attempt+1 && j.State == v1beta1.JobStateRunning
		})
		assert.True(t, j.FromCheckpoint)
		assert.Contains(t, j.FromSavepoint, "/checkpoints/"+before.ID+"/chk-")
		assert.Empty(t, j.SavepointHistory, "no savepoint was taken")
		cmd := jobManagerCommand(j.ID)
		assert.Contains(t, cmd, "-Dparallelism.default=2")
		assert.Contains(t, cmd, "--fromSavepoint "+j.FromSavepoint)
	})

	t.Run("suspended and resumed: a new JobManager from where it stopped", func(t *testing.T) {
		before := waitJob(t, ns, name, 30*time.Second, "a checkpoint of attempt 3", recordedAfter(nil))
		patchJob(t, ns, name, `{"state":"Suspended"}`)
		waitJob(t, ns, name, 60*time.Second, "the job to be suspended", func(j *v1beta1.JobStatus) bool {
			return j.State == v1beta1.JobStateSuspended
		})
		waitFor(t, 60*time.Second, "the TaskManagers to be deleted", func() bool {
			return getFC(t, ns, name).Status.Components.TaskManagerDeployment.State == v1beta1.ComponentStateDeleted
		})
		patchJob(t, ns, name, `{"state":"Running"}`)
		j := waitJob(t, ns, name, 90*time.Second, "the resumed job to run", func(j *v1beta1.JobStatus) bool {
			return j.Attempt == before.Attempt+1 && j.State == v1beta1.JobStateRunning
		})
		assert.True(t, j.FromCheckpoint)
		assert.Contains(t, j.FromSavepoint, "/checkpoints/"+before.ID+"/chk-")
		assert.Contains(t, jobManagerCommand(j.ID), "--fromSavepoint "+j.FromSavepoint)
	})
}

// TestApplicationModeWithHighAvailability: an application with HA against the simulated
// JobManager, whose HA services recover a job after a JobManager restart. The restarted
// JobManager recovers the job by itself (recorded as Flink's recovery, never a resubmission); an
// update's new attempt gets a new JobManager only after the HA ConfigMaps the old one left are
// deleted (a JobManager recovers every job they name); deleting the cluster takes a final
// savepoint, deletes the JobManager Job and the HA ConfigMaps.
func TestApplicationModeWithHighAvailability(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	obj := haJobCluster(t, ns)
	setPath(obj.Object, "spec.job.mode", "Application")
	setPath(obj.Object, "spec.job.savepointsDir", "/savepoints/minimal")
	_, err := createStrict(ctx, ns, obj)
	require.NoError(t, err)
	first := waitJob(t, ns, "minimal", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	jm, err := env.kube.BatchV1().Jobs(ns).Get(ctx, "minimal-jobmanager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "OnFailure", string(jm.Spec.Template.Spec.RestartPolicy), "with HA a JobManager restarts and recovers the job")
	assert.Contains(t, jm.Spec.Template.Spec.Containers[0].Command, "-Djobmanager.rpc.address=$(FLINK_JOBMANAGER_POD_IP)")

	t.Run("a restarted JobManager recovers the job; nothing is submitted again", func(t *testing.T) {
		simPost(t, ns, "minimal", "jobmanager/restart", `{"recoverAfter":"2s"}`)
		j := waitJob(t, ns, "minimal", 30*time.Second, "the recovery to be recorded", func(j *v1beta1.JobStatus) bool {
			return j.FlinkRecoveries == 1 && j.State == v1beta1.JobStateRunning
		})
		assert.Equal(t, first.ID, j.ID, "the same job")
		assert.Zero(t, j.RestartCount)
		assert.Len(t, simState(t, ns, "minimal").Submissions, 1, "one submission")
	})

	fc := getFC(t, ns, "minimal")
	t.Run("a new attempt's JobManager starts only after the old HA ConfigMaps are deleted", func(t *testing.T) {
		leftover := fakeHAConfigMaps(t, fc)
		patchJob(t, ns, "minimal", `{"args":["--rate","5"]}`)
		j := waitJob(t, ns, "minimal", 90*time.Second, "the updated job to run", func(j *v1beta1.JobStatus) bool {
			return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
		})
		assert.Equal(t, j.SavepointHistory[0].Location, j.FromSavepoint)
		assert.Empty(t, configMapNames(t, ns, desired.HAConfigMapLabels(desired.HAClusterID(fc))), "deleted: %v", leftover)
		// Both in the sync that starts the attempt, the deletion first (decide's unit tests).
		log := eventLog(t, ns, "minimal")
		assert.Contains(t, log, "HAConfigMapsDeleted")
		assert.Contains(t, log, "Created JobManager minimal-jobmanager for job "+j.ID)
	})

	t.Run("deletion: final savepoint, then the JobManager Job and the HA ConfigMaps go", func(t *testing.T) {
		fakeHAConfigMaps(t, fc)
		require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Delete(ctx, "minimal", metav1.DeleteOptions{}))
		waitFor(t, 60*time.Second, "the deleted FlinkCluster to be gone", fcGone(ns, "minimal"))
		assert.Empty(t, configMapNames(t, ns, desired.HAConfigMapLabels(desired.HAClusterID(fc))))
		waitFor(t, eventDelivery, "the final savepoint's event", func() bool {
			return strings.Contains(eventLog(t, ns, "minimal"), "Final savepoint written to")
		})
		assert.Contains(t, eventLog(t, ns, "minimal"), "Deleted Job minimal-jobmanager (its pods first)")
	})
}

// TestApplicationModeStatelessUpdateAndCancel: a Stateless update cancels the job and starts the
// new revision in a new JobManager from nothing; cancelRequested stops it with a savepoint, and
// afterJobCancelled (DeleteCluster) removes the JobManager Job with the rest.
func TestApplicationModeStatelessUpdateAndCancel(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	obj := fromYAML(t, applicationCluster)
	setPath(obj.Object, "spec.job.upgradeMode", "Stateless")
	setPath(obj.Object, "spec.job.cleanupPolicy", map[string]interface{}{"afterJobCancelled": "DeleteCluster"})
	_, err := createStrict(ctx, ns, obj)
	require.NoError(t, err)
	first := waitJob(t, ns, "app", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})

	patchJob(t, ns, "app", `{"args":["--rate","7"]}`)
	j := waitJob(t, ns, "app", 60*time.Second, "the updated job to run", func(j *v1beta1.JobStatus) bool {
		return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Empty(t, j.FromSavepoint, "Stateless: nothing to resume from")
	assert.Empty(t, j.SavepointHistory, "no savepoint taken")
	cmd := strings.Join(waitApplicationJobManager(t, ns, j.ID).Spec.Template.Spec.Containers[0].Command, " ")
	assert.NotContains(t, cmd, "--fromSavepoint")
	assert.Contains(t, cmd, "-- --rate 7")

	patchJob(t, ns, "app", `{"cancelRequested":true}`)
	c := waitJob(t, ns, "app", 60*time.Second, "the job to be cancelled", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateCancelled
	})
	assert.Equal(t, v1beta1.SavepointReasonCancel, c.SavepointHistory[0].Reason)
	assert.Equal(t, v1beta1.SavepointStateSucceeded, c.SavepointHistory[0].State)
	waitFor(t, 60*time.Second, "the cluster and its JobManager Job to go", func() bool {
		return getFC(t, ns, "app").Status.State == v1beta1.ClusterStateStopped && applicationJobManager(t, ns) == nil
	})
}
