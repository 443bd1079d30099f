package decide

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

// eventWorthy: every change of the job's state gets an event for `kubectl describe`, except
// self-transitions (a poll that changed only the status's details) and the start of a savepoint
// (its end gets one). Event recorders let one object emit only a burst of events before they drop
// them, and that noise once crowded out a deletion's final-savepoint event in the e2e tests.
func eventWorthy(t *fsm.Transition) bool {
	return t != nil && t.From != t.To && !(t.From == fsm.Running && t.To == fsm.Savepointing)
}

// wantedComponents applies the cleanup policy the job's state calls for. A suspended job keeps
// its JobManager: the resume is faster, its REST API still answers (the checkpoint history, the
// disposal of savepoints), and with HA the stopped job has left nothing for a new leader to
// recover.
func wantedComponents(spec v1beta1.JobSpec, job v1beta1.JobStatus) desired.Components {
	if job.State == fsm.Suspended {
		return desired.Components{JobManager: true}
	}
	switch fsm.Cleanup(spec, job) {
	case v1beta1.CleanupActionDeleteCluster:
		return desired.Components{}
	case v1beta1.CleanupActionDeleteTaskManager:
		return desired.Components{JobManager: true}
	}
	return desired.AllComponents
}

// heldDrift reports whether an existing child differs from the spec (changes held back while
// the job runs).
func heldDrift(snap *snapshot.Snapshot, want *desired.Cluster) bool {
	return len(state.Drifted(snap, want)) > 0
}

// reported says whether status already carries the condition with this reason and message. A
// problem status reports gets its event when it appears or changes, not on every sync, since
// every event is an API write.
func reported(fc *v1beta1.FlinkCluster, condType, reason, message string) bool {
	c := meta.FindStatusCondition(fc.Status.Conditions, condType)
	return c != nil && c.Reason == reason && c.Message == message
}

// newBuildErr is buildErr unless status already reports it (condition Ready, reason InvalidSpec).
func newBuildErr(fc *v1beta1.FlinkCluster, buildErr error) error {
	if buildErr == nil || reported(fc, state.ConditionReady, state.ReasonInvalidSpec, buildErr.Error()) {
		return nil
	}
	return buildErr
}

// env is what the builders need to know about where the operator runs.
func env(snap *snapshot.Snapshot, settings fsm.Settings) desired.Env {
	return desired.Env{OperatorNamespace: snap.OperatorNamespace, CheckpointRecordInterval: settings.CheckpointRecordInterval,
		JarFetcherImage: snap.JarFetcherImage}
}

// newForeign is foreign unless status already reports exactly these names (condition
// NameConflict): a name conflict gets one event when it appears or changes, not one per sync.
func newForeign(fc *v1beta1.FlinkCluster, foreign []string) []string {
	if len(foreign) == 0 || reported(fc, state.ConditionNameConflict, state.ReasonNotControlled, state.NameConflictMessage(foreign)) {
		return nil
	}
	return foreign
}

// newForeignEndpoints is foreign unless status already reports it (condition
// JobManagerReachable, reason ForeignEndpoints).
func newForeignEndpoints(fc *v1beta1.FlinkCluster, foreign string) string {
	if foreign == "" || reported(fc, state.ConditionJobManagerReachable, state.ReasonForeignEndpoints, state.ForeignEndpointsMessage(foreign)) {
		return ""
	}
	return foreign
}

// missingFinalizers are the finalizers fc needs and lacks: a job cluster with savepointsDir keeps
// its deletion until the final savepoint, a cluster with high availability until its HA
// ConfigMaps are deleted (the finalizer stays when HA is turned off later: ConfigMaps may be left).
func missingFinalizers(fc *v1beta1.FlinkCluster) []string {
	var add []string
	if job := fc.Spec.Job; job != nil && job.SavepointsDir != nil && *job.SavepointsDir != "" && !hasFinalizer(fc, FinalSavepointFinalizer) {
		add = append(add, FinalSavepointFinalizer)
	}
	if fc.Spec.HighAvailabilityEnabled() && !hasFinalizer(fc, HACleanupFinalizer) {
		add = append(add, HACleanupFinalizer)
	}
	return add
}

func hasFinalizer(fc *v1beta1.FlinkCluster, finalizer string) bool {
	for _, f := range fc.Finalizers {
		if f == finalizer {
			return true
		}
	}
	return false
}

