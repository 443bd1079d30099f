package controller

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

func applicationCluster() *v1beta1.FlinkCluster {
	fc := jobCluster()
	fc.Spec.Job.Mode = ptr.To(v1beta1.JobModeApplication)
	return fc
}

// setApplicationJobManager plays the Job controller for the application's JobManager Job.
func (f *fixture) setApplicationJobManager(change func(*batchv1.Job)) {
	item, ok, _ := f.indexers["job"].GetByKey("ns/c-jobmanager")
	require.True(f.t, ok, "the JobManager Job exists")
	job := item.(*batchv1.Job).DeepCopy()
	change(job)
	require.NoError(f.t, f.indexers["job"].Update(job))
}

// deletions records the propagation policy of every Job deletion.
func (f *fixture) jobDeletions() *[]metav1.DeletionPropagation {
	var got []metav1.DeletionPropagation
	f.kube.PrependReactor("delete", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if p := a.(k8stesting.DeleteActionImpl).DeleteOptions.PropagationPolicy; p != nil {
			got = append(got, *p)
		}
		return false, nil, nil
	})
	return &got
}

func TestApplicationJobManagerPerAttempt(t *testing.T) {
	f := newFixture(t, applicationCluster())
	f.sync()
	assert.Equal(t, fsm.Pending, f.job().State)
	_, ok, _ := f.indexers["deploy"].GetByKey("ns/c-jobmanager")
	assert.False(t, ok, "no JobManager Deployment in application mode")

	f.makeAvailable() // the TaskManagers: the JobManager comes with the attempt
	actions := f.sync()
	assert.Equal(t, []string{"create jobs", "update flinkclusters/status"}, sortedWrites(actions))
	require.Equal(t, fsm.Submitting, f.job().State)
	jm, err := f.kube.BatchV1().Jobs("ns").Get(t.Context(), "c-jobmanager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, f.job().ID, jm.Annotations[desired.JobIDAnnotation])
	assert.Contains(t, strings.Join(jm.Spec.Template.Spec.Containers[0].Command, " "), "standalone-job.sh start-foreground --job-classname Job --job-id "+f.job().ID)
	_, err = f.kube.BatchV1().Jobs("ns").Get(t.Context(), "c-job-submitter", metav1.GetOptions{})
	assert.Error(t, err, "no submitter")

	f.r = f.newProcess()
	assert.NotContains(t, f.sync(), "create jobs", "a restarted operator does not create it again")

	f.setApplicationJobManager(func(j *batchv1.Job) { j.Status.Ready = ptr.To[int32](1) })
	f.runFlinkJob(flinkclient.JobStateRunning)
	f.sync()
	require.Equal(t, fsm.Running, f.job().State)
	assert.Equal(t, v1beta1.ComponentStateReady, f.cluster().Status.Components.JobManagerDeployment.State, "the JobManager's state is its Job's")

	// The JobManager's pod fails: nothing runs the job again under this attempt. Its pod says why.
	_, err = f.kube.CoreV1().Pods("ns").Create(t.Context(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "c-jobmanager-x7k2p", Namespace: "ns", Labels: map[string]string{"batch.kubernetes.io/controller-uid": "jm-uid-1"}},
		Status: corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{Name: "fetch-job-jar",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "the file served has sha256:aa"}}}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	f.setApplicationJobManager(func(j *batchv1.Job) {
		j.UID = "jm-uid-1"
		j.Status.Ready = ptr.To[int32](0)
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}
	})
	f.rest.RemoveJobManager(jmURL)
	assert.NotContains(t, f.sync(), "create jobs")
	assert.Equal(t, fsm.Lost, f.job().State)
	assert.Contains(t, f.job().Message, "ended before the job did: BackoffLimitExceeded")
	assert.Contains(t, f.job().Message, "; container fetch-job-jar of pod c-jobmanager-x7k2p: the file served has sha256:aa", "what the failed pod said")
}

func TestApplicationJobManagerReplacedForANewAttempt(t *testing.T) {
	fc := applicationCluster()
	fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
	f := newFixture(t, fc)
	f.sync()
	f.makeAvailable()
	f.sync()
	f.runFlinkJob(flinkclient.JobStateRunning)
	f.sync()
	require.Equal(t, fsm.Running, f.job().State)
	first := f.job().ID
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Status.Components.Job.SavepointLocation = "/savepoints/savepoint-1"
	})
	f.runFlinkJob(flinkclient.JobStateFailed)
	f.sync()
	require.Equal(t, fsm.Failed, f.job().State)

	deletions := f.jobDeletions()
	f.now = f.now.Add(fsm.DefaultSettings().MaxRestartBackoff)
	actions := f.sync()
	require.Equal(t, fsm.Submitting, f.job().State)
	second := f.job().ID
	assert.NotEqual(t, first, second)
	assert.Contains(t, actions, "delete jobs", "the old attempt's JobManager goes first")
	assert.NotContains(t, actions, "create jobs", "its name is free only once it is gone")
	assert.Equal(t, []metav1.DeletionPropagation{metav1.DeletePropagationForeground}, *deletions,
		"in the foreground: gone only once its pod is, so two JobManagers never serve the Service")

	actions = f.sync()
	assert.Contains(t, actions, "create jobs")
	jm, err := f.kube.BatchV1().Jobs("ns").Get(t.Context(), "c-jobmanager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, second, jm.Annotations[desired.JobIDAnnotation])
	assert.Contains(t, strings.Join(jm.Spec.Template.Spec.Containers[0].Command, " "), "--fromSavepoint /savepoints/savepoint-1")
}

func TestApplicationJobManagerDeletedByTheCleanupPolicy(t *testing.T) {
	f := runningJob(t, applicationCluster())
	deletions := f.jobDeletions()
	f.runFlinkJob(flinkclient.JobStateFinished)
	f.sync()
	require.Equal(t, fsm.Succeeded, f.job().State)
	f.sync()
	assert.Equal(t, []metav1.DeletionPropagation{metav1.DeletePropagationForeground}, *deletions, "afterJobSucceeds DeleteCluster removes the JobManager Job")
	_, err := f.kube.BatchV1().Jobs("ns").Get(t.Context(), "c-jobmanager", metav1.GetOptions{})
	assert.Error(t, err)
	f.sync()
	assert.Equal(t, fsm.Succeeded, f.job().State)
	assert.NotContains(t, f.sync(), "create jobs", "a finished job is never run again")
}
