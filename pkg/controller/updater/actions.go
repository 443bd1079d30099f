package updater

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// FlinkWriter is the part of the Flink REST client the updater uses: the job's side effects.
type FlinkWriter interface {
	TriggerSavepoint(ctx context.Context, jm, jobID string, req flinkclient.SavepointRequest) (string, error)
	StopWithSavepoint(ctx context.Context, jm, jobID string, req flinkclient.StopRequest) (string, error)
	CancelJob(ctx context.Context, jm, jobID string) error
	ShutDownCluster(ctx context.Context, jm string) error
	DisposeSavepoint(ctx context.Context, jm, savepointPath string) (string, error)
}

// Event reasons of the job's lifecycle.
const (
	ReasonJobTransition = "JobStateChanged"
	ReasonActionFailed  = "ActionFailed"
)

// Execute runs the state machine's actions, after the status that records them was written. Each
// is safe to repeat: the job ID and trigger ID it uses were chosen and recorded beforehand.
func (u *Updater) Execute(ctx context.Context, obs *snapshot.Snapshot, jm string, actions []fsm.Action) error {
	for _, a := range actions {
		if err := u.execute(ctx, obs, jm, a); err != nil {
			u.recorder.Eventf(obs.Cluster, corev1.EventTypeWarning, ReasonActionFailed, "%s failed (will retry): %v", a.Kind, err)
			return fmt.Errorf("%s: %w", a.Kind, err)
		}
		klog.FromContext(ctx).V(2).Info("Executed job action", "action", a.Kind, "jobID", a.JobID, "triggerID", a.TriggerID)
	}
	return nil
}

func (u *Updater) execute(ctx context.Context, obs *snapshot.Snapshot, jm string, a fsm.Action) error {
	switch a.Kind {
	case fsm.ActCreateSubmitter:
		return u.createSubmitter(ctx, obs, a)
	case fsm.ActTriggerSavepoint:
		_, err := u.flinkREST.TriggerSavepoint(ctx, jm, a.JobID, flinkclient.SavepointRequest{
			TargetDirectory: a.TargetDir, TriggerID: a.TriggerID, FormatType: flinkclient.SavepointFormat(a.Format)})
		return err
	case fsm.ActStopWithSavepoint:
		_, err := u.flinkREST.StopWithSavepoint(ctx, jm, a.JobID, flinkclient.StopRequest{
			TargetDirectory: a.TargetDir, TriggerID: a.TriggerID, FormatType: flinkclient.SavepointFormat(a.Format)})
		return err
	case fsm.ActCancelJob:
		return u.flinkREST.CancelJob(ctx, jm, a.JobID)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// DisposeSavepoint asks the JobManager to dispose of a savepoint (spec.job.savepointRetention)
// and returns Flink's trigger ID for the disposal.
func (u *Updater) DisposeSavepoint(ctx context.Context, fc *v1beta1.FlinkCluster, jm, location string) (string, error) {
	trigger, err := u.flinkREST.DisposeSavepoint(ctx, jm, location)
	if err != nil {
		u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonActionFailed, "disposal of savepoint %s failed (will retry): %v", location, err)
		return "", fmt.Errorf("disposing of savepoint %s: %w", location, err)
	}
	klog.FromContext(ctx).V(2).Info("Triggered savepoint disposal", "location", location, "triggerID", trigger)
	return trigger, nil
}

// createSubmitter replaces a submitter of an older attempt (its Job name is fixed) and creates the
// one for a.JobID. A submitter for the same job ID that already exists is kept: Flink would reject
// its submission as a duplicate anyway.
func (u *Updater) createSubmitter(ctx context.Context, obs *snapshot.Snapshot, a fsm.Action) error {
	jobs := u.kube.BatchV1().Jobs(obs.Cluster.Namespace)
	if old := obs.Submitter; old != nil {
		if old.Annotations[desired.JobIDAnnotation] == a.JobID {
			return nil
		}
		// An application's JobManager goes in the foreground: its name is free only once its
		// pod is gone, so two JobManagers never serve the Service side by side.
		policy := metav1.DeletePropagationBackground
		if obs.Cluster.Spec.Job.ApplicationMode() {
			policy = metav1.DeletePropagationForeground
		}
		if old.DeletionTimestamp != nil {
			return nil
		}
		metrics.APIWrite("Job", "delete")
		err := jobs.Delete(ctx, old.Name, metav1.DeleteOptions{PropagationPolicy: &policy,
			Preconditions: &metav1.Preconditions{UID: &old.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		// The name is free only once the old Job is gone; its deletion event brings the sync
		// that creates the new one.
		return nil
	}
	if desired.RemoteJar(obs.Cluster.Spec.Job) && obs.JarFetcherImage == "" {
		// A restart is decided on the status alone; the spec is InvalidSpec (condition Ready
		// says why), and a Job whose init container has no image would only fail its pods.
		return fmt.Errorf("not creating the attempt's Job: spec.job.jarFile is fetched over HTTP(S) and this operator runs without --jar-fetcher-image")
	}
	job := labelForShard(desired.Submitter(obs.Cluster, desired.SubmitterInput{JobID: a.JobID, FromSavepoint: a.FromSavepoint, JarFetcherImage: obs.JarFetcherImage}), obs.Cluster)
	metrics.APIWrite("Job", "create")
	// An existing Job is not relabelled for this shard here: status names every submitter before
	// it is created (write-ahead), so a shard that takes a cluster over relabels it first.
	if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if u.SubmitterCreated != nil {
		u.SubmitterCreated(obs.Cluster, a.JobID)
	}
	what := "submitter"
	if obs.Cluster.Spec.Job.ApplicationMode() {
		what = "JobManager"
	}
	u.recorder.Eventf(obs.Cluster, corev1.EventTypeNormal, ReasonCreated, "Created %s %s for job %s%s", what, job.Name, a.JobID, fromText(a.FromSavepoint))
	return nil
}

func fromText(savepoint string) string {
	if savepoint == "" {
		return ""
	}
	return " from savepoint " + savepoint
}

// Transition records the state machine's transition as an event on the FlinkCluster.
func (u *Updater) Transition(fc *v1beta1.FlinkCluster, message string, st v1beta1.JobStatus) {
	kind := corev1.EventTypeNormal
	if st.State == fsm.Failed || st.State == fsm.Lost {
		kind = corev1.EventTypeWarning
	}
	if st.Message != "" {
		message += ": " + st.Message
	}
	u.recorder.Event(fc, kind, ReasonJobTransition, message)
}

// Notice records an event for something a step did to a savepoint (fsm.Notices).
func (u *Updater) Notice(fc *v1beta1.FlinkCluster, n fsm.Notice) {
	kind := corev1.EventTypeNormal
	if n.Warning {
		kind = corev1.EventTypeWarning
	}
	u.recorder.Event(fc, kind, n.Reason, n.Message)
}