// pendingUpdate explains a spec change that has not rolled out to the running job; revision is
// the current spec's job revision, invalid says the current spec cannot be built, lastState says
// why a LastState update cannot start ("" when it can).
func pendingUpdate(fc *v1beta1.FlinkCluster, job v1beta1.JobStatus, revision string, held, invalid bool, lastState string) (reason, message string) {
	spec := fc.Spec.Job
	switch {
	case (job.State == fsm.Updating || job.State == fsm.Deploying) && job.RestoreTarget != "":
		return "Restoring", "restarting the job from spec.job.fromSavepoint " + job.RestoreTarget + " (restoreGeneration): " +
			"the running job is stopped first (with a savepoint where an update would take one), then resubmitted from it"
	case job.State == fsm.Deploying && job.TargetRevision == "" && job.UpdateMode != "":
		// A resume: the suspension recorded how it stopped the job, and no revision to roll out.
		return "Resuming", "resuming the suspended job: the cluster is rebuilt on the current spec, then the job is resubmitted from what the suspension left"
	case job.State == fsm.Updating || job.State == fsm.Deploying:
		return "Updating", updatingMessage(job.UpdateMode)
	case spec.Suspended() && job.State == fsm.Running:
		return suspendPending(spec, lastState)
	case FromSavepointNotApplied(spec, job):
		return ReasonFromSavepointNotApplied, fmt.Sprintf("spec.job.fromSavepoint (%s) changed after the first submission and is not read again by itself: "+
			"to restart the job from it, set spec.job.restoreGeneration to %d", *spec.FromSavepoint, job.RestoreGeneration+1)
	case !held:
		return "", ""
	case invalid:
		return "InvalidSpec", "the new spec cannot be built (condition Ready says why); the job keeps running on the spec it " +
			"was submitted with and nothing is stopped until the spec is fixed"
	case job.Revision == revision && fc.Generation == fc.Status.ObservedGeneration:
		// The children matched this very spec once, so only the builders can have changed.
		return "OperatorUpgrade", "this operator builds some children differently than the one that created them; " +
			"they are updated when the job next stops (restart, update or cancel), never under a running job"
	case job.Revision == revision:
		return "HeldUntilJobStops", "the spec changed only in fields that do not restart the job (such as " +
			"spec.job.savepointsDir, which new savepoints use at once), or this operator builds some children differently; " +
			"the children are updated when the job next stops (restart, update or cancel), never under a running job"
	case spec.EffectiveUpgradeMode() == v1beta1.UpgradeModeLastState && lastState != "" && (spec.SavepointsDir == nil || !strings.HasPrefix(lastState, fsm.VersionChangeBlocker)):
		return "LastStateUnavailable", "the spec changed while the job runs; upgradeMode LastState cannot stop it yet: " + lastState +
			"; the job keeps running and the update starts once this is resolved"
	case spec.SavepointsDir == nil && spec.EffectiveUpgradeMode() == v1beta1.UpgradeModeSavepoint:
		return "SavepointsDirRequired", "the spec changed while the job runs; the update needs a savepoint but " +
			"spec.job.savepointsDir is not set: set it, or set spec.job.takeSavepointOnUpdate to false to restart without state"
	}
	return "WaitingForJob", "the spec changed while the job runs; the update starts when the job is Running and no savepoint is in flight"
}

// ReasonFromSavepointNotApplied is the UpdatePending reason (and event) of an edit of
// spec.job.fromSavepoint that no restore request goes with.
const ReasonFromSavepointNotApplied = "FromSavepointNotApplied"

// FromSavepointNotApplied: spec.job.fromSavepoint differs from the value the operator last acted
// on, and no restore request goes with it. Attempts of an operator that did not record that
// value say nothing.
func FromSavepointNotApplied(spec *v1beta1.JobSpec, job v1beta1.JobStatus) bool {
	if job.AppliedFromSavepoint == nil || job.Attempt == 0 || spec.RestoreGeneration > job.RestoreGeneration {
		return false
	}
	return spec.FromSavepoint != nil && *spec.FromSavepoint != *job.AppliedFromSavepoint
}

