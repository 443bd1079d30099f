// Package state derives, purely, the status a FlinkCluster should have from what was observed
// and what is desired: each component's state, the cluster state and the conditions. The rules
// are written down in docs/state-derivation.md.
package state

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/health"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// Condition types.
const (
	// ConditionJobManagerReachable is False while the JobManager's REST API does not answer:
	// the job keeps its state and is polled again, so this is where the outage shows.
	ConditionJobManagerReachable = "JobManagerReachable"
	// ConditionReady is True when every component is ready and matches the current spec.
	ConditionReady = "Ready"
	// ConditionUpdatePending is True while spec changes are held back from a running job.
	ConditionUpdatePending = "UpdatePending"
	// ConditionStopUnconfirmed is True while a stop with a savepoint is overdue (reason Overdue),
	// and after an update's stop ended without a savepoint the operator could confirm (reason
	// SavepointNotFound): the job is then not resubmitted from an older savepoint by itself.
	ConditionStopUnconfirmed = "StopUnconfirmed"
	// ConditionNameConflict is True while objects this FlinkCluster does not control hold the
	// names of some of its children; its message names them.
	ConditionNameConflict = "NameConflict"
	// ConditionLatestStateAvailable is set for a job whose policies resume from the latest state
	// (restartPolicy FromLatestStateOnFailure, upgradeMode or upgradeFallback LastState): True
	// while its latest checkpoint is recorded and its configuration keeps it for those policies,
	// False with the reason otherwise.
	ConditionLatestStateAvailable = "LatestStateAvailable"
	// ConditionHighAvailabilityPermitted is set for a cluster with high availability: True when
	// the pods' ServiceAccount may do on ConfigMaps what Flink's HA services do, False (reason
	// MissingPermissions, naming the verbs) when not, Unknown when the API server did not answer.
	ConditionHighAvailabilityPermitted = "HighAvailabilityPermitted"
	// ConditionJobHealthy judges a running job from Flink's restart and checkpoint counters
	// (reasons Healthy, RestartLoop, CheckpointsStalled); absent while the job does not run.
	ConditionJobHealthy = "JobHealthy"
	// ConditionRolledBack says, with spec.job.rollback, whether a failed update was rolled back
	// (True while the rollback is in progress or in force, with its reason UpdateFailed or
	// UpdateTimedOut); absent without spec.job.rollback.
	ConditionRolledBack = "RolledBack"
	// ConditionFlinkVersionSupported is False (reason UnsupportedFlinkVersion) while the cluster's
	// Flink version, from spec.flinkVersion or the image tag, is older than the oldest the operator
	// is tested with (desired.OldestSupportedFlink); absent otherwise, also when the version is
	// unknown (a custom image tag).
	ConditionFlinkVersionSupported = "FlinkVersionSupported"
)

// ReasonForeignEndpoints is the JobManagerReachable condition's reason while hand-made
// EndpointSlices add endpoints to the JobManager Service.
const ReasonForeignEndpoints = "ForeignEndpoints"

// ReasonNotControlled is the NameConflict condition's reason.
const ReasonNotControlled = "NotControlled"

// ReasonRESTTLSUnavailable is the JobManagerReachable condition's reason while the Secret of
// spec.jobManager.restTLS cannot be read or used.
const ReasonRESTTLSUnavailable = "RESTTLSUnavailable"

// ReasonInvalidSpec is the Ready condition's reason while the spec cannot be built.
const ReasonInvalidSpec = "InvalidSpec"

