package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
)

const jmURL = "http://c-jobmanager.ns.svc:8081"

// jobCluster is a job cluster whose final-savepoint finalizer is already in place (see
// TestFinalizerComesFirst).
func jobCluster() *v1beta1.FlinkCluster {
	fc := sessionCluster()
	fc.Finalizers = []string{FinalSavepointFinalizer}
	fc.Spec.Job = &v1beta1.JobSpec{
		JarFile: "/job.jar", ClassName: "Job", Parallelism: ptr.To[int32](1),
		SavepointsDir: ptr.To("/savepoints"),
		RestartPolicy: ptr.To(v1beta1.JobRestartPolicyNever),
		CleanupPolicy: &v1beta1.CleanupPolicy{AfterJobSucceeds: "DeleteCluster", AfterJobFails: "KeepCluster", AfterJobCancelled: "DeleteTaskManager"},
	}
	return fc
}

func (f *fixture) job() *v1beta1.JobStatus { return f.cluster().Status.Components.Job }

// runFlinkJob plays Flink: the submitted job ID exists and has the given state.
func (f *fixture) runFlinkJob(state flinkclient.JobState) {
	f.rest.AddJob(jmURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: state}})
}

// startedJob brings a job cluster to a Running job, past its first running sync: that one reads
// the job's checkpoint configuration (once per attempt) and its metrics (once per health check
// interval), and the steady state starts after it.
func startedJob(t *testing.T, fc *v1beta1.FlinkCluster) *fixture {
	f := runningJob(t, fc)
	f.sync()
	return f
}

// runningJob brings a job cluster to the sync that sees its job running.
func runningJob(t *testing.T, fc *v1beta1.FlinkCluster) *fixture {
	f := newFixture(t, fc)
	f.sync()
	f.makeAvailable()
	f.sync()
	require.Equal(t, fsm.Submitting, f.job().State)
	f.runFlinkJob(flinkclient.JobStateRunning)
	f.sync()
	require.Equal(t, fsm.Running, f.job().State)
	return f
}

func TestJobIsSubmittedOnceWithTheIDRecordedFirst(t *testing.T) {
	f := newFixture(t, jobCluster())
	f.sync()
	assert.Equal(t, fsm.Pending, f.job().State, "nothing is submitted before the cluster is ready")

	// The submitter must only be created once status already names its job ID.
	var idAtCreate string
	f.kube.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := f.flink.Tracker().Get(v1beta1.SchemeGroupVersion.WithResource("flinkclusters"), "ns", "c")
		require.NoError(t, err)
		idAtCreate = obj.(*v1beta1.FlinkCluster).Status.Components.Job.ID
		return false, nil, nil
	})
	f.makeAvailable()
	actions := f.sync()
	assert.Equal(t, []string{"create jobs", "update flinkclusters/status"}, sortedWrites(actions))
	job := f.job()
	assert.Equal(t, fsm.Submitting, job.State)
	assert.Equal(t, fsm.JobID("uid-c", 1), job.ID)
	assert.Equal(t, job.ID, idAtCreate, "write-ahead: the job ID is in status before the submitter exists")

	cmd := strings.Join(f.storedSubmitter().Spec.Template.Spec.Containers[0].Command, " ")
	assert.Contains(t, cmd, "-D$internal.pipeline.job-id="+job.ID)

	f.sync()
	assert.NotContains(t, f.sync(), "create jobs", "the submitter is never created twice")
}

func TestRestartedOperatorDoesNotResubmit(t *testing.T) {
	f := newFixture(t, jobCluster())
	f.sync()
	f.makeAvailable()
	f.sync()
	id := f.job().ID
	// A new operator process: same API state, fresh reconciler.
	f.r = f.newProcess()
	assert.NotContains(t, f.sync(), "create jobs")
	assert.Equal(t, id, f.job().ID)
}

func TestRunningJobIdleSyncCostsOneRESTCallAndNoWrites(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.sync()
	f.rest.ResetCalls()
	res, err := f.r.Sync(t.Context(), "ns/c")
	require.NoError(t, err)
	assert.Equal(t, fsm.DefaultSettings().PollInterval, res.RequeueAfter)
	assert.Len(t, f.rest.Calls(), 1, "one GET /jobs/{id} per poll")
	assert.Empty(t, f.sync())
}

