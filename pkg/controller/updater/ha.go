package updater

import (
	"context"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/decide"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// Event reasons of the removal of a cluster's high availability data.
const (
	ReasonHAShutdown          = "HAShutdownRequested"
	ReasonHAShutdownFailed    = "HAShutdownFailed"
	ReasonHAConfigMapsDeleted = "HAConfigMapsDeleted"
	ReasonHAPodsOutlived      = "HAJobManagersOutlivedDeadline"
)

// CleanUpHA carries out c (see decide.HACleanup) for fc, whose JobManagers jm runs (a
// Deployment, or an application's Job; nil when none is left).
func (u *Updater) CleanUpHA(ctx context.Context, fc *v1beta1.FlinkCluster, jm metav1.Object, c decide.HACleanup) error {
	if c.ShutDownFlink != "" {
		u.shutDownFlink(ctx, fc, c.ShutDownFlink)
	}
	if c.DeleteJobManager && jm != nil {
		if err := u.deleteJobManager(ctx, fc, jm); err != nil {
			return err
		}
	}
	if c.PodsMayRun {
		u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonHAPodsOutlived,
			"JobManager pods still exist past the deletion's deadline; the HA ConfigMaps are deleted anyway, and one "+
				"that a JobManager writes again must be deleted by hand: kubectl delete configmap -n %s -l %s",
			fc.Namespace, labels.SelectorFromSet(desired.HAConfigMapLabels(desired.HAClusterID(fc))).String())
	}
	return u.deleteHAConfigMaps(ctx, fc, c.ConfigMaps)
}

// shutDownFlink asks the JobManager for a clean shutdown, in which Flink deletes its blob store
// and leader ConfigMap. What Flink leaves in the storage directory (docs/operations.md) is the
// user's to remove; a JobManager that does not answer leaves the blob store too, which is
// reported with where it is. The deletion goes on either way.
func (u *Updater) shutDownFlink(ctx context.Context, fc *v1beta1.FlinkCluster, url string) {
	log := klog.FromContext(ctx)
	err := u.flinkREST.ShutDownCluster(ctx, url)
	where := desired.HAClusterID(fc)
	if dir := desired.HAStorageDir(fc); dir != "" {
		where = strings.TrimRight(dir, "/") + "/" + where
	}
	if err != nil {
		log.Info("The JobManager did not take the shutdown request", "err", err)
		u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonHAShutdownFailed,
			"Flink could not be asked to delete its HA blob store (%v): remove %s by hand", err, where)
		return
	}
	log.Info("Asked Flink to shut down and delete its HA blob store", "path", where)
	u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonHAShutdown,
		"Asked the JobManager to shut the cluster down, in which Flink deletes its HA blob store under %s; "+
			"the HA ConfigMaps are deleted once the JobManagers are gone", where)
}

// deleteJobManager deletes the JobManager Deployment (an application's JobManager Job) in the
// foreground: it stays, with a deletion timestamp, until its pods are gone.
func (u *Updater) deleteJobManager(ctx context.Context, fc *v1beta1.FlinkCluster, jm metav1.Object) error {
	policy := metav1.DeletePropagationForeground
	uid := jm.GetUID()
	opts := metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}}
	kind, del := "Deployment", u.kube.AppsV1().Deployments(fc.Namespace).Delete
	if _, ok := jm.(*batchv1.Job); ok {
		kind, del = "Job", u.kube.BatchV1().Jobs(fc.Namespace).Delete
	}
	if err := del(ctx, jm.GetName(), opts); err != nil && !apierrors.IsNotFound(err) {
		return u.failed(fc, "delete", kind, jm.GetName(), err)
	}
	metrics.APIWrite(kind, "delete")
	u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonDeleted, "Deleted %s %s (its pods first)", kind, jm.GetName())
	return nil
}

// deleteHAConfigMaps deletes the listed ConfigMaps, each only if it is still the object listed.
func (u *Updater) deleteHAConfigMaps(ctx context.Context, fc *v1beta1.FlinkCluster, cms []snapshot.HAConfigMap) error {
	if len(cms) == 0 {
		return nil
	}
	deleted := make([]string, 0, len(cms))
	for _, cm := range cms {
		uid := types.UID(cm.UID)
		err := u.kube.CoreV1().ConfigMaps(fc.Namespace).Delete(ctx, cm.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		switch {
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			// Gone already, or a namesake that is not the one listed.
		case err != nil:
			return u.failed(fc, "delete", "ConfigMap", cm.Name, err)
		default:
			metrics.APIWrite("ConfigMap", "delete")
			deleted = append(deleted, cm.Name)
		}
	}
	klog.FromContext(ctx).Info("Deleted the HA ConfigMaps", "configMaps", deleted)
	u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonHAConfigMapsDeleted, "Deleted %d HA ConfigMaps of cluster ID %s: %s",
		len(deleted), desired.HAClusterID(fc), strings.Join(deleted, ", "))
	return nil
}