// Input is what status is derived from.
type Input struct {
	Observed *snapshot.Snapshot
	// Want is nil when the spec could not be built; BuildErr says why.
	Want     *desired.Cluster
	BuildErr error
	Now      time.Time
	// Job is the job status the state machine decided (nil for a session cluster).
	Job *v1beta1.JobStatus
	// Wanted says which components should exist (a job's cleanup removes some).
	Wanted desired.Components
	// HeldDrift: spec changes were held back because the job is running.
	HeldDrift bool
	// UpdateReason and UpdateMessage explain a spec change that has not rolled out yet; empty
	// when none is pending.
	UpdateReason, UpdateMessage string
	// FlinkPolled and FlinkReachable say whether the JobManager at JobManagerURL was asked and
	// answered this sync.
	FlinkPolled, FlinkReachable bool
	JobManagerURL               string
	// ServiceRedirected says how the JobManager Service was redirected; the JobManager was then
	// not asked.
	ServiceRedirected string
	// ForeignEndpoints names hand-made EndpointSlices of the JobManager Service (no REST call
	// was made then).
	ForeignEndpoints string
	// Health is the running job's verdict (unknown: condition JobHealthy is removed).
	Health health.Verdict
}

// Derive returns the status for the observed cluster. now stamps lastUpdateTime and condition
// transitions, and only when something else changed.
func Derive(in Input) v1beta1.FlinkClusterStatus {
	obs, fc := in.Observed, in.Observed.Cluster
	old := fc.Status
	st := *old.DeepCopy()
	c := &st.Components
	c.JobManagerDeployment = v1beta1.ComponentStatus{Name: names.JobManagerDeployment(fc.Name),
		State: wantedState(in.Wanted.JobManager, jobManagerExists(obs), jobManagerState(obs))}
	c.JobManagerService = v1beta1.ComponentStatus{Name: names.JobManagerService(fc.Name),
		State:    wantedState(in.Wanted.JobManager, obs.JobManagerService != nil, presence(obs.JobManagerService != nil)),
		NodePort: uiNodePort(obs.JobManagerService), DashboardURL: dashboardURL(obs)}
	c.JobManagerIngress = ingressStatus(obs, in.Wanted.JobManager)
	c.TaskManagerDeployment = taskManagerStatus(obs, in.Wanted.TaskManager)
	c.Job = in.Job.DeepCopy()

	matches := in.BuildErr == nil && childrenMatch(obs, in.Want)
	st.State = clusterState(old.State, *c, matches || in.HeldDrift, in.Wanted)
	if matches {
		st.ObservedGeneration = fc.Generation
	}
	setReadyCondition(&st, in.BuildErr, in.Now)
	setUpdatePendingCondition(&st, in.UpdateReason, in.UpdateMessage, in.Now)
	setStopCondition(&st, in.Job, in.Now)
	setNameConflictCondition(&st, obs.Foreign, in.Now)
	setLatestStateCondition(&st, fc.Spec.Job, in.Job, in.Want, in.Now)
	setHAPermittedCondition(&st, fc, obs.HAAccess, in.Now)
	setJobHealthyCondition(&st, in.Job, in.Health, in.Now)
	setRolledBackCondition(&st, fc.Spec.Job, in.Job, in.Now)
	setFlinkVersionCondition(&st, fc, in.Now)
	switch {
	case in.ServiceRedirected != "":
		setCondition(&st.Conditions, metav1.Condition{Type: ConditionJobManagerReachable, Status: metav1.ConditionFalse,
			Reason: "ServiceRedirected", ObservedGeneration: st.ObservedGeneration,
			Message: in.ServiceRedirected + "; the operator makes no REST call through it and puts it back"}, in.Now)
	case in.ForeignEndpoints != "":
		setCondition(&st.Conditions, metav1.Condition{Type: ConditionJobManagerReachable, Status: metav1.ConditionFalse,
			Reason: ReasonForeignEndpoints, ObservedGeneration: st.ObservedGeneration,
			Message: ForeignEndpointsMessage(in.ForeignEndpoints)}, in.Now)
	case obs.RESTTLSError != "":
		setCondition(&st.Conditions, metav1.Condition{Type: ConditionJobManagerReachable, Status: metav1.ConditionFalse,
			Reason: ReasonRESTTLSUnavailable, ObservedGeneration: st.ObservedGeneration,
			Message: obs.RESTTLSError + "; the operator makes no REST call until it can verify the JobManager"}, in.Now)
	case in.FlinkPolled:
		setReachableCondition(&st, in.FlinkReachable, in.JobManagerURL, in.Now)
	default:
		// A session cluster is not polled: nothing else replaces the condition once its Secret
		// can be used.
		if c := meta.FindStatusCondition(st.Conditions, ConditionJobManagerReachable); c != nil && c.Reason == ReasonRESTTLSUnavailable {
			meta.RemoveStatusCondition(&st.Conditions, ConditionJobManagerReachable)
		}
	}
	if !equality.Semantic.DeepEqual(withoutTime(old), withoutTime(st)) {
		t := metav1.NewTime(in.Now)
		st.LastUpdateTime = &t
	}
	return st
}