func TestUserSavepoint(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.SavepointGeneration = 1 })
	f.rest.SetSavepointOutcome(jmURL, f.job().ID, flinkfake.Outcome{Polls: 1, Location: "/savepoints/savepoint-1"})
	f.sync()
	job := f.job()
	require.Equal(t, fsm.Savepointing, job.State)
	require.NotNil(t, job.Savepoint)
	assert.Equal(t, v1beta1.SavepointReasonUser, job.Savepoint.Reason)
	triggered := false
	for _, c := range f.rest.Calls() {
		triggered = triggered || (c.Method == "POST" && strings.HasSuffix(c.Path, "/savepoints"))
	}
	assert.True(t, triggered)

	f.sync() // in progress
	f.sync() // completed
	job = f.job()
	assert.Equal(t, fsm.Running, job.State)
	assert.Equal(t, int32(1), job.SavepointGeneration)
	assert.Equal(t, "/savepoints/savepoint-1", job.SavepointLocation)
	assert.Len(t, job.SavepointHistory, 1)
}

func TestSucceededJobDeletesTheCluster(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.runFlinkJob(flinkclient.JobStateFinished)
	writes := f.sync()
	assert.Equal(t, fsm.Succeeded, f.job().State)
	assert.Contains(t, writes, "delete deployments")
	assert.Contains(t, writes, "delete services")
	assert.Contains(t, writes, "delete configmaps", "DeleteCluster leaves no child behind (the e2e batch test found the ConfigMap kept)")
	assert.Equal(t, v1beta1.ClusterStateStopping, f.cluster().Status.State)
	f.sync()
	assert.Equal(t, v1beta1.ClusterStateStopped, f.cluster().Status.State)
	assert.Equal(t, v1beta1.ComponentStateDeleted, f.cluster().Status.Components.JobManagerDeployment.State)
	assert.Empty(t, f.sync(), "a stopped cluster costs nothing")
}

// The autoscaler goes with the TaskManagers whose replicas it sets; the disruption budget stays
// while the JobManager does.
func TestCleanupPolicyTakesTheAutoscalerWithTheTaskManagers(t *testing.T) {
	fc := jobCluster()
	fc.Spec.PodDisruptionBudget = &policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1))}
	fc.Spec.TaskManager.HorizontalPodAutoscaler = &v1beta1.HorizontalPodAutoscalerSpec{MaxReplicas: 4}
	f := startedJob(t, fc)
	require.Len(t, f.indexers["hpa"].List(), 1)
	require.Len(t, f.indexers["pdb"].List(), 1)
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.CancelRequested = ptr.To(true) })
	f.rest.SetSavepointOutcome(jmURL, f.job().ID, flinkfake.Outcome{Location: "/savepoints/final"})
	for i := 0; i < 4; i++ {
		f.sync()
	}
	assert.Equal(t, v1beta1.ClusterStatePartiallyStopped, f.cluster().Status.State, "afterJobCancelled: DeleteTaskManager")
	assert.Empty(t, f.indexers["hpa"].List(), "no autoscaler without TaskManagers")
	assert.Len(t, f.indexers["pdb"].List(), 1, "the JobManager is still there")
}

func TestCancelledJobDeletesOnlyTaskManagers(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.CancelRequested = ptr.To(true) })
	f.rest.SetSavepointOutcome(jmURL, f.job().ID, flinkfake.Outcome{Location: "/savepoints/final"})
	f.sync()
	assert.Equal(t, fsm.Cancelling, f.job().State)
	f.sync() // savepoint completed (the fake's stop finishes the job)
	f.sync() // job finished
	assert.Equal(t, fsm.Cancelled, f.job().State)
	assert.Equal(t, "/savepoints/final", f.job().SavepointLocation)
	f.sync()
	assert.Equal(t, v1beta1.ClusterStatePartiallyStopped, f.cluster().Status.State)
	_, tmExists, _ := f.indexers["deploy"].GetByKey("ns/c-taskmanager")
	_, jmExists, _ := f.indexers["deploy"].GetByKey("ns/c-jobmanager")
	assert.False(t, tmExists)
	assert.True(t, jmExists)
}

