package state

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

func TestDeploymentState(t *testing.T) {
	dep := func(replicas, updated, available, total int32, observed, generation int64) *appsv1.Deployment {
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
		d.Generation = generation
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, UpdatedReplicas: updated, AvailableReplicas: available, Replicas: total}
		return d
	}
	tests := []struct {
		name string
		d    *appsv1.Deployment
		want v1beta1.ComponentState
	}{
		{"missing", nil, v1beta1.ComponentStateNotReady},
		{"all available", dep(2, 2, 2, 2, 1, 1), v1beta1.ComponentStateReady},
		{"zero replicas", dep(0, 0, 0, 0, 1, 1), v1beta1.ComponentStateReady},
		{"not all available", dep(2, 2, 1, 2, 1, 1), v1beta1.ComponentStateNotReady},
		{"rollout in progress", dep(2, 1, 2, 3, 2, 2), v1beta1.ComponentStateNotReady},
		{"controller has not seen the spec", dep(2, 2, 2, 2, 1, 2), v1beta1.ComponentStateNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, deploymentState(tt.d)) })
	}
}

func TestClusterState(t *testing.T) {
	ready := v1beta1.ComponentStatus{State: v1beta1.ComponentStateReady}
	notReady := v1beta1.ComponentStatus{State: v1beta1.ComponentStateNotReady}
	all := func(jm v1beta1.ComponentStatus) v1beta1.FlinkClusterComponentsStatus {
		return v1beta1.FlinkClusterComponentsStatus{JobManagerDeployment: jm, JobManagerService: ready,
			TaskManagerDeployment: v1beta1.TaskManagerStatus{State: v1beta1.ComponentStateReady}}
	}
	tests := []struct {
		name     string
		previous v1beta1.ClusterState
		c        v1beta1.FlinkClusterComponentsStatus
		upToDate bool
		want     v1beta1.ClusterState
	}{
		{"new and not ready", "", all(notReady), true, v1beta1.ClusterStateCreating},
		{"creating, spec not applied yet", v1beta1.ClusterStateCreating, all(ready), false, v1beta1.ClusterStateCreating},
		{"everything ready", v1beta1.ClusterStateCreating, all(ready), true, v1beta1.ClusterStateRunning},
		{"running, spec changed", v1beta1.ClusterStateRunning, all(ready), false, v1beta1.ClusterStateUpdating},
		{"running, rollout pending readiness", v1beta1.ClusterStateUpdating, all(notReady), false, v1beta1.ClusterStateUpdating},
		{"running, a component recovers", v1beta1.ClusterStateRunning, all(notReady), true, v1beta1.ClusterStateReconciling},
		{"ingress not ready", v1beta1.ClusterStateRunning, func() v1beta1.FlinkClusterComponentsStatus {
			c := all(ready)
			c.JobManagerIngress = &v1beta1.IngressStatus{State: v1beta1.ComponentStateNotReady}
			return c
		}(), true, v1beta1.ClusterStateReconciling},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, clusterState(tt.previous, tt.c, tt.upToDate, desired.AllComponents))
		})
	}
}

func TestSetConditionKeepsTransitionTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &v1beta1.FlinkClusterStatus{State: v1beta1.ClusterStateRunning}
	setReadyCondition(st, nil, t0)
	setReadyCondition(st, nil, t0.Add(time.Hour))
	assert.Equal(t, t0, st.Conditions[0].LastTransitionTime.Time.UTC(), "same status, same transition time")
	setReadyCondition(st, errors.New("bad memory"), t0.Add(2*time.Hour))
	assert.Equal(t, "InvalidSpec", st.Conditions[0].Reason)
	assert.Equal(t, t0.Add(2*time.Hour), st.Conditions[0].LastTransitionTime.Time.UTC())
}