// JobManagerReady: the JobManager is ready and its Service exists.
func JobManagerReady(obs *snapshot.Snapshot) bool {
	return jobManagerState(obs) == v1beta1.ComponentStateReady && obs.JobManagerService != nil
}

// ClusterReady reports whether the cluster is up for a job to be submitted: the JobManager and
// TaskManagers are ready and the JobManager's Service exists. In application mode the JobManager
// comes with the attempt it runs, so only the TaskManagers and the Service are waited for.
func ClusterReady(obs *snapshot.Snapshot) bool {
	jm := applicationMode(obs) || jobManagerState(obs) == v1beta1.ComponentStateReady
	return jm && deploymentState(obs.TaskManagerDeployment) == v1beta1.ComponentStateReady && obs.JobManagerService != nil
}

func applicationMode(obs *snapshot.Snapshot) bool {
	return obs.Cluster.Spec.Job.ApplicationMode()
}

// jobManagerExists: the JobManager's Deployment exists, or in application mode its attempt's Job.
func jobManagerExists(obs *snapshot.Snapshot) bool {
	if applicationMode(obs) {
		return obs.Submitter != nil
	}
	return obs.JobManagerDeployment != nil
}

// jobManagerState is the JobManager Deployment's state, or in application mode that of the Job
// that runs the current attempt: Ready while its pod is ready and the Job neither ended nor is
// being deleted.
func jobManagerState(obs *snapshot.Snapshot) v1beta1.ComponentState {
	if !applicationMode(obs) {
		return deploymentState(obs.JobManagerDeployment)
	}
	j := obs.Submitter
	if j == nil || j.DeletionTimestamp != nil || j.Status.Ready == nil || *j.Status.Ready < 1 {
		return v1beta1.ComponentStateNotReady
	}
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return v1beta1.ComponentStateNotReady
		}
	}
	return v1beta1.ComponentStateReady
}

// wantedState is Deleted for a component the cluster no longer wants once it is gone, and
// NotReady while it is being deleted.
func wantedState(wanted, exists bool, state v1beta1.ComponentState) v1beta1.ComponentState {
	switch {
	case wanted:
		return state
	case exists:
		return v1beta1.ComponentStateNotReady
	}
	return v1beta1.ComponentStateDeleted
}

// clusterState: Creating until the cluster has been Running once; then Running while every
// component is ready and matches the spec, Updating while a spec change rolls out, Reconciling
// while a component recovers. After a job's cleanup: Stopping while children are deleted, then
// Stopped (everything deleted) or PartiallyStopped (TaskManagers deleted).
func clusterState(previous v1beta1.ClusterState, c v1beta1.FlinkClusterComponentsStatus, upToDate bool, wanted desired.Components) v1beta1.ClusterState {
	if !wanted.JobManager || !wanted.TaskManager {
		return stoppedState(c, wanted)
	}
	ready := c.JobManagerDeployment.State == v1beta1.ComponentStateReady &&
		c.JobManagerService.State == v1beta1.ComponentStateReady &&
		c.TaskManagerDeployment.State == v1beta1.ComponentStateReady &&
		(c.JobManagerIngress == nil || c.JobManagerIngress.State == v1beta1.ComponentStateReady)
	switch {
	case ready && upToDate:
		return v1beta1.ClusterStateRunning
	case previous == "" || previous == v1beta1.ClusterStateCreating:
		return v1beta1.ClusterStateCreating
	case !upToDate:
		return v1beta1.ClusterStateUpdating
	default:
		return v1beta1.ClusterStateReconciling
	}
}

