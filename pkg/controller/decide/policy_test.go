package decide

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

func TestEventWorthyTransitions(t *testing.T) {
	tests := []struct {
		from, to fsm.State
		want     bool
	}{
		{fsm.Running, fsm.Failed, true},
		{fsm.Running, fsm.Lost, true},
		{fsm.Savepointing, fsm.Running, true},
		{fsm.Running, fsm.Deleting, true},
		{fsm.Running, fsm.Savepointing, false},
		{fsm.Submitting, fsm.Submitting, false},
		{fsm.Running, fsm.Running, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"->"+string(tt.to), func(t *testing.T) {
			assert.Equal(t, tt.want, eventWorthy(&fsm.Transition{From: tt.from, To: tt.to}))
		})
	}
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func jobCluster() *v1beta1.FlinkCluster {
	return &v1beta1.FlinkCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", Generation: 2},
		Spec:       v1beta1.FlinkClusterSpec{Job: &v1beta1.JobSpec{SavepointsDir: ptr.To("/sp")}},
		Status:     v1beta1.FlinkClusterStatus{ObservedGeneration: 2},
	}
}

func TestPendingUpdate(t *testing.T) {
	noDir := func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.SavepointsDir = nil }
	newGeneration := func(fc *v1beta1.FlinkCluster) { fc.Generation = 3 }
	lastState := func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.UpgradeMode = ptr.To(v1beta1.UpgradeModeLastState) }
	lastStateNoDir := func(fc *v1beta1.FlinkCluster) { lastState(fc); noDir(fc) }
	tests := []struct {
		name      string
		edit      func(*v1beta1.FlinkCluster)
		state     fsm.State
		rev       string
		held      bool
		invalid   bool
		lastState string
		want      string
	}{
		{"an update in progress", nil, fsm.Updating, "a", true, false, "", "Updating"},
		{"rebuilding", nil, fsm.Deploying, "a", false, false, "", "Updating"},
		{"a suspension waits", func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.State = ptr.To(v1beta1.JobDesiredStateSuspended) }, fsm.Running, "a", false, false, "", "SuspendWaiting"},
		{"a LastState suspension waits for a checkpoint", func(fc *v1beta1.FlinkCluster) {
			fc.Spec.Job.State = ptr.To(v1beta1.JobDesiredStateSuspended)
			lastState(fc)
		}, fsm.Running, "a", false, false, "no checkpoint", "SuspendWaiting"},
		{"nothing held", nil, fsm.Running, "b", false, false, "", ""},
		{"an unbuildable spec", nil, fsm.Running, "b", true, true, "", "InvalidSpec"},
		{"same spec, children built differently", nil, fsm.Running, "a", true, false, "", "OperatorUpgrade"},
		{"same revision, new generation", newGeneration, fsm.Running, "a", true, false, "", "HeldUntilJobStops"},
		{"no savepointsDir for the update", noDir, fsm.Running, "b", true, false, "", "SavepointsDirRequired"},
		{"waiting for the job", nil, fsm.Running, "b", true, false, "", "WaitingForJob"},
		{"LastState without a checkpoint yet", lastState, fsm.Running, "b", true, false, "the job has not completed a checkpoint yet", "LastStateUnavailable"},
		{"LastState to another version goes by savepoint", lastState, fsm.Running, "b", true, false, fsm.VersionChangeBlocker, "WaitingForJob"},
		{"LastState to another version without savepointsDir", lastStateNoDir, fsm.Running, "b", true, false, fsm.VersionChangeBlocker, "LastStateUnavailable"},
		{"LastState possible, without savepointsDir", lastStateNoDir, fsm.Running, "b", true, false, "", "WaitingForJob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := jobCluster()
			if tt.edit != nil {
				tt.edit(fc)
			}
			reason, message := pendingUpdate(fc, v1beta1.JobStatus{State: tt.state, Revision: "a"}, tt.rev, tt.held, tt.invalid, tt.lastState)
			assert.Equal(t, tt.want, reason)
			assert.Equal(t, tt.want == "", message == "")
		})
	}
}

