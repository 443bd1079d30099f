//go:build integration

package integration

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

const savepointJobCluster = `
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: counter
spec:
  image:
    name: flink:2.1
  jobManager: {}
  taskManager:
    replicas: 1
  job:
    jarFile: /opt/flink/examples/streaming/StateMachineExample.jar
    className: org.apache.flink.streaming.examples.statemachine.StateMachineExample
    savepointsDir: /savepoints/counter
    restartPolicy: FromSavepointOnFailure
`

func jobStatus(t *testing.T, ns, name string) *v1beta1.JobStatus {
	t.Helper()
	job := getFC(t, ns, name).Status.Components.Job
	if job == nil {
		return &v1beta1.JobStatus{}
	}
	return job
}

func waitJob(t *testing.T, ns, name string, timeout time.Duration, what string, cond func(*v1beta1.JobStatus) bool) *v1beta1.JobStatus {
	t.Helper()
	return pollJob(t, ns, name, timeout, 200*time.Millisecond, what, cond)
}

// pollJob reads the job status every interval until cond holds, and fails with the last status it
// read when timeout passes first.
func pollJob(t *testing.T, ns, name string, timeout, interval time.Duration, what string, cond func(*v1beta1.JobStatus) bool) *v1beta1.JobStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last := jobStatus(t, ns, name)
		if cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last job status: %+v", timeout, what, *last)
		}
		time.Sleep(interval)
	}
}

// simPost calls the simulator's control API for a cluster.
func simPost(t *testing.T, ns, name, path string, body string) {
	t.Helper()
	simRequest(t, http.MethodPost, ns, name, path, body)
}

func patchJob(t *testing.T, ns, name, patch string) {
	t.Helper()
	_, err := kubectl(context.Background(), "patch", "-n", ns, "fc/"+name, "--type=merge", "-p", `{"spec":{"job":`+patch+`}}`)
	require.NoError(t, err)
}

// TestJobClusterLifecycle takes a job cluster through its whole life against the simulated
// JobManager: submitted once, Running, a user savepoint, a failure recovered from that
// savepoint, a cancellation with a final savepoint and the cleanup that follows.
func TestJobClusterLifecycle(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	_, err := createStrict(ctx, ns, fromYAML(t, savepointJobCluster))
	require.NoError(t, err)

	first := waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Len(t, first.ID, 32)
	out, err := kubectl(ctx, "get", "fc", "-n", ns)
	require.NoError(t, err)
	assert.Regexp(t, `counter\s+Running\s+Running`, out)

	t.Run("a user savepoint", func(t *testing.T) {
		patchJob(t, ns, "counter", `{"savepointGeneration":1}`)
		j := waitJob(t, ns, "counter", 30*time.Second, "savepoint generation 1", func(j *v1beta1.JobStatus) bool {
			return j.SavepointGeneration == 1 && j.State == v1beta1.JobStateRunning
		})
		assert.Contains(t, j.SavepointLocation, "/savepoints/counter/savepoint-")
		assert.Equal(t, v1beta1.SavepointReasonUser, j.SavepointHistory[0].Reason)
	})

	t.Run("a failed job restarts from the savepoint", func(t *testing.T) {
		before := jobStatus(t, ns, "counter")
		simPost(t, ns, "counter", "jobs/"+before.ID+"/fail", `{"message":"boom"}`)
		j := waitJob(t, ns, "counter", 60*time.Second, "the restarted job to run", func(j *v1beta1.JobStatus) bool {
			return j.RestartCount == 1 && j.State == v1beta1.JobStateRunning
		})
		assert.NotEqual(t, before.ID, j.ID, "a restart is a new attempt with a new job ID")
		assert.Equal(t, before.SavepointLocation, j.FromSavepoint)
	})

	t.Run("cancel takes a savepoint and cleans up", func(t *testing.T) {
		patchJob(t, ns, "counter", `{"cancelRequested":true}`)
		j := waitJob(t, ns, "counter", 60*time.Second, "the job to be cancelled", func(j *v1beta1.JobStatus) bool {
			return j.State == v1beta1.JobStateCancelled
		})
		assert.Equal(t, v1beta1.SavepointReasonCancel, j.SavepointHistory[0].Reason)
		assert.Equal(t, v1beta1.SavepointStateSucceeded, j.SavepointHistory[0].State)
		waitFor(t, 60*time.Second, "the cluster to stop", func() bool {
			return getFC(t, ns, "counter").Status.State == v1beta1.ClusterStateStopped
		})
		_, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "counter-jobmanager", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err))
	})

	wants := []string{"Submitting -> Running", "Savepointing -> Running on SavepointCompleted", "Running -> Failed", "Cancelling -> Cancelled"}
	var log string
	waitFor(t, eventDelivery, "the transitions' events", func() bool {
		events, err := env.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=counter"})
		require.NoError(t, err)
		var lines []string
		for _, e := range events.Items {
			lines = append(lines, e.Reason+": "+e.Message)
		}
		log = strings.Join(lines, "\n")
		for _, want := range wants {
			if !strings.Contains(log, want) {
				return false
			}
		}
		return true
	})
	for _, want := range wants {
		assert.Contains(t, log, want, "kubectl describe reads like a log")
	}
	assert.NotContains(t, log, "Running -> Savepointing", "a savepoint's start spends no event; its end has one")
}