func stoppedState(c v1beta1.FlinkClusterComponentsStatus, wanted desired.Components) v1beta1.ClusterState {
	deleted := func(s v1beta1.ComponentState) bool { return s == v1beta1.ComponentStateDeleted }
	tmGone := wanted.TaskManager || deleted(c.TaskManagerDeployment.State)
	jmGone := wanted.JobManager || (deleted(c.JobManagerDeployment.State) && deleted(c.JobManagerService.State) &&
		(c.JobManagerIngress == nil || deleted(c.JobManagerIngress.State)))
	switch {
	case !tmGone || !jmGone:
		return v1beta1.ClusterStateStopping
	case !wanted.JobManager:
		return v1beta1.ClusterStateStopped
	}
	return v1beta1.ClusterStatePartiallyStopped
}

// deploymentState: Ready when the Deployment's controller has seen its latest spec and every
// desired replica is updated and available.
func deploymentState(d *appsv1.Deployment) v1beta1.ComponentState {
	if d == nil {
		return v1beta1.ComponentStateNotReady
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	if s.ObservedGeneration >= d.Generation && s.UpdatedReplicas >= want && s.AvailableReplicas >= want && s.Replicas == want {
		return v1beta1.ComponentStateReady
	}
	return v1beta1.ComponentStateNotReady
}

func presence(exists bool) v1beta1.ComponentState {
	if exists {
		return v1beta1.ComponentStateReady
	}
	return v1beta1.ComponentStateNotReady
}

// dashboardURL is the dashboard's URL while the JobManager Service exists; the operator's
// template says where (--dashboard-url-template).
func dashboardURL(obs *snapshot.Snapshot) string {
	if obs.JobManagerService == nil {
		return ""
	}
	return obs.DashboardURL
}

// uiNodePort is the node port of the JobManager Service's ui port (accessScope NodePort), 0
// while none is allocated or the Service has no node ports.
func uiNodePort(svc *corev1.Service) int32 {
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeNodePort {
		return 0
	}
	for _, p := range svc.Spec.Ports {
		if p.Name == "ui" {
			return p.NodePort
		}
	}
	return 0
}

func ingressStatus(obs *snapshot.Snapshot, wanted bool) *v1beta1.IngressStatus {
	if obs.Cluster.Spec.JobManager.Ingress == nil {
		return nil
	}
	exists := obs.JobManagerIngress != nil
	st := &v1beta1.IngressStatus{
		Name:  names.JobManagerIngress(obs.Cluster.Name),
		State: wantedState(wanted, exists, presence(exists)),
	}
	if wanted {
		st.URLs = desired.IngressURLs(obs.Cluster)
	}
	return st
}

func taskManagerStatus(obs *snapshot.Snapshot, wanted bool) v1beta1.TaskManagerStatus {
	fc := obs.Cluster
	st := v1beta1.TaskManagerStatus{
		Name:     names.TaskManagerDeployment(fc.Name),
		State:    wantedState(wanted, obs.TaskManagerDeployment != nil, deploymentState(obs.TaskManagerDeployment)),
		Selector: metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: names.SelectorLabels(fc.Name, names.ComponentTaskManager)}),
	}
	if d := obs.TaskManagerDeployment; d != nil {
		st.Replicas = d.Status.ReadyReplicas
	}
	return st
}

// ChildrenMatch reports whether every child exists with the current spec's hash.
func ChildrenMatch(obs *snapshot.Snapshot, want *desired.Cluster) bool {
	return childrenMatch(obs, want)
}