// TestPendingResume: Deploying after a suspension (how it stopped recorded, no revision to roll
// out) is a resume, not an update.
func TestPendingResume(t *testing.T) {
	reason, _ := pendingUpdate(jobCluster(), v1beta1.JobStatus{State: fsm.Deploying, Revision: "a", UpdateMode: v1beta1.UpgradeModeSavepoint}, "a", false, false, "")
	assert.Equal(t, "Resuming", reason)
	reason, _ = pendingUpdate(jobCluster(), v1beta1.JobStatus{State: fsm.Deploying, Revision: "a", UpdateMode: v1beta1.UpgradeModeSavepoint, TargetRevision: "b"}, "b", false, false, "")
	assert.Equal(t, "Updating", reason)
}

func TestFinalSavepointDone(t *testing.T) {
	deadline := t0.Add(time.Minute)
	inFlight := &v1beta1.SavepointOperation{State: v1beta1.SavepointStateInProgress}
	failedFinal := &v1beta1.SavepointOperation{State: v1beta1.SavepointStateFailed, Reason: v1beta1.SavepointReasonDelete, EndTime: &metav1.Time{Time: t0.Add(-time.Second)}}
	step := fsm.Decision{Transition: &fsm.Transition{}}
	tests := []struct {
		name string
		edit func(*v1beta1.FlinkCluster)
		job  v1beta1.JobStatus
		d    fsm.Decision
		now  time.Time
		want bool
	}{
		{"past the deadline", nil, v1beta1.JobStatus{State: fsm.Deleting, Savepoint: inFlight}, fsm.Decision{}, deadline, true},
		{"skipped", func(fc *v1beta1.FlinkCluster) {
			fc.Annotations = map[string]string{SkipFinalSavepointAnnotation: "true"}
		},
			v1beta1.JobStatus{State: fsm.Running}, fsm.Decision{}, t0, true},
		{"final savepoint in flight", nil, v1beta1.JobStatus{State: fsm.Deleting, Savepoint: inFlight}, fsm.Decision{}, t0, false},
		{"final savepoint ended", nil, v1beta1.JobStatus{State: fsm.Deleting}, fsm.Decision{}, t0, true},
		{"running, a final savepoint can still be taken", nil, v1beta1.JobStatus{State: fsm.Running}, fsm.Decision{}, t0, false},
		{"running, stopping now", nil, v1beta1.JobStatus{State: fsm.Running}, step, t0, false},
		{"running without savepointsDir", func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.SavepointsDir = nil },
			v1beta1.JobStatus{State: fsm.Running}, fsm.Decision{}, t0, true},
		{"an update's stop finishes first", nil, v1beta1.JobStatus{State: fsm.Updating}, fsm.Decision{}, t0, false},
		{"nothing runs", nil, v1beta1.JobStatus{State: fsm.Failed}, fsm.Decision{}, t0, true},
		// Right after a restart Flink refuses savepoints until every task runs: a failed final
		// savepoint of a job that still runs is tried again (the state machine retriggers it).
		{"final savepoint failed, the job still runs", nil, v1beta1.JobStatus{State: fsm.Deleting, Savepoint: failedFinal}, fsm.Decision{}, t0, false},
		{"final savepoint failed, past the deadline", nil, v1beta1.JobStatus{State: fsm.Deleting, Savepoint: failedFinal}, fsm.Decision{}, deadline, true},
		{"final savepoint failed, the job ended", nil, v1beta1.JobStatus{State: fsm.Deleting, Savepoint: failedFinal, FlinkJobState: "FINISHED"}, fsm.Decision{}, t0, true},
		{"final savepoint failed, skipped since", func(fc *v1beta1.FlinkCluster) {
			fc.Annotations = map[string]string{SkipFinalSavepointAnnotation: "true"}
		}, v1beta1.JobStatus{State: fsm.Deleting, Savepoint: failedFinal}, fsm.Decision{}, t0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := jobCluster()
			if tt.edit != nil {
				tt.edit(fc)
			}
			flinkState := "RUNNING"
			if tt.job.FlinkJobState != "" {
				flinkState = tt.job.FlinkJobState
			}
			in := fsm.Input{Spec: *fc.Spec.Job, Status: tt.job, SkipFinalSavepoint: fc.Annotations[SkipFinalSavepointAnnotation] == "true",
				Flink: fsm.FlinkObservation{Polled: true, Reachable: true, Found: true, State: flinkState}}
			assert.Equal(t, tt.want, finalSavepointDone(fc, tt.job, tt.d, deadline, tt.now, in))
		})
	}
}