// TestBatchJobSucceeds: a job that finishes is Succeeded and afterJobSucceeds (DeleteCluster)
// removes the cluster's children.
func TestBatchJobSucceeds(t *testing.T) {
	ns := newNamespace(t)
	_, err := createStrict(context.Background(), ns, fromYAML(t, minimalJobCluster))
	require.NoError(t, err)
	j := waitJob(t, ns, "minimal", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning
	})
	simPost(t, ns, "minimal", "jobs/"+j.ID+"/finish", `{}`)
	waitJob(t, ns, "minimal", 30*time.Second, "the job to succeed", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateSucceeded
	})
	waitFor(t, 60*time.Second, "the cluster to stop", func() bool {
		return getFC(t, ns, "minimal").Status.State == v1beta1.ClusterStateStopped
	})
}

// TestJobManagerRestartLosesTheJob: a JobManager restarted without HA forgets the job, which is
// Lost after the grace period; without a savepoint it stays Lost.
func TestJobManagerRestartLosesTheJob(t *testing.T) {
	ns := newNamespace(t)
	_, err := createStrict(context.Background(), ns, fromYAML(t, minimalJobCluster))
	require.NoError(t, err)
	waitJob(t, ns, "minimal", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning
	})
	simPost(t, ns, "minimal", "jobmanager/restart", `{}`)
	j := waitJob(t, ns, "minimal", 30*time.Second, "the job to be lost", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateLost
	})
	assert.Contains(t, j.Message, "without HA")
}

// TestUpdateRollsOutThroughASavepoint changes the parallelism and the arguments of a running job:
// it is stopped with a savepoint and resumed from it under a new job ID with the new spec.
func TestUpdateRollsOutThroughASavepoint(t *testing.T) {
	ns := newNamespace(t)
	_, err := createStrict(context.Background(), ns, fromYAML(t, savepointJobCluster))
	require.NoError(t, err)
	first := waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	patchJob(t, ns, "counter", `{"parallelism":2,"args":["--rate","5"]}`)
	j := waitJob(t, ns, "counter", 90*time.Second, "the updated job to run", func(j *v1beta1.JobStatus) bool {
		return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Equal(t, v1beta1.SavepointReasonUpdate, j.SavepointHistory[0].Reason)
	assert.Equal(t, j.SavepointHistory[0].Location, j.FromSavepoint, "resumed from the update's savepoint")
	assert.Equal(t, int32(0), j.RestartCount)
	submitter, err := env.kube.BatchV1().Jobs(ns).Get(context.Background(), "counter-job-submitter", metav1.GetOptions{})
	require.NoError(t, err)
	cmd := strings.Join(submitter.Spec.Template.Spec.Containers[0].Command, " ")
	assert.Contains(t, cmd, "--parallelism 2")
	assert.Contains(t, cmd, "--rate 5")
	waitFor(t, 30*time.Second, "the cluster to be Running on the new spec", clusterState(ns, "counter"))
}

// TestDeletionTakesAFinalSavepoint deletes a FlinkCluster whose job runs: the finalizer holds the
// deletion until the final savepoint is written, then everything goes.
func TestDeletionTakesAFinalSavepoint(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	_, err := createStrict(ctx, ns, fromYAML(t, savepointJobCluster))
	require.NoError(t, err)
	waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Contains(t, getFC(t, ns, "counter").Finalizers, "flinkoperator.k8s.io/final-savepoint")
	require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Delete(ctx, "counter", metav1.DeleteOptions{}))
	waitFor(t, 60*time.Second, "the FlinkCluster to be gone", func() bool {
		_, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, "counter", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	var events *corev1.EventList
	waitFor(t, eventDelivery, "the FinalSavepoint event", func() bool {
		var err error
		events, err = env.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=counter,reason=FinalSavepoint"})
		require.NoError(t, err)
		return len(events.Items) > 0
	})
	assert.Contains(t, events.Items[0].Message, "Final savepoint written to")
	assert.Contains(t, events.Items[0].Message, "/savepoints/counter/savepoint-")
}