// childrenMatch reports whether every child exists and has not drifted (and the TaskManagers have
// the desired replicas), and no Ingress is left that the spec no longer wants.
func childrenMatch(obs *snapshot.Snapshot, want *desired.Cluster) bool {
	if want == nil {
		return false
	}
	if d := obs.TaskManagerDeployment; d != nil && *d.Spec.Replicas != *want.TaskManagerDeployment.Spec.Replicas {
		return false
	}
	exist := obs.ConfigMap != nil && (obs.JobManagerDeployment != nil) == (want.JobManagerDeployment != nil) &&
		obs.JobManagerService != nil && obs.TaskManagerDeployment != nil &&
		(obs.JobManagerIngress != nil) == (want.JobManagerIngress != nil)
	// These are never held back (they replace no pod), so they are not in Drifted.
	live := liveChildMatches(obs.NetworkPolicy != nil, obs.NetworkPolicy, want.NetworkPolicy != nil, want.NetworkPolicy) &&
		liveChildMatches(obs.PodDisruptionBudget != nil, obs.PodDisruptionBudget, want.PodDisruptionBudget != nil, want.PodDisruptionBudget) &&
		liveChildMatches(obs.TaskManagerAutoscaler != nil, obs.TaskManagerAutoscaler, want.TaskManagerAutoscaler != nil, want.TaskManagerAutoscaler)
	return exist && live && len(Drifted(obs, want)) == 0
}

// liveChildMatches reports whether an optional child that is applied at once exists exactly when
// it is wanted, built from the current spec. (A typed nil pointer inside an interface is not
// nil, hence the separate flags.)
func liveChildMatches(exists bool, live metav1.Object, wanted bool, want metav1.Object) bool {
	return exists == wanted && (!wanted || !desired.SpecDrifted(live, want))
}

// Drifted names the existing children that were built from another spec than want
// (desired.SpecDrifted); missing children and children the spec no longer wants are not drift.
func Drifted(obs *snapshot.Snapshot, want *desired.Cluster) []string {
	var out []string
	check := func(exists bool, live func() metav1.Object, want metav1.Object) {
		if exists && desired.SpecDrifted(live(), want) {
			out = append(out, want.GetName())
		}
	}
	// A typed nil pointer inside an interface is not nil, hence the separate flags.
	check(obs.ConfigMap != nil, func() metav1.Object { return obs.ConfigMap }, want.ConfigMap)
	if want.JobManagerDeployment != nil {
		check(obs.JobManagerDeployment != nil, func() metav1.Object { return obs.JobManagerDeployment }, want.JobManagerDeployment)
	}
	check(obs.JobManagerService != nil, func() metav1.Object { return obs.JobManagerService }, want.JobManagerService)
	check(obs.TaskManagerDeployment != nil, func() metav1.Object { return obs.TaskManagerDeployment }, want.TaskManagerDeployment)
	if want.JobManagerIngress != nil {
		check(obs.JobManagerIngress != nil, func() metav1.Object { return obs.JobManagerIngress }, want.JobManagerIngress)
	}
	return out
}

func setReadyCondition(st *v1beta1.FlinkClusterStatus, buildErr error, now time.Time) {
	cond := metav1.Condition{Type: ConditionReady, ObservedGeneration: st.ObservedGeneration}
	switch {
	case buildErr != nil:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ReasonInvalidSpec, buildErr.Error()
	case st.State == v1beta1.ClusterStateRunning:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "Running", "every component is ready"
	default:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, string(st.State), "waiting for components to become ready"
	}
	setCondition(&st.Conditions, cond, now)
}