func TestSpecChangeIsHeldWhileTheJobRuns(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"taskmanager.numberOfTaskSlots": "4"}
		fc.Spec.TaskManager.Replicas = 3
	})
	writes := f.sync()
	assert.Equal(t, []string{"update deployments/scale", "update flinkclusters/status"}, writes, "only the scale is applied")
	tm, _, _ := f.indexers["deploy"].GetByKey("ns/c-taskmanager")
	assert.Equal(t, int32(3), *tm.(*appsv1.Deployment).Spec.Replicas)
	var pending bool
	for _, c := range f.cluster().Status.Conditions {
		pending = pending || (c.Type == "UpdatePending" && c.Status == "True")
	}
	assert.True(t, pending, "the held change is visible")
	cm, err := f.kube.CoreV1().ConfigMaps("ns").Get(context.Background(), "c-configmap", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, cm.Data[desired.FlinkConfV2Key], `numberOfTaskSlots: "4"`)
}

// A NetworkPolicy is a security setting that replaces no pod: it is applied while the job runs,
// never held back with the other children, and the job keeps running.
func TestNetworkPolicyIsAppliedWhileTheJobRuns(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	id := f.job().ID
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.NetworkPolicy = &v1beta1.NetworkPolicySpec{Enabled: ptr.To(true)}
	})
	writes := f.sync()
	assert.Contains(t, writes, "create networkpolicies")
	assert.NotContains(t, writes, "update deployments")
	f.sync()
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.NetworkPolicy.RESTFrom = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}}
	})
	assert.Contains(t, f.sync(), "update networkpolicies", "a change is applied at once too")
	f.sync()
	assert.Equal(t, fsm.Running, f.job().State)
	assert.Equal(t, id, f.job().ID, "the same job: no update rolled out")
	assert.Nil(t, meta.FindStatusCondition(f.cluster().Status.Conditions, "UpdatePending"), "nothing is held")
}

// A disruption budget and an autoscaler replace no pod either: added, changed and removed while
// the job runs, and the job keeps running. The autoscaler goes with the TaskManagers when the
// cleanup policy removes them.
func TestDisruptionBudgetAndAutoscalerAreAppliedWhileTheJobRuns(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	id := f.job().ID
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.PodDisruptionBudget = &policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(1))}
		fc.Spec.TaskManager.HorizontalPodAutoscaler = &v1beta1.HorizontalPodAutoscalerSpec{MaxReplicas: 5}
	})
	assert.Equal(t, []string{"create horizontalpodautoscalers", "create poddisruptionbudgets"},
		sortedWrites(f.sync()), "no pod is touched")
	f.sync()
	assert.Empty(t, f.sync(), "applied children are not written again")

	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.PodDisruptionBudget.MaxUnavailable = ptr.To(intstr.FromString("50%"))
		fc.Spec.TaskManager.HorizontalPodAutoscaler.MaxReplicas = 8
	})
	assert.Equal(t, []string{"update horizontalpodautoscalers", "update poddisruptionbudgets"},
		sortedWrites(f.sync()), "a change is applied at once")
	f.sync()

	// The autoscaler asks for more TaskManagers through the scale subresource: spec.taskManager.replicas.
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.TaskManager.Replicas = 4 })
	assert.Contains(t, f.sync(), "update deployments/scale", "scaled in place")
	assert.Equal(t, id, f.job().ID, "the same job: no update rolled out")
	assert.Equal(t, fsm.Running, f.job().State)
	assert.Nil(t, meta.FindStatusCondition(f.cluster().Status.Conditions, "UpdatePending"), "nothing is held")

	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.PodDisruptionBudget = nil
		fc.Spec.TaskManager.HorizontalPodAutoscaler = nil
	})
	writes := f.sync()
	assert.Subset(t, writes, []string{"delete horizontalpodautoscalers", "delete poddisruptionbudgets"})
	assert.NotContains(t, writes, "update deployments")
	assert.Empty(t, f.indexers["pdb"].List())
	assert.Empty(t, f.indexers["hpa"].List())
	assert.Equal(t, id, f.job().ID)
}

func TestUnreachableJobManagerIsVisibleButNoFailure(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.rest.RemoveJobManager(jmURL)
	f.sync()
	f.now = f.now.Add(time.Hour)
	f.sync()
	assert.Equal(t, fsm.Running, f.job().State)
	cond := condition(f.cluster(), "JobManagerReachable")
	require.NotNil(t, cond)
	assert.Equal(t, metav1.ConditionFalse, cond.Status)
	assert.Contains(t, cond.Message, jmURL)
	f.rest.AddJobManager(jmURL, flinkclient.ClusterOverview{}, flinkclient.DashboardConfig{})
	f.runFlinkJob(flinkclient.JobStateRunning)
	f.sync()
	assert.Equal(t, metav1.ConditionTrue, condition(f.cluster(), "JobManagerReachable").Status)
}