func TestStoppedStates(t *testing.T) {
	deleted := v1beta1.ComponentStatus{State: v1beta1.ComponentStateDeleted}
	ready := v1beta1.ComponentStatus{State: v1beta1.ComponentStateReady}
	tmDeleted := v1beta1.TaskManagerStatus{State: v1beta1.ComponentStateDeleted}
	tmDeleting := v1beta1.TaskManagerStatus{State: v1beta1.ComponentStateNotReady}
	tests := []struct {
		name   string
		c      v1beta1.FlinkClusterComponentsStatus
		wanted desired.Components
		want   v1beta1.ClusterState
	}{
		{"DeleteCluster in progress", v1beta1.FlinkClusterComponentsStatus{JobManagerDeployment: deleted, JobManagerService: ready, TaskManagerDeployment: tmDeleted},
			desired.Components{}, v1beta1.ClusterStateStopping},
		{"DeleteCluster done", v1beta1.FlinkClusterComponentsStatus{JobManagerDeployment: deleted, JobManagerService: deleted, TaskManagerDeployment: tmDeleted},
			desired.Components{}, v1beta1.ClusterStateStopped},
		{"DeleteCluster waits for the ingress", v1beta1.FlinkClusterComponentsStatus{JobManagerDeployment: deleted, JobManagerService: deleted, TaskManagerDeployment: tmDeleted,
			JobManagerIngress: &v1beta1.IngressStatus{State: v1beta1.ComponentStateNotReady}}, desired.Components{}, v1beta1.ClusterStateStopping},
		{"DeleteTaskManager in progress", v1beta1.FlinkClusterComponentsStatus{JobManagerDeployment: ready, JobManagerService: ready, TaskManagerDeployment: tmDeleting},
			desired.Components{JobManager: true}, v1beta1.ClusterStateStopping},
		{"DeleteTaskManager done", v1beta1.FlinkClusterComponentsStatus{JobManagerDeployment: ready, JobManagerService: ready, TaskManagerDeployment: tmDeleted},
			desired.Components{JobManager: true}, v1beta1.ClusterStatePartiallyStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, clusterState(v1beta1.ClusterStateRunning, tt.c, true, tt.wanted))
		})
	}
}

func TestStopUnconfirmedCondition(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	inFlight := func(msg string) *v1beta1.SavepointOperation {
		return &v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonUpdate, State: v1beta1.SavepointStateInProgress, Message: msg}
	}
	tests := []struct {
		name   string
		job    *v1beta1.JobStatus
		reason string
	}{
		{"session cluster", nil, ""},
		{"a stop in flight, not overdue", &v1beta1.JobStatus{State: v1beta1.JobStateUpdating, Savepoint: inFlight("")}, ""},
		{"an overdue stop", &v1beta1.JobStatus{State: v1beta1.JobStateUpdating, Savepoint: inFlight("not confirmed")}, "Overdue"},
		{"an update whose stop ended unconfirmed", &v1beta1.JobStatus{State: v1beta1.JobStateFailed, Message: "why",
			Savepoint: &v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonUpdate, State: v1beta1.SavepointStateUnconfirmed}}, "SavepointNotFound"},
		{"a cancel whose stop ended unconfirmed: the job is cancelled as asked", &v1beta1.JobStatus{State: v1beta1.JobStateCancelled,
			Savepoint: &v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonCancel, State: v1beta1.SavepointStateUnconfirmed}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &v1beta1.FlinkClusterStatus{}
			setStopCondition(st, tt.job, t0)
			if tt.reason == "" {
				assert.Empty(t, st.Conditions)
				return
			}
			assert.Len(t, st.Conditions, 1)
			assert.Equal(t, ConditionStopUnconfirmed, st.Conditions[0].Type)
			assert.Equal(t, tt.reason, st.Conditions[0].Reason)
			assert.NotEmpty(t, st.Conditions[0].Message)
			tt.job.State, tt.job.Savepoint = v1beta1.JobStateRunning, nil
			setStopCondition(st, tt.job, t0)
			assert.Empty(t, st.Conditions, "removed once resolved")
		})
	}
}

