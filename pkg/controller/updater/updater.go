// Package updater makes every write of a sync: it creates the children that are missing, updates
// those whose spec hash drifted, deletes those the spec no longer wants, writes status when it
// changed, and records an event for each.
package updater

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned"
)

// Event reasons.
const (
	ReasonCreated      = "Created"
	ReasonUpdated      = "Updated"
	ReasonDeleted      = "Deleted"
	ReasonWriteFailed  = "WriteFailed"
	ReasonNameConflict = "NameConflict"
	ReasonInvalidSpec  = "InvalidSpec"
)

// Updater performs the writes.
type Updater struct {
	kube      kubernetes.Interface
	flink     versioned.Interface
	flinkREST FlinkWriter
	recorder  record.EventRecorder
}

// New returns an updater.
func New(kube kubernetes.Interface, flink versioned.Interface, flinkREST FlinkWriter, recorder record.EventRecorder) *Updater {
	return &Updater{kube: kube, flink: flink, flinkREST: flinkREST, recorder: recorder}
}

// ApplyOptions shape one ApplyChildren.
type ApplyOptions struct {
	// Want says which components should exist; the others are deleted (cleanup after a job).
	Want desired.Components
	// HoldDrift leaves existing children whose spec changed alone (a running job must not have
	// its pods replaced under it); missing children are still created and replicas still scaled.
	HoldDrift bool
}

// ApplyChildren brings the children to want. The ConfigMap goes first, so that pods never start
// before their configuration exists; the other children are independent objects, so their writes
// run concurrently and a sync that creates a cluster waits for two round trips to the API server
// instead of five. Failed writes are returned together, and the key is retried with backoff.
func (u *Updater) ApplyChildren(ctx context.Context, obs *observer.Observed, want *desired.Cluster, opts ApplyOptions) error {
	fc, ns := obs.Cluster, obs.Cluster.Namespace
	deployments := u.kube.AppsV1().Deployments(ns)
	services := u.kube.CoreV1().Services(ns)
	ingresses := u.kube.NetworkingV1().Ingresses(ns)
	a := applier{u: u, fc: fc, hold: opts.HoldDrift}
	steps := []func() error{
		func() error {
			configMaps := u.kube.CoreV1().ConfigMaps(ns)
			if !opts.Want.JobManager && !opts.Want.TaskManager {
				return u.remove(ctx, fc, "ConfigMap", obs.ConfigMap, configMaps.Delete)
			}
			return apply(ctx, a, "ConfigMap", configMaps, obs.ConfigMap, want.ConfigMap, mergeConfigMap, nil)
		},
		func() error {
			if !opts.Want.JobManager {
				return u.remove(ctx, fc, "Deployment", obs.JobManagerDeployment, deployments.Delete)
			}
			return apply(ctx, a, "Deployment", deployments, obs.JobManagerDeployment, want.JobManagerDeployment, mergeDeployment, scaleDeployment(deployments))
		},
		func() error {
			if !opts.Want.JobManager {
				return u.remove(ctx, fc, "Service", obs.JobManagerService, services.Delete)
			}
			return apply(ctx, a, "Service", services, obs.JobManagerService, want.JobManagerService, mergeService, nil)
		},
		func() error {
			if !opts.Want.TaskManager {
				return u.remove(ctx, fc, "Deployment", obs.TaskManagerDeployment, deployments.Delete)
			}
			return apply(ctx, a, "Deployment", deployments, obs.TaskManagerDeployment, want.TaskManagerDeployment, mergeDeployment, scaleDeployment(deployments))
		},
		func() error {
			if want.JobManagerIngress == nil || !opts.Want.JobManager {
				return u.remove(ctx, fc, "Ingress", obs.JobManagerIngress, ingresses.Delete)
			}
			return apply(ctx, a, "Ingress", ingresses, obs.JobManagerIngress, want.JobManagerIngress, mergeIngress, nil)
		},
	}
	if err := steps[0](); err != nil {
		return err
	}
	return concurrently(steps[1:])
}