func condition(fc *v1beta1.FlinkCluster, kind string) *metav1.Condition {
	for i := range fc.Status.Conditions {
		if fc.Status.Conditions[i].Type == kind {
			return &fc.Status.Conditions[i]
		}
	}
	return nil
}

func TestSavepointRetryAnnotation(t *testing.T) {
	f := startedJob(t, jobCluster())
	st := f.cluster().DeepCopy()
	st.Spec.Job.SavepointGeneration = 1
	st.Status.Components.Job.UserSavepointFailures = 3
	past := metav1.NewTime(f.now.Add(-time.Hour))
	st.Status.Components.Job.LastSavepointTime = &past
	require.NoError(t, f.indexers["fc"].Update(st))
	f.sync()
	assert.Equal(t, fsm.Running, f.job().State, "retries used up")
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Annotations = map[string]string{SavepointRetryAnnotation: "again"} })
	f.sync()
	f.sync()
	assert.Equal(t, fsm.Savepointing, f.job().State)
}

// storedSubmitter is the API server's copy of the submitter Job: the caches hold it without its
// pod template (SlimChild).
func (f *fixture) storedSubmitter() *batchv1.Job {
	job, err := f.kube.BatchV1().Jobs("ns").Get(context.Background(), "c-job-submitter", metav1.GetOptions{})
	require.NoError(f.t, err)
	return job
}

// completeSubmitter plays the Job controller: the submitter finished.
func (f *fixture) completeSubmitter() {
	item, ok, _ := f.indexers["job"].GetByKey("ns/c-job-submitter")
	require.True(f.t, ok)
	job := item.(*batchv1.Job).DeepCopy()
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	require.NoError(f.t, f.indexers["job"].Update(job))
}

func TestJobLostAfterJobManagerRestart(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.completeSubmitter()
	f.rest.RemoveJobManager(jmURL)
	f.rest.AddJobManager(jmURL, flinkclient.ClusterOverview{}, flinkclient.DashboardConfig{}) // up again, no jobs
	f.sync()
	assert.NotNil(t, f.job().NotFoundSince)
	f.now = f.now.Add(2 * time.Minute)
	f.sync()
	assert.Equal(t, fsm.Lost, f.job().State)
}

// failedWithSavepoint is a job cluster with FromSavepointOnFailure whose job failed after a
// savepoint (/savepoints/sp-1); a minute later its restart is due.
func failedWithSavepoint(t *testing.T) *fixture {
	fc := jobCluster()
	fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
	f := startedJob(t, fc)
	st := f.cluster().DeepCopy()
	st.Status.Components.Job.SavepointLocation = "/savepoints/sp-1"
	require.NoError(t, f.indexers["fc"].Update(st))
	f.runFlinkJob(flinkclient.JobStateFailed)
	f.sync()
	require.Equal(t, fsm.Failed, f.job().State)
	return f
}

func TestFailedJobRestartsFromSavepoint(t *testing.T) {
	f := failedWithSavepoint(t)
	f.now = f.now.Add(time.Minute)
	f.sync() // restart: new attempt; the old submitter is deleted first
	job := f.job()
	assert.Equal(t, fsm.Submitting, job.State)
	assert.Equal(t, int32(1), job.RestartCount)
	assert.Equal(t, fsm.JobID("uid-c", 2), job.ID)
	assert.Equal(t, "/savepoints/sp-1", job.FromSavepoint)
	f.sync() // the old submitter is gone: the new one is created
	submitter := f.storedSubmitter()
	assert.Equal(t, job.ID, submitter.Annotations[desired.JobIDAnnotation])
	assert.Contains(t, strings.Join(submitter.Spec.Template.Spec.Containers[0].Command, " "), "--fromSavepoint /savepoints/sp-1")
}