func TestDerive(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fc := &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", Generation: 3}}
	ready := func(name string, hash string) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1, Annotations: map[string]string{desired.SpecHashAnnotation: hash}},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)}}
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 1, AvailableReplicas: 1, ReadyReplicas: 1, Replicas: 1}
		return d
	}
	hashed := func(name, hash string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Annotations: map[string]string{desired.SpecHashAnnotation: hash}}
	}
	want := &desired.Cluster{ConfigMap: &corev1.ConfigMap{ObjectMeta: hashed("c-configmap", "cm")},
		JobManagerDeployment: ready("c-jobmanager", "jm"), TaskManagerDeployment: ready("c-taskmanager", "tm"),
		JobManagerService: &corev1.Service{ObjectMeta: hashed("c-jobmanager", "svc")}}
	snap := func(tmHash string) *snapshot.Snapshot {
		return &snapshot.Snapshot{Cluster: fc.DeepCopy(), ConfigMap: want.ConfigMap, JobManagerDeployment: want.JobManagerDeployment,
			TaskManagerDeployment: ready("c-taskmanager", tmHash), JobManagerService: want.JobManagerService}
	}
	t.Run("every child ready and current", func(t *testing.T) {
		st := Derive(Input{Observed: snap("tm"), Want: want, Now: t0, Wanted: desired.AllComponents})
		assert.Equal(t, v1beta1.ClusterStateRunning, st.State)
		assert.Equal(t, int64(3), st.ObservedGeneration)
		assert.Equal(t, t0, st.LastUpdateTime.Time)
		s := snap("tm")
		s.Cluster.Status = st
		again := Derive(Input{Observed: s, Want: want, Now: t0.Add(time.Hour), Wanted: desired.AllComponents})
		assert.Equal(t, st, again, "nothing changed: the same status, lastUpdateTime included")
	})
	t.Run("a drifted child held for a running job", func(t *testing.T) {
		s := snap("old")
		s.Cluster.Status.State = v1beta1.ClusterStateRunning
		held := Derive(Input{Observed: s, Want: want, Now: t0, Wanted: desired.AllComponents, HeldDrift: true,
			UpdateReason: "WaitingForJob", UpdateMessage: "m"})
		assert.Equal(t, v1beta1.ClusterStateRunning, held.State, "held changes do not make the cluster Updating")
		assert.Zero(t, held.ObservedGeneration, "the spec has not reached the children")
		assert.Equal(t, "WaitingForJob", condition(held, ConditionUpdatePending).Reason)
		rolling := Derive(Input{Observed: s, Want: want, Now: t0, Wanted: desired.AllComponents})
		assert.Equal(t, v1beta1.ClusterStateUpdating, rolling.State)
	})
	t.Run("an unbuildable spec", func(t *testing.T) {
		st := Derive(Input{Observed: snap("tm"), BuildErr: errors.New("bad memory"), Now: t0, Wanted: desired.AllComponents})
		assert.Equal(t, "InvalidSpec", condition(st, ConditionReady).Reason)
		assert.Equal(t, "bad memory", condition(st, ConditionReady).Message)
	})
	t.Run("an unreachable JobManager is a condition", func(t *testing.T) {
		st := Derive(Input{Observed: snap("tm"), Want: want, Now: t0, Wanted: desired.AllComponents,
			FlinkPolled: true, JobManagerURL: "http://c-jobmanager.ns.svc:8081"})
		assert.Equal(t, "Unreachable", condition(st, ConditionJobManagerReachable).Reason)
	})
	t.Run("a REST TLS Secret that cannot be used is a condition, and wins over the poll", func(t *testing.T) {
		s := snap("tm")
		s.RESTTLSError = "spec.jobManager.restTLS.secretName: Secret ns/rest-tls not found"
		st := Derive(Input{Observed: s, Want: want, Now: t0, Wanted: desired.AllComponents,
			FlinkPolled: true, FlinkReachable: true, JobManagerURL: "https://c-jobmanager.ns.svc:8081"})
		c := condition(st, ConditionJobManagerReachable)
		assert.Equal(t, metav1.ConditionFalse, c.Status)
		assert.Equal(t, ReasonRESTTLSUnavailable, c.Reason)
		assert.Equal(t, s.RESTTLSError+"; the operator makes no REST call until it can verify the JobManager", c.Message)
	})
	t.Run("a session cluster's RESTTLSUnavailable goes once the Secret can be used", func(t *testing.T) {
		s := snap("tm")
		s.RESTTLSError = "Secret ns/rest-tls not found"
		st := Derive(Input{Observed: s, Want: want, Now: t0, Wanted: desired.AllComponents})
		require.Equal(t, ReasonRESTTLSUnavailable, condition(st, ConditionJobManagerReachable).Reason)
		s = snap("tm")
		s.Cluster.Status = st
		st = Derive(Input{Observed: s, Want: want, Now: t0, Wanted: desired.AllComponents})
		assert.Empty(t, condition(st, ConditionJobManagerReachable).Type, "not polled, and nothing else to say")
	})
	t.Run("the dashboard URL while the JobManager Service exists", func(t *testing.T) {
		s := snap("tm")
		s.DashboardURL = "http://127.0.0.1:8001/api/v1/namespaces/ns/services/c-jobmanager:ui/proxy/"
		st := Derive(Input{Observed: s, Want: want, Now: t0, Wanted: desired.AllComponents})
		assert.Equal(t, s.DashboardURL, st.Components.JobManagerService.DashboardURL)
		s.JobManagerService = nil
		st = Derive(Input{Observed: s, Want: want, Now: t0, Wanted: desired.AllComponents})
		assert.Empty(t, st.Components.JobManagerService.DashboardURL, "no Service, no dashboard")
	})
	t.Run("the JobManager URL in a condition is redacted", func(t *testing.T) {
		st := Derive(Input{Observed: snap("tm"), Want: want, Now: t0, Wanted: desired.AllComponents,
			FlinkPolled: true, JobManagerURL: "https://op:s3cret@proxy.example.com/ns/c"})
		msg := condition(st, ConditionJobManagerReachable).Message
		assert.NotContains(t, msg, "s3cret")
		assert.Contains(t, msg, "https://op:xxxxx@proxy.example.com/ns/c")
	})
}