// setCondition sets cond, keeping lastTransitionTime when the status did not change so that a
// repeated sync writes nothing.
func setCondition(conds *[]metav1.Condition, cond metav1.Condition, now time.Time) {
	if existing := meta.FindStatusCondition(*conds, cond.Type); existing != nil && existing.Status == cond.Status {
		cond.LastTransitionTime = existing.LastTransitionTime
	} else {
		cond.LastTransitionTime = metav1.NewTime(now)
	}
	meta.SetStatusCondition(conds, cond)
}

func setUpdatePendingCondition(st *v1beta1.FlinkClusterStatus, reason, message string, now time.Time) {
	if reason == "" {
		meta.RemoveStatusCondition(&st.Conditions, ConditionUpdatePending)
		return
	}
	setCondition(&st.Conditions, metav1.Condition{Type: ConditionUpdatePending, Status: metav1.ConditionTrue, Reason: reason,
		ObservedGeneration: st.ObservedGeneration, Message: message}, now)
}

func setStopCondition(st *v1beta1.FlinkClusterStatus, job *v1beta1.JobStatus, now time.Time) {
	cond := metav1.Condition{Type: ConditionStopUnconfirmed, Status: metav1.ConditionTrue, ObservedGeneration: st.ObservedGeneration}
	switch {
	case job != nil && fsm.StopOverdue(*job):
		cond.Reason, cond.Message = "Overdue", job.Savepoint.Message
	case job != nil && fsm.UpdateStopUnconfirmed(*job):
		cond.Reason, cond.Message = "SavepointNotFound", job.Message
	default:
		meta.RemoveStatusCondition(&st.Conditions, ConditionStopUnconfirmed)
		return
	}
	setCondition(&st.Conditions, cond, now)
}

func setLatestStateCondition(st *v1beta1.FlinkClusterStatus, spec *v1beta1.JobSpec, job *v1beta1.JobStatus, want *desired.Cluster, now time.Time) {
	if !spec.UsesLatestState() || job == nil || job.ID == "" {
		meta.RemoveStatusCondition(&st.Conditions, ConditionLatestStateAvailable)
		return
	}
	var retention desired.CheckpointRetention
	if want != nil {
		retention = want.Checkpoints
	}
	reason, message := latestState(spec, *job, retention)
	cond := metav1.Condition{Type: ConditionLatestStateAvailable, Status: metav1.ConditionFalse, Reason: reason,
		ObservedGeneration: st.ObservedGeneration, Message: message}
	if reason == "Retained" {
		cond.Status = metav1.ConditionTrue
	}
	setCondition(&st.Conditions, cond, now)
}

// setFlinkVersionCondition flags a Flink older than the operator supports. The manifest stays
// valid (it is data, and the original operator's manifests name older images): the operator
// manages the cluster as for the oldest supported version, which such an image may not follow.
func setFlinkVersionCondition(st *v1beta1.FlinkClusterStatus, fc *v1beta1.FlinkCluster, now time.Time) {
	version, supported := desired.FlinkVersionSupported(fc)
	if supported {
		meta.RemoveStatusCondition(&st.Conditions, ConditionFlinkVersionSupported)
		return
	}
	setCondition(&st.Conditions, metav1.Condition{Type: ConditionFlinkVersionSupported, Status: metav1.ConditionFalse,
		Reason: "UnsupportedFlinkVersion", ObservedGeneration: st.ObservedGeneration,
		Message: fmt.Sprintf("Flink %s is older than %s, the oldest version this operator is tested with; "+
			"savepoints, job IDs and restores may not work as documented: move the image to Flink %s or newer "+
			"(an update through a savepoint; docs/compatibility.md, Flink versions)",
			version, desired.OldestSupportedFlink, desired.OldestSupportedFlink)}, now)
}

// setJobHealthyCondition reports the verdict on a job that has one.
func setJobHealthyCondition(st *v1beta1.FlinkClusterStatus, job *v1beta1.JobStatus, v health.Verdict, now time.Time) {
	if job == nil || !v.Known {
		meta.RemoveStatusCondition(&st.Conditions, ConditionJobHealthy)
		return
	}
	cond := metav1.Condition{Type: ConditionJobHealthy, Status: metav1.ConditionFalse, Reason: v.Reason,
		ObservedGeneration: st.ObservedGeneration, Message: v.Message}
	if v.Healthy {
		cond.Status = metav1.ConditionTrue
	}
	setCondition(&st.Conditions, cond, now)
}