// sortedWrites sorts writes so tests do not depend on the order of two fake clientsets.
func sortedWrites(w []string) []string {
	out := append([]string(nil), w...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestFinalizerComesFirst(t *testing.T) {
	fc := jobCluster()
	fc.Finalizers = nil
	f := newFixture(t, fc)
	fc.ResourceVersion = "42"
	require.NoError(t, f.indexers["fc"].Update(fc))
	var patch string
	f.flink.PrependReactor("patch", "flinkclusters", func(a k8stesting.Action) (bool, runtime.Object, error) {
		patch = string(a.(k8stesting.PatchAction).GetPatch())
		return false, nil, nil
	})
	assert.Equal(t, []string{"patch flinkclusters"}, f.sync(), "nothing is created before the finalizer is in place")
	assert.Equal(t, []string{FinalSavepointFinalizer}, f.cluster().Finalizers)
	assert.JSONEq(t, `{"metadata":{"finalizers":["`+FinalSavepointFinalizer+`"],"resourceVersion":"42"}}`, patch,
		"only the finalizers are written, guarded by the observed resourceVersion: the spec is never written back")
}

func TestDeletionTakesAFinalSavepoint(t *testing.T) {
	f := startedJob(t, jobCluster())
	deleting := f.cluster().DeepCopy()
	now := metav1.NewTime(f.now)
	deleting.DeletionTimestamp = &now
	require.NoError(t, f.indexers["fc"].Update(deleting))
	f.rest.SetSavepointOutcome(jmURL, f.job().ID, flinkfake.Outcome{Location: "/savepoints/final"})

	writes := f.sync()
	assert.Equal(t, fsm.Deleting, f.job().State)
	assert.NotContains(t, writes, "patch flinkclusters", "the finalizer stays while the savepoint runs")
	assert.Equal(t, []string{"patch flinkclusters", "update flinkclusters/status"}, sortedWrites(f.sync()),
		"the savepoint completed: recorded, then the finalizer goes")
	assert.Equal(t, "/savepoints/final", f.job().SavepointLocation)
	assert.Empty(t, f.cluster().Finalizers)
}

func TestDeletionNeverHangs(t *testing.T) {
	f := startedJob(t, jobCluster())
	deleting := f.cluster().DeepCopy()
	now := metav1.NewTime(f.now)
	deleting.DeletionTimestamp = &now
	require.NoError(t, f.indexers["fc"].Update(deleting))
	f.rest.SetSavepointOutcome(jmURL, f.job().ID, flinkfake.Outcome{Polls: 1000000})
	f.sync()
	require.Equal(t, fsm.Deleting, f.job().State)
	f.now = f.now.Add(fsm.DefaultSettings().SavepointTimeout + 2*time.Minute)
	assert.Contains(t, f.sync(), "patch flinkclusters")
	assert.Empty(t, f.cluster().Finalizers)
}

func TestDeletionWithSkipAnnotation(t *testing.T) {
	f := startedJob(t, jobCluster())
	deleting := f.cluster().DeepCopy()
	now := metav1.NewTime(f.now)
	deleting.DeletionTimestamp = &now
	deleting.Annotations = map[string]string{SkipFinalSavepointAnnotation: "true"}
	require.NoError(t, f.indexers["fc"].Update(deleting))
	assert.Equal(t, []string{"patch flinkclusters"}, f.sync())
	assert.Empty(t, f.cluster().Finalizers)
}

func TestUpdateRollsOutThroughASavepoint(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	first := f.job().ID
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.Parallelism = ptr.To[int32](2) })
	f.rest.SetSavepointOutcome(jmURL, first, flinkfake.Outcome{Location: "/savepoints/update"})
	f.sync()
	assert.Equal(t, fsm.Updating, f.job().State)
	for i := 0; i < 4 && f.job().State != fsm.Deploying; i++ {
		f.sync()
	}
	require.Equal(t, fsm.Deploying, f.job().State)
	f.sync() // children rebuilt now that the job stopped
	f.makeAvailable()
	f.sync() // resubmitted from the savepoint
	job := f.job()
	assert.Equal(t, fsm.Submitting, job.State)
	assert.NotEqual(t, first, job.ID)
	assert.Equal(t, "/savepoints/update", job.FromSavepoint)
	assert.Equal(t, int32(0), job.RestartCount)
	f.sync() // the old submitter is replaced
	assert.Contains(t, strings.Join(f.storedSubmitter().Spec.Template.Spec.Containers[0].Command, " "), "--parallelism 2")
}

func TestUpdateWithoutSavepointsDirWaits(t *testing.T) {
	fc := jobCluster()
	fc.Spec.Job.SavepointsDir = nil
	fc.Finalizers = nil
	f := startedJob(t, fc)
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.Args = []string{"--new"} })
	f.sync()
	assert.Equal(t, fsm.Running, f.job().State)
	var reason string
	for _, c := range f.cluster().Status.Conditions {
		if c.Type == "UpdatePending" {
			reason = c.Reason
		}
	}
	assert.Equal(t, "SavepointsDirRequired", reason)
}