func condition(st v1beta1.FlinkClusterStatus, kind string) metav1.Condition {
	for _, c := range st.Conditions {
		if c.Type == kind {
			return c
		}
	}
	return metav1.Condition{}
}

func TestLatestStateCondition(t *testing.T) {
	restart := &v1beta1.JobSpec{RestartPolicy: ptr.To(v1beta1.JobRestartPolicyFromLatestStateOnFailure)}
	lastState := &v1beta1.JobSpec{UpgradeMode: ptr.To(v1beta1.UpgradeModeLastState)}
	rec := &v1beta1.CheckpointRecord{JobID: "j1", ID: 4, Location: "file:/cp/j1/chk-4"}
	tests := []struct {
		name      string
		spec      *v1beta1.JobSpec
		retention v1beta1.CheckpointRetention
		rec       *v1beta1.CheckpointRecord
		interval  *metav1.Duration
		want      string
	}{
		{"not read yet", restart, "", rec, nil, "ConfigurationNotRead"},
		{"no checkpointing", restart, v1beta1.CheckpointRetentionCheckpointingDisabled, nil, nil, "CheckpointingDisabled"},
		{"not retained", restart, v1beta1.CheckpointRetentionNotRetained, rec, nil, "NotRetained"},
		{"deleted on cancel: fine for restarts", restart, v1beta1.CheckpointRetentionDeleteOnCancellation, rec, nil, "Retained"},
		{"deleted on cancel: not for LastState", lastState, v1beta1.CheckpointRetentionDeleteOnCancellation, rec, nil, "DeletedOnCancellation"},
		{"no checkpoint yet", lastState, v1beta1.CheckpointRetentionRetainOnCancellation, nil, nil, "NoCheckpointYet"},
		{"another attempt's checkpoint", lastState, v1beta1.CheckpointRetentionRetainOnCancellation, &v1beta1.CheckpointRecord{JobID: "j0", ID: 3, Location: "x"}, nil, "NoCheckpointYet"},
		{"retained", lastState, v1beta1.CheckpointRetentionRetainOnCancellation, rec, nil, "Retained"},
		{"10 retained cover 90 s at a 10 s interval", lastState, v1beta1.CheckpointRetentionRetainOnCancellation, rec, &metav1.Duration{Duration: 10 * time.Second}, "Retained"},
		{"not at a 2 s interval set in the job's code", lastState, v1beta1.CheckpointRetentionRetainOnCancellation, rec, &metav1.Duration{Duration: 2 * time.Second}, "TooFewRetained"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &v1beta1.FlinkClusterStatus{}
			job := &v1beta1.JobStatus{ID: "j1", CheckpointRetention: tt.retention, LatestCheckpoint: tt.rec, CheckpointInterval: tt.interval}
			setLatestStateCondition(st, tt.spec, job, &desired.Cluster{Checkpoints: desired.CheckpointRetention{NumRetained: 10, RecordInterval: time.Minute}}, time.Now())
			c := meta.FindStatusCondition(st.Conditions, ConditionLatestStateAvailable)
			require.NotNil(t, c)
			assert.Equal(t, tt.want, c.Reason)
			assert.Equal(t, tt.want == "Retained", c.Status == metav1.ConditionTrue, c.Message)
		})
	}
	st := &v1beta1.FlinkClusterStatus{Conditions: []metav1.Condition{{Type: ConditionLatestStateAvailable}}}
	setLatestStateCondition(st, &v1beta1.JobSpec{}, &v1beta1.JobStatus{ID: "j1"}, nil, time.Now())
	assert.Empty(t, st.Conditions, "removed when no policy needs it")
}