// setRolledBackCondition reports spec.job.rollback's record.
func setRolledBackCondition(st *v1beta1.FlinkClusterStatus, spec *v1beta1.JobSpec, job *v1beta1.JobStatus, now time.Time) {
	if spec == nil || spec.Rollback == nil || job == nil {
		meta.RemoveStatusCondition(&st.Conditions, ConditionRolledBack)
		return
	}
	cond := metav1.Condition{Type: ConditionRolledBack, Status: metav1.ConditionFalse, Reason: "NotRolledBack",
		ObservedGeneration: st.ObservedGeneration,
		Message:            "no revision has run well yet (a completed checkpoint): an update cannot be rolled back before one has"}
	r := job.Rollback
	switch {
	case r != nil && r.State != "":
		cond.Status, cond.Reason = metav1.ConditionTrue, r.Reason
		cond.Message = fmt.Sprintf("%s; revision %s runs instead (%s), and revision %s is not tried again until the spec changes", r.Message, r.StableRevision, r.State, r.FailedRevision)
	case r != nil && r.StableRevision != "":
		cond.Message = "revision " + r.StableRevision + " ran well last: a failed update rolls back to it"
	}
	setCondition(&st.Conditions, cond, now)
}

// latestState says whether the job's latest checkpoint is there for its latest-state policies;
// retention is how the cluster's configuration retains checkpoints.
func latestState(spec *v1beta1.JobSpec, job v1beta1.JobStatus, retention desired.CheckpointRetention) (reason, message string) {
	cancels := spec.EffectiveUpgradeMode() == v1beta1.UpgradeModeLastState ||
		(spec.UpgradeFallback != nil && *spec.UpgradeFallback == v1beta1.UpgradeFallbackLastState)
	rec := job.LatestCheckpoint
	short := ""
	if job.CheckpointInterval != nil {
		short = retention.Covers(job.CheckpointInterval.Duration)
	}
	switch r := job.CheckpointRetention; {
	case r == "":
		return "ConfigurationNotRead", "the job's checkpoint configuration is read once Flink runs it"
	case r == v1beta1.CheckpointRetentionCheckpointingDisabled:
		return "CheckpointingDisabled", "the job takes no checkpoints: enable checkpointing in its code or set execution.checkpointing.interval in spec.flinkProperties; until then it resumes from savepoints"
	case r == v1beta1.CheckpointRetentionNotRetained:
		return "NotRetained", "the job's checkpoint configuration deletes its checkpoints when it ends (its code sets the externalized-checkpoint retention); it resumes from savepoints"
	case r == v1beta1.CheckpointRetentionDeleteOnCancellation && cancels:
		return "DeletedOnCancellation", "the job's checkpoint configuration deletes its checkpoints when it is cancelled (its code sets DELETE_ON_CANCELLATION): a LastState update cannot keep them"
	case rec == nil || rec.JobID != job.ID || rec.Location == "" || rec.Discarded:
		return "NoCheckpointYet", "the job has not completed a checkpoint the operator recorded yet"
	case short != "":
		return "TooFewRetained", short
	}
	return "Retained", fmt.Sprintf("checkpoint %d at %s is retained and recorded", rec.ID, rec.Location)
}

func setNameConflictCondition(st *v1beta1.FlinkClusterStatus, foreign []string, now time.Time) {
	if len(foreign) == 0 {
		meta.RemoveStatusCondition(&st.Conditions, ConditionNameConflict)
		return
	}
	setCondition(&st.Conditions, metav1.Condition{Type: ConditionNameConflict, Status: metav1.ConditionTrue,
		Reason: ReasonNotControlled, ObservedGeneration: st.ObservedGeneration, Message: NameConflictMessage(foreign)}, now)
}