func TestSkipAnnotationReleasesAnyState(t *testing.T) {
	f := newFixture(t, jobCluster())
	f.sync()
	f.makeAvailable()
	f.sync()
	require.Equal(t, fsm.Submitting, f.job().State)
	deleting := f.cluster().DeepCopy()
	now := metav1.NewTime(f.now)
	deleting.DeletionTimestamp = &now
	deleting.Annotations = map[string]string{SkipFinalSavepointAnnotation: "true"}
	require.NoError(t, f.indexers["fc"].Update(deleting))
	assert.Contains(t, f.sync(), "patch flinkclusters", "no final savepoint to wait for: released at once")
	assert.Empty(t, f.cluster().Finalizers)
}

func TestChildrenBuiltDifferentlyWaitForTheJobToStop(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	// As after an operator upgrade whose builders changed: the live hash differs, the spec did not.
	item, _, _ := f.indexers["deploy"].GetByKey("ns/c-jobmanager")
	jm := item.(*appsv1.Deployment).DeepCopy()
	jm.Annotations[desired.SpecHashAnnotation] = "built-by-an-older-operator"
	require.NoError(t, f.indexers["deploy"].Update(jm))
	writes := f.sync()
	assert.NotContains(t, writes, "update deployments", "never under a running job")
	cond := condition(f.cluster(), "UpdatePending")
	require.NotNil(t, cond)
	assert.Equal(t, "OperatorUpgrade", cond.Reason)
	assert.Equal(t, fsm.Running, f.job().State)
}

// A savepointsDir change restarts no job but changes the Flink configuration: it is held like an
// operator upgrade's changes, and reported as what it is (it was reported as OperatorUpgrade).
func TestSavepointsDirChangeIsHeldAndNamed(t *testing.T) {
	f := startedJob(t, jobCluster())
	f.makeAvailable()
	f.sync()
	require.Equal(t, fsm.Running, f.job().State)
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.SavepointsDir = ptr.To("/savepoints/elsewhere") })
	writes := f.sync()
	assert.NotContains(t, writes, "update configmaps", "never under a running job")
	assert.NotContains(t, writes, "update deployments", "never under a running job")
	cond := condition(f.cluster(), "UpdatePending")
	require.NotNil(t, cond)
	assert.Equal(t, "HeldUntilJobStops", cond.Reason)
	assert.Contains(t, cond.Message, "spec.job.savepointsDir")
	assert.Equal(t, fsm.Running, f.job().State)
}

// TestASubmitterTheCacheDoesNotShowYetIsNotCreatedAgain: a sync right after the submitter's
// creation, before the Job informer delivered it, sees none; the submitter this process just
// created still counts, for SubmitterCacheGrace, after which a missing one is created again.
func TestASubmitterTheCacheDoesNotShowYetIsNotCreatedAgain(t *testing.T) {
	f := newFixture(t, jobCluster())
	f.sync()
	f.makeAvailable()
	require.Contains(t, f.sync(), "create jobs")
	f.rest.AddJobManager(jmURL, flinkclient.ClusterOverview{}, flinkclient.DashboardConfig{}) // it does not know the job yet
	lagging := func() {
		item, ok, _ := f.indexers["job"].GetByKey("ns/c-job-submitter")
		require.True(t, ok)
		require.NoError(t, f.indexers["job"].Delete(item))
	}
	lagging()
	f.now = f.now.Add(observer.SubmitterCacheGrace - time.Second)
	assert.NotContains(t, f.sync(), "create jobs", "the cache is late, the Job exists")
	f.now = f.now.Add(time.Second)
	assert.Contains(t, f.sync(), "create jobs", "gone for longer: created again (same job ID)")
}

// TestRestartWithoutAJarFetcher: a restart is decided on the status alone, so a jarFile that
// became http(s) under an operator without --jar-fetcher-image must not yield a Job whose fetch
// init container has no image (its pods would only fail); the sync reports the error instead.
func TestRestartWithoutAJarFetcher(t *testing.T) {
	f := failedWithSavepoint(t)
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.JarFile = "https://repo.example/job.jar" })
	f.now = f.now.Add(time.Minute)
	f.sync() // restart: new attempt; the old submitter is deleted first
	require.Equal(t, fsm.Submitting, f.job().State)
	_, err := f.r.Sync(context.Background(), "ns/c")
	require.ErrorContains(t, err, "this operator runs without --jar-fetcher-image")
	_, err = f.kube.BatchV1().Jobs("ns").Get(t.Context(), "c-job-submitter", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no submitter without a fetcher: %v", err)
}