// An application whose JobManager Job is gone (a namespace's deletion removes it beside the
// FlinkCluster) cannot take a final savepoint: the deletion does not wait for its deadline.
func TestFinalSavepointDoneWithoutAnApplicationJobManager(t *testing.T) {
	fc := jobCluster()
	fc.Spec.Job.Mode = ptr.To(v1beta1.JobModeApplication)
	job := v1beta1.JobStatus{State: fsm.Deleting, Savepoint: &v1beta1.SavepointOperation{State: v1beta1.SavepointStateInProgress}}
	in := fsm.Input{Spec: *fc.Spec.Job, Status: job, Submitter: fsm.SubmitterActive}
	assert.False(t, finalSavepointDone(fc, job, fsm.Decision{}, t0.Add(time.Minute), t0, in), "its JobManager runs: the savepoint is awaited")
	for _, gone := range []fsm.SubmitterPhase{fsm.SubmitterNone, fsm.SubmitterFailedP, fsm.SubmitterSucceeded} {
		in.Submitter = gone
		assert.True(t, finalSavepointDone(fc, job, fsm.Decision{}, t0.Add(time.Minute), t0, in), "JobManager %s", gone)
	}
}

func TestDeletionDeadline(t *testing.T) {
	fc := jobCluster()
	fc.DeletionTimestamp = &metav1.Time{Time: t0}
	assert.Equal(t, t0.Add(11*time.Minute), deletionDeadline(fc, fsm.DefaultSettings()), "the savepoint timeout plus a minute")
}

func TestWantedComponents(t *testing.T) {
	spec := v1beta1.JobSpec{CleanupPolicy: &v1beta1.CleanupPolicy{AfterJobSucceeds: "DeleteCluster", AfterJobCancelled: "DeleteTaskManager", AfterJobFails: "KeepCluster"}}
	assert.Equal(t, desired.Components{}, wantedComponents(spec, v1beta1.JobStatus{State: fsm.Succeeded}))
	assert.Equal(t, desired.Components{JobManager: true}, wantedComponents(spec, v1beta1.JobStatus{State: fsm.Cancelled}))
	assert.Equal(t, desired.AllComponents, wantedComponents(spec, v1beta1.JobStatus{State: fsm.Failed}))
	assert.Equal(t, desired.AllComponents, wantedComponents(spec, v1beta1.JobStatus{State: fsm.Running}))
}

func TestMissingFinalizers(t *testing.T) {
	fc := jobCluster()
	assert.Equal(t, []string{FinalSavepointFinalizer}, missingFinalizers(fc))
	fc.Finalizers = []string{FinalSavepointFinalizer}
	assert.Empty(t, missingFinalizers(fc), "already there")
	fc = jobCluster()
	fc.Spec.Job.SavepointsDir = ptr.To("")
	assert.Empty(t, missingFinalizers(fc), "no final savepoint without a directory")
	fc.Spec.Job = nil
	assert.Empty(t, missingFinalizers(fc), "session clusters have no job to save")

	fc.Spec.HighAvailability = &v1beta1.HighAvailabilitySpec{Type: v1beta1.HighAvailabilityKubernetes}
	assert.Equal(t, []string{HACleanupFinalizer}, missingFinalizers(fc), "a session cluster with HA")
	fc = jobCluster()
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"high-availability.type": "kubernetes"}
	assert.Equal(t, []string{FinalSavepointFinalizer, HACleanupFinalizer}, missingFinalizers(fc), "HA through flinkProperties")
	fc.Finalizers = []string{HACleanupFinalizer, FinalSavepointFinalizer}
	assert.Empty(t, missingFinalizers(fc))
}