// ForeignEndpointsMessage is the JobManagerReachable condition's message for foreign endpoints.
func ForeignEndpointsMessage(foreign string) string {
	return foreign + "; the operator makes no REST call through the Service until it is removed"
}

// NameConflictMessage is the NameConflict condition's message for the foreign children.
func NameConflictMessage(foreign []string) string {
	return strings.Join(foreign, ", ") + " exist but are not controlled by this FlinkCluster; the operator leaves them alone: rename or delete them"
}

func setReachableCondition(st *v1beta1.FlinkClusterStatus, reachable bool, rawURL string, now time.Time) {
	url := names.RedactedURL(rawURL)
	cond := metav1.Condition{Type: ConditionJobManagerReachable, Status: metav1.ConditionTrue, Reason: "Answering",
		ObservedGeneration: st.ObservedGeneration, Message: "the JobManager REST API at " + url + " answers"}
	if !reachable {
		cond.Status, cond.Reason = metav1.ConditionFalse, "Unreachable"
		cond.Message = "the JobManager REST API at " + url + " does not answer; the job keeps its last known state " +
			"and is polled again (since lastTransitionTime)"
	}
	setCondition(&st.Conditions, cond, now)
}

func withoutTime(st v1beta1.FlinkClusterStatus) v1beta1.FlinkClusterStatus {
	st.LastUpdateTime = nil
	return st
}

// SubmitterPhase reads the submitter Job of the job ID jobID: a Job of another attempt counts as
// none. reason explains a failure.
func SubmitterPhase(job *batchv1.Job, jobID string) (phase fsm.SubmitterPhase, reason string) {
	if job == nil || jobID == "" || job.Annotations[desired.JobIDAnnotation] != jobID {
		return fsm.SubmitterNone, ""
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return fsm.SubmitterSucceeded, ""
		case batchv1.JobFailed:
			return fsm.SubmitterFailedP, c.Reason + ": " + c.Message
		}
	}
	return fsm.SubmitterActive, ""
}

// setHAPermittedCondition reports what the API server said about the pods' ServiceAccount; with
// no answer this sync (it is asked at most once a minute) the condition stays as it was.
func setHAPermittedCondition(st *v1beta1.FlinkClusterStatus, fc *v1beta1.FlinkCluster, access snapshot.HAAccess, now time.Time) {
	if !fc.Spec.HighAvailabilityEnabled() {
		meta.RemoveStatusCondition(&st.Conditions, ConditionHighAvailabilityPermitted)
		return
	}
	if !access.Checked {
		return
	}
	cond := metav1.Condition{Type: ConditionHighAvailabilityPermitted, Status: metav1.ConditionTrue, Reason: "Granted",
		ObservedGeneration: st.ObservedGeneration,
		Message:            fmt.Sprintf("ServiceAccount %s may do what Flink's HA services do on ConfigMaps", access.ServiceAccount)}
	switch {
	case access.Error != "":
		cond.Status, cond.Reason = metav1.ConditionUnknown, "CheckFailed"
		cond.Message = "could not ask the API server about ServiceAccount " + access.ServiceAccount + ": " + access.Error
	case len(access.Missing) > 0:
		cond.Status, cond.Reason = metav1.ConditionFalse, "MissingPermissions"
		cond.Message = fmt.Sprintf("ServiceAccount %s/%s may not %s ConfigMaps, which Flink's high-availability services need: "+
			"the JobManagers cannot elect a leader or keep the jobs' metadata. Bind it to a Role like "+
			"deploy/samples/ha/flink-ha-role.yaml (and name it in spec.serviceAccountName)",
			fc.Namespace, access.ServiceAccount, strings.Join(access.Missing, ", "))
	}
	setCondition(&st.Conditions, cond, now)
}