// concurrently runs independent steps at once and joins their errors.
func concurrently(steps []func() error) error {
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Go(func() { errs[i] = step() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// remove deletes a child the spec or the job's cleanup policy no longer wants.
func (u *Updater) remove(ctx context.Context, fc *v1beta1.FlinkCluster, kind string, live metav1.Object, del func(context.Context, string, metav1.DeleteOptions) error) error {
	if isNil(live) || live.GetDeletionTimestamp() != nil {
		return nil
	}
	name := live.GetName()
	policy := metav1.DeletePropagationBackground
	if err := del(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil && !apierrors.IsNotFound(err) {
		return u.failed(fc, "delete", kind, name, err)
	}
	metrics.APIWrite(kind, "delete")
	klog.FromContext(ctx).V(2).Info("Deleted child", "kind", kind, "name", name)
	u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonDeleted, "Deleted %s %s", kind, name)
	return nil
}

// typedClient is the part of a client-go typed client the updater uses.
type typedClient[T metav1.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

type applier struct {
	u    *Updater
	fc   *v1beta1.FlinkCluster
	hold bool
}

// scaler sets live's replicas to want's when they differ, and says whether it wrote.
type scaler[T metav1.Object] func(ctx context.Context, live, want T) (bool, error)

// apply creates want when live is nil, updates live with want (through merge) when their spec
// hashes differ, or only scales it (through scale, when given) when replicas alone differ. A
// child is never compared field by field with the server's copy, whose defaults always differ.
func apply[T metav1.Object](ctx context.Context, a applier, kind string, c typedClient[T], live, want T, merge func(live, want T) T, scale scaler[T]) error {
	u, fc, name := a.u, a.fc, want.GetName()
	logger := klog.FromContext(ctx)
	if isNil(live) {
		if _, err := c.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			if apierrors.IsAlreadyExists(err) {
				u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonNameConflict,
					"%s %s exists but is not managed by this FlinkCluster; rename or delete it", kind, name)
			}
			return u.failed(fc, "create", kind, name, err)
		}
		metrics.APIWrite(kind, "create")
		logger.V(2).Info("Created child", "kind", kind, "name", name)
		u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonCreated, "Created %s %s", kind, name)
		return nil
	}
	drifted := live.GetAnnotations()[desired.SpecHashAnnotation] != want.GetAnnotations()[desired.SpecHashAnnotation]
	if drifted && !a.hold {
		if _, err := c.Update(ctx, merge(live, want), metav1.UpdateOptions{}); err != nil {
			return u.failed(fc, "update", kind, name, err)
		}
		metrics.APIWrite(kind, "update")
		logger.V(2).Info("Updated child", "kind", kind, "name", name)
		u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonUpdated, "Updated %s %s to the current spec", kind, name)
		return nil
	}
	if scale == nil {
		return nil
	}
	scaled, err := scale(ctx, live, want)
	if err != nil {
		return u.failed(fc, "scale", kind, name, err)
	}
	if scaled {
		metrics.APIWrite(kind, "scale")
		logger.V(2).Info("Scaled child", "kind", kind, "name", name)
		u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonUpdated, "Scaled %s %s", kind, name)
	}
	return nil
}

// failed records a write failure; conflicts are normal (a stale cache) and retried quietly.
func (u *Updater) failed(fc *v1beta1.FlinkCluster, verb, kind, name string, err error) error {
	if !apierrors.IsConflict(err) {
		u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonWriteFailed, "Failed to %s %s %s: %v", verb, kind, name, err)
	}
	return fmt.Errorf("%s %s %s: %w", verb, kind, name, err)
}

// WriteStatus writes st when it differs from the cluster's status. The write carries the
// resourceVersion the sync observed: a conflict means the sync decided on a stale copy, so it
// fails (and is retried on fresh data) instead of overwriting newer status, which could undo a
// recorded job ID or savepoint trigger.
func (u *Updater) WriteStatus(ctx context.Context, fc *v1beta1.FlinkCluster, st v1beta1.FlinkClusterStatus) error {
	_, err := u.writeStatus(ctx, fc, st)
	return err
}