// suspendPending explains a suspension that has not started: the job is Running and
// spec.job.state is Suspended.
func suspendPending(spec *v1beta1.JobSpec, lastState string) (reason, message string) {
	if spec.EffectiveUpgradeMode() == v1beta1.UpgradeModeLastState && lastState != "" {
		return "SuspendWaiting", "spec.job.state is Suspended; upgradeMode LastState cannot stop the job yet: " + lastState +
			"; the job keeps running and is suspended once this is resolved"
	}
	return "SuspendWaiting", "spec.job.state is Suspended; the job is stopped when Flink reports it RUNNING and no savepoint is in flight " +
		"(a failed suspension savepoint is tried again after 30 s)"
}

// updatingMessage describes an update in progress by how it stops the job.
func updatingMessage(mode v1beta1.UpgradeMode) string {
	switch mode {
	case v1beta1.UpgradeModeLastState:
		return "rolling out the new spec: cancel, rebuild, resubmit from the latest checkpoint"
	case v1beta1.UpgradeModeStateless:
		return "rolling out the new spec: cancel, rebuild, resubmit without new state"
	}
	return "rolling out the new spec: stop with a savepoint, rebuild, resubmit from the savepoint"
}

// decideDeletion steps the job's state machine for a FlinkCluster being deleted (it takes the
// final savepoint of a running job) and releases the finalizer once that is done, has failed, was
// skipped, or its time ran out: a deletion never hangs.
func decideDeletion(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) Plan {
	fc := snap.Cluster
	switch {
	case fc.Spec.Job != nil && hasFinalizer(fc, FinalSavepointFinalizer):
		return decideFinalSavepoint(snap, settings, now)
	case hasFinalizer(fc, HACleanupFinalizer):
		return decideHACleanup(snap, settings, now)
	}
	return Plan{}
}

// decideFinalSavepoint is the first part of a job cluster's deletion.
func decideFinalSavepoint(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) Plan {
	fc := snap.Cluster
	in := JobInput(snap, nil, settings, now)
	d := fsm.Step(in)
	job := d.Status
	st := *fc.Status.DeepCopy()
	st.Components.Job = &job
	deadline := deletionDeadline(fc, settings)
	if finalSavepointDone(fc, job, d, deadline, now, in) {
		p := Plan{ReleaseFinalizer: FinalSavepointFinalizer, Status: &st}
		if job.Savepoint != nil && job.Savepoint.Reason == v1beta1.SavepointReasonDelete {
			p.FinalSavepoint = job.Savepoint.DeepCopy()
		}
		return p
	}
	p := Plan{Status: &st, StatusFirst: true, Job: &d, TransitionEvent: eventWorthy(d.Transition),
		Notices: fsm.Notices(in.Status, job), RequeueAfter: d.RequeueAfter}
	if left := deadline.Sub(now); p.RequeueAfter == 0 || left < p.RequeueAfter {
		p.RequeueAfter = max(left, time.Second)
	}
	return p
}

// withStatus is in with the job status a step decided.
func withStatus(in fsm.Input, st v1beta1.JobStatus) fsm.Input {
	in.Status = st
	return in
}

// finalSavepointDone: nothing (more) to wait for before the FlinkCluster may go.
func finalSavepointDone(fc *v1beta1.FlinkCluster, job v1beta1.JobStatus, d fsm.Decision, deadline, now time.Time, in fsm.Input) bool {
	switch {
	case !now.Before(deadline):
		return true
	case fc.Spec.Job.ApplicationMode() && in.Submitter != fsm.SubmitterActive:
		// The application's JobManager is gone (a namespace's deletion removes it beside the
		// FlinkCluster) and nothing creates one during a deletion: no savepoint can be taken.
		return true
	case fc.Annotations[SkipFinalSavepointAnnotation] == "true" && job.State != fsm.Deleting:
		return true
	case job.State == fsm.Deleting:
		// A failed final savepoint of a job that still runs is tried again until the deadline.
		return !fsm.SavepointInFlight(job) && !fsm.FinalSavepointRetryPossible(withStatus(in, job))
	case job.State == fsm.Running:
		// Waits while a final savepoint can still be taken (Flink not RUNNING yet, say).
		return d.Transition == nil && fc.Spec.Job.SavepointsDir == nil
	}
	// Savepointing, Cancelling, Updating finish their operation first; every other state has no
	// running job to save.
	return !fsm.Active(job)
}

// deletionDeadline bounds the wait for the final savepoint.
func deletionDeadline(fc *v1beta1.FlinkCluster, settings fsm.Settings) time.Time {
	return fc.DeletionTimestamp.Add(settings.SavepointTimeout + time.Minute)
}