func TestHAPermittedCondition(t *testing.T) {
	ha := &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "team"},
		Spec: v1beta1.FlinkClusterSpec{HighAvailability: &v1beta1.HighAvailabilitySpec{Type: v1beta1.HighAvailabilityKubernetes}}}
	tests := []struct {
		name    string
		access  snapshot.HAAccess
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		{"granted", snapshot.HAAccess{Checked: true, ServiceAccount: "flink-ha"}, metav1.ConditionTrue, "Granted", "flink-ha may do"},
		{"missing verbs are named", snapshot.HAAccess{Checked: true, ServiceAccount: "default", Missing: []string{"create", "patch"}},
			metav1.ConditionFalse, "MissingPermissions", "ServiceAccount team/default may not create, patch ConfigMaps"},
		{"no answer", snapshot.HAAccess{Checked: true, ServiceAccount: "default", Error: "timeout"}, metav1.ConditionUnknown, "CheckFailed", "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &v1beta1.FlinkClusterStatus{}
			setHAPermittedCondition(st, ha, tt.access, time.Now())
			c := meta.FindStatusCondition(st.Conditions, ConditionHighAvailabilityPermitted)
			require.NotNil(t, c)
			assert.Equal(t, tt.status, c.Status)
			assert.Equal(t, tt.reason, c.Reason)
			assert.Contains(t, c.Message, tt.message)
		})
	}
	t.Run("not asked this sync: unchanged", func(t *testing.T) {
		st := &v1beta1.FlinkClusterStatus{Conditions: []metav1.Condition{{Type: ConditionHighAvailabilityPermitted, Reason: "MissingPermissions"}}}
		setHAPermittedCondition(st, ha, snapshot.HAAccess{}, time.Now())
		assert.Equal(t, "MissingPermissions", st.Conditions[0].Reason)
	})
	t.Run("removed without HA", func(t *testing.T) {
		st := &v1beta1.FlinkClusterStatus{Conditions: []metav1.Condition{{Type: ConditionHighAvailabilityPermitted}}}
		setHAPermittedCondition(st, &v1beta1.FlinkCluster{}, snapshot.HAAccess{Checked: true}, time.Now())
		assert.Empty(t, st.Conditions)
	})
}

// TestFlinkVersionCondition: a Flink older than the oldest tested one is flagged, by
// spec.flinkVersion or else the image tag; a supported or unknown version leaves no condition.
func TestFlinkVersionCondition(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, flinkVersion, image string
		flagged                   string // the version named, "" for no condition
	}{
		{"spec.flinkVersion 1.14", "1.14", "flink:1.20", "1.14"},
		{"an image tag 1.17", "", "flink:1.17.2-scala_2.12-java11", "1.17"},
		{"1.18, the oldest tested", "", "flink:1.18.1-java17", ""},
		{"1.19 by spec.flinkVersion over an old tag", "1.19", "flink:1.13", ""},
		{"2.0", "", "flink:2.0", ""},
		{"a custom tag", "", "registry.example.com/streaming/app:3f2a9c1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &v1beta1.FlinkCluster{Spec: v1beta1.FlinkClusterSpec{FlinkVersion: tc.flinkVersion, Image: v1beta1.ImageSpec{Name: tc.image}}}
			st := &v1beta1.FlinkClusterStatus{}
			setFlinkVersionCondition(st, fc, t0)
			cond := meta.FindStatusCondition(st.Conditions, ConditionFlinkVersionSupported)
			if tc.flagged == "" {
				assert.Nil(t, cond)
				return
			}
			require.NotNil(t, cond)
			assert.Equal(t, metav1.ConditionFalse, cond.Status)
			assert.Equal(t, "UnsupportedFlinkVersion", cond.Reason)
			assert.Contains(t, cond.Message, "Flink "+tc.flagged+" is older than 1.18")
		})
	}
	// Fixed, the condition goes.
	fc := &v1beta1.FlinkCluster{Spec: v1beta1.FlinkClusterSpec{Image: v1beta1.ImageSpec{Name: "flink:1.15"}}}
	st := &v1beta1.FlinkClusterStatus{}
	setFlinkVersionCondition(st, fc, t0)
	fc.Spec.Image.Name = "flink:1.20"
	setFlinkVersionCondition(st, fc, t0)
	assert.Empty(t, st.Conditions)
}