// writeStatus writes st and returns the FlinkCluster as stored (fc itself when nothing changed).
func (u *Updater) writeStatus(ctx context.Context, fc *v1beta1.FlinkCluster, st v1beta1.FlinkClusterStatus) (*v1beta1.FlinkCluster, error) {
	if equality.Semantic.DeepEqual(fc.Status, st) {
		return fc, nil
	}
	updated := fc.DeepCopy()
	updated.Status = st
	metrics.APIWrite("FlinkCluster", "update_status")
	stored, err := u.flink.FlinkoperatorV1beta1().FlinkClusters(fc.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return fc, nil
	}
	if err != nil {
		return nil, fmt.Errorf("writing status: %w", err)
	}
	return stored, nil
}

// ReleaseFinalizer records the final status and then removes the finalizer, on the object the
// status write returned, so the two writes cannot conflict with each other.
func (u *Updater) ReleaseFinalizer(ctx context.Context, fc *v1beta1.FlinkCluster, st v1beta1.FlinkClusterStatus, finalizer string) error {
	stored, err := u.writeStatus(ctx, fc, st)
	if err != nil {
		return err
	}
	return u.RemoveFinalizer(ctx, stored, finalizer)
}

// InvalidSpec reports a spec the builders cannot turn into objects.
func (u *Updater) InvalidSpec(fc *v1beta1.FlinkCluster, err error) {
	u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonInvalidSpec, "%v", err)
}

// ForeignChildren reports children names taken by objects this FlinkCluster does not control.
func (u *Updater) ForeignChildren(fc *v1beta1.FlinkCluster, foreign []string) {
	for _, name := range foreign {
		u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonNameConflict,
			"%s exists but is not controlled by this FlinkCluster; the operator leaves it alone", name)
	}
}

// AddFinalizer adds a finalizer to the FlinkCluster (a conflict fails the sync, which reruns).
func (u *Updater) AddFinalizer(ctx context.Context, fc *v1beta1.FlinkCluster, finalizer string) error {
	updated := fc.DeepCopy()
	updated.Finalizers = append(updated.Finalizers, finalizer)
	metrics.APIWrite("FlinkCluster", "update")
	if _, err := u.flink.FlinkoperatorV1beta1().FlinkClusters(fc.Namespace).Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("adding finalizer %s: %w", finalizer, err)
	}
	return nil
}

// RemoveFinalizer removes a finalizer, letting the deletion proceed.
func (u *Updater) RemoveFinalizer(ctx context.Context, fc *v1beta1.FlinkCluster, finalizer string) error {
	updated := fc.DeepCopy()
	updated.Finalizers = nil
	for _, f := range fc.Finalizers {
		if f != finalizer {
			updated.Finalizers = append(updated.Finalizers, f)
		}
	}
	metrics.APIWrite("FlinkCluster", "update")
	_, err := u.flink.FlinkoperatorV1beta1().FlinkClusters(fc.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer %s: %w", finalizer, err)
	}
	u.recorder.Eventf(fc, corev1.EventTypeNormal, "DeletionProceeds", "Removed finalizer %s", finalizer)
	return nil
}

// FinalSavepointOutcome reports how the final savepoint of a deletion ended.
func (u *Updater) FinalSavepointOutcome(fc *v1beta1.FlinkCluster, sp v1beta1.SavepointOperation) {
	if sp.State == v1beta1.SavepointStateSucceeded {
		u.recorder.Eventf(fc, corev1.EventTypeNormal, "FinalSavepoint", "Final savepoint written to %s", sp.Location)
		return
	}
	u.recorder.Eventf(fc, corev1.EventTypeWarning, "FinalSavepoint", "No final savepoint (%s): %s", sp.State, sp.Message)
}