func TestHeldDrift(t *testing.T) {
	hashed := func(h string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Annotations: map[string]string{desired.SpecHashAnnotation: h}}
	}
	want := &desired.Cluster{
		ConfigMap:             &corev1.ConfigMap{ObjectMeta: hashed("cm")},
		JobManagerDeployment:  &appsv1.Deployment{ObjectMeta: hashed("jm")},
		TaskManagerDeployment: &appsv1.Deployment{ObjectMeta: hashed("tm")},
		JobManagerService:     &corev1.Service{ObjectMeta: hashed("svc")},
		JobManagerIngress:     &networkingv1.Ingress{ObjectMeta: hashed("ing")},
	}
	same := func() *snapshot.Snapshot {
		return &snapshot.Snapshot{ConfigMap: want.ConfigMap, JobManagerDeployment: want.JobManagerDeployment,
			TaskManagerDeployment: want.TaskManagerDeployment, JobManagerService: want.JobManagerService, JobManagerIngress: want.JobManagerIngress}
	}
	assert.False(t, heldDrift(same(), want))
	assert.False(t, heldDrift(&snapshot.Snapshot{}, want), "missing children are created, not held")
	for name, edit := range map[string]func(*snapshot.Snapshot){
		"ConfigMap":   func(s *snapshot.Snapshot) { s.ConfigMap = &corev1.ConfigMap{ObjectMeta: hashed("old")} },
		"JobManager":  func(s *snapshot.Snapshot) { s.JobManagerDeployment = &appsv1.Deployment{ObjectMeta: hashed("old")} },
		"TaskManager": func(s *snapshot.Snapshot) { s.TaskManagerDeployment = &appsv1.Deployment{ObjectMeta: hashed("old")} },
		"Service":     func(s *snapshot.Snapshot) { s.JobManagerService = &corev1.Service{ObjectMeta: hashed("old")} },
		// The Ingress is held like every other child, so its held change is reported too.
		"Ingress": func(s *snapshot.Snapshot) { s.JobManagerIngress = &networkingv1.Ingress{ObjectMeta: hashed("old")} },
		// A child whose hash annotation was removed is drifted, as the updater and status see it.
		"annotation removed": func(s *snapshot.Snapshot) { s.ConfigMap = &corev1.ConfigMap{} },
	} {
		s := same()
		edit(s)
		assert.True(t, heldDrift(s, want), name)
	}
}

// TestFromSavepointNotApplied: an edit of fromSavepoint after the first submission, without a
// restore request, is reported once (an event) and stays in UpdatePending.
func TestFromSavepointNotApplied(t *testing.T) {
	applied := ptr.To("/sp/first")
	tests := []struct {
		name string
		spec v1beta1.JobSpec
		job  v1beta1.JobStatus
		want bool
	}{
		{"edited alone", v1beta1.JobSpec{FromSavepoint: ptr.To("/sp/other")}, v1beta1.JobStatus{Attempt: 1, AppliedFromSavepoint: applied}, true},
		{"set after a first run without it", v1beta1.JobSpec{FromSavepoint: ptr.To("/sp/other")}, v1beta1.JobStatus{Attempt: 1, AppliedFromSavepoint: ptr.To("")}, true},
		{"unchanged", v1beta1.JobSpec{FromSavepoint: ptr.To("/sp/first")}, v1beta1.JobStatus{Attempt: 1, AppliedFromSavepoint: applied}, false},
		{"removed", v1beta1.JobSpec{}, v1beta1.JobStatus{Attempt: 1, AppliedFromSavepoint: applied}, false},
		{"with a restore request", v1beta1.JobSpec{FromSavepoint: ptr.To("/sp/other"), RestoreGeneration: 1}, v1beta1.JobStatus{Attempt: 1, AppliedFromSavepoint: applied}, false},
		{"not submitted yet", v1beta1.JobSpec{FromSavepoint: ptr.To("/sp/other")}, v1beta1.JobStatus{AppliedFromSavepoint: applied}, false},
		{"an attempt of an older operator", v1beta1.JobSpec{FromSavepoint: ptr.To("/sp/other")}, v1beta1.JobStatus{Attempt: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, FromSavepointNotApplied(&tt.spec, tt.job))
		})
	}

	fc := buildable(true)
	fc.Spec.Job.FromSavepoint = ptr.To("/sp/other")
	fc.Status.Components.Job = &v1beta1.JobStatus{State: fsm.Running, ID: fsm.JobID("uid", 1), Attempt: 1, AppliedFromSavepoint: applied}
	snap := &snapshot.Snapshot{Cluster: fc, Flink: fsm.FlinkObservation{Polled: true, Reachable: true, Found: true, State: "RUNNING"}}
	p := Decide(snap, fsm.DefaultSettings(), t0)
	require.Len(t, p.Notices, 1)
	assert.Equal(t, ReasonFromSavepointNotApplied, p.Notices[0].Reason)
	assert.Contains(t, p.Notices[0].Message, "set spec.job.restoreGeneration to 1")
	fc.Status = *p.Status
	assert.Empty(t, Decide(snap, fsm.DefaultSettings(), t0).Notices, "reported once")
}
