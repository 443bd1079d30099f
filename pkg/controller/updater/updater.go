// Package updater makes every write of a sync: it creates the children that are missing, updates
// those whose spec hash drifted, deletes those the spec no longer wants, writes status when it
// changed, and records an event for each.
package updater

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
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
	kube     kubernetes.Interface
	flink    versioned.Interface
	recorder record.EventRecorder
}

// New returns an updater.
func New(kube kubernetes.Interface, flink versioned.Interface, recorder record.EventRecorder) *Updater {
	return &Updater{kube: kube, flink: flink, recorder: recorder}
}

// ApplyChildren brings the children to want. It stops at the first failed write and returns it,
// so the key is retried with backoff.
func (u *Updater) ApplyChildren(ctx context.Context, obs *observer.Observed, want *desired.Cluster) error {
	fc, ns := obs.Cluster, obs.Cluster.Namespace
	steps := []func() error{
		func() error {
			return apply(ctx, u, fc, "ConfigMap", u.kube.CoreV1().ConfigMaps(ns), obs.ConfigMap, want.ConfigMap, mergeConfigMap)
		},
		func() error {
			return apply(ctx, u, fc, "Deployment", u.kube.AppsV1().Deployments(ns), obs.JobManagerDeployment, want.JobManagerDeployment, mergeDeployment)
		},
		func() error {
			return apply(ctx, u, fc, "Service", u.kube.CoreV1().Services(ns), obs.JobManagerService, want.JobManagerService, mergeService)
		},
		func() error {
			return apply(ctx, u, fc, "Deployment", u.kube.AppsV1().Deployments(ns), obs.TaskManagerDeployment, want.TaskManagerDeployment, mergeDeployment)
		},
		func() error { return u.applyIngress(ctx, obs, want) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (u *Updater) applyIngress(ctx context.Context, obs *observer.Observed, want *desired.Cluster) error {
	ingresses := u.kube.NetworkingV1().Ingresses(obs.Cluster.Namespace)
	if want.JobManagerIngress != nil {
		return apply(ctx, u, obs.Cluster, "Ingress", ingresses, obs.JobManagerIngress, want.JobManagerIngress, mergeIngress)
	}
	if obs.JobManagerIngress == nil {
		return nil
	}
	name := obs.JobManagerIngress.Name
	if err := ingresses.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return u.failed(obs.Cluster, "delete", "Ingress", name, err)
	}
	u.recorder.Eventf(obs.Cluster, corev1.EventTypeNormal, ReasonDeleted, "Deleted Ingress %s: spec.jobManager.ingress was removed", name)
	return nil
}

// typedClient is the part of a client-go typed client the updater uses.
type typedClient[T metav1.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// apply creates want when live is nil, or updates live with want (through merge) when their
// spec hashes differ. A child is never compared field by field with the server's copy, whose
// defaults would always differ.
func apply[T metav1.Object](ctx context.Context, u *Updater, fc *v1beta1.FlinkCluster, kind string, c typedClient[T], live, want T, merge func(live, want T) T) error {
	logger := klog.FromContext(ctx)
	name := want.GetName()
	if isNil(live) {
		if _, err := c.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			if apierrors.IsAlreadyExists(err) {
				u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonNameConflict,
					"%s %s exists but is not managed by this FlinkCluster; rename or delete it", kind, name)
			}
			return u.failed(fc, "create", kind, name, err)
		}
		logger.V(2).Info("Created child", "kind", kind, "name", name)
		u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonCreated, "Created %s %s", kind, name)
		return nil
	}
	if live.GetAnnotations()[desired.SpecHashAnnotation] == want.GetAnnotations()[desired.SpecHashAnnotation] {
		return nil
	}
	if _, err := c.Update(ctx, merge(live, want), metav1.UpdateOptions{}); err != nil {
		return u.failed(fc, "update", kind, name, err)
	}
	logger.V(2).Info("Updated child", "kind", kind, "name", name)
	u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonUpdated, "Updated %s %s to the current spec", kind, name)
	return nil
}

// failed records a write failure; conflicts are normal (a stale cache) and retried quietly.
func (u *Updater) failed(fc *v1beta1.FlinkCluster, verb, kind, name string, err error) error {
	if !apierrors.IsConflict(err) {
		u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonWriteFailed, "Failed to %s %s %s: %v", verb, kind, name, err)
	}
	return fmt.Errorf("%s %s %s: %w", verb, kind, name, err)
}

// WriteStatus writes st when it differs from the cluster's status; a conflict re-reads the
// FlinkCluster and writes again, since status is derived and the newest object wins.
func (u *Updater) WriteStatus(ctx context.Context, fc *v1beta1.FlinkCluster, st v1beta1.FlinkClusterStatus) error {
	if equality.Semantic.DeepEqual(fc.Status, st) {
		return nil
	}
	clusters := u.flink.FlinkoperatorV1beta1().FlinkClusters(fc.Namespace)
	current := fc.DeepCopy()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current.Status = st
		_, err := clusters.UpdateStatus(ctx, current, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			fresh, getErr := clusters.Get(ctx, fc.Name, metav1.GetOptions{})
			if getErr != nil {
				return getErr
			}
			current = fresh
		}
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
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
