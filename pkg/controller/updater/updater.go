// Package updater makes every write of a sync: it creates the children that are missing, updates
// those whose spec hash drifted, deletes those the spec no longer wants, writes status when it
// changed, and records an event for each.
package updater

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/clients"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// Event reasons.
const (
	ReasonCreated      = "Created"
	ReasonUpdated      = "Updated"
	ReasonDeleted      = "Deleted"
	ReasonWriteFailed  = "WriteFailed"
	ReasonNameConflict = "NameConflict"
	ReasonInvalidSpec  = "InvalidSpec"
	// ReasonServiceRedirected: the JobManager Service was changed to send traffic elsewhere.
	ReasonServiceRedirected = "ServiceRedirected"
	// ReasonForeignEndpoints: hand-made EndpointSlices add endpoints to the JobManager Service.
	ReasonForeignEndpoints = "ForeignEndpoints"
)

// Updater performs the writes.
type Updater struct {
	kube      clients.Kube
	flink     clients.Flink
	flinkREST FlinkWriter
	recorder  record.EventRecorder
	// children relabels the children a shard takes over (nil: never).
	children dynamic.Interface
	// SubmitterCreated, when set, hears of every submitter Job the updater created, by the
	// FlinkCluster and job ID (the observer remembers it until its cache shows it).
	SubmitterCreated func(fc *v1beta1.FlinkCluster, jobID string)
}

// New returns an updater.
func New(kube clients.Kube, flink clients.Flink, flinkREST FlinkWriter, recorder record.EventRecorder) *Updater {
	return &Updater{kube: kube, flink: flink, flinkREST: flinkREST, recorder: recorder}
}

// ApplyOptions shape one ApplyChildren.
type ApplyOptions struct {
	// Want says which components should exist; the others are deleted (cleanup after a job).
	Want desired.Components
	// HoldDrift leaves existing children whose spec changed alone (a running job must not have
	// its pods replaced under it); missing children are still created and replicas still scaled.
	HoldDrift bool
	// RepairService says how the JobManager Service was redirected ("" when it was not): it is
	// then updated to the desired Service even while drift is held, since a Service change
	// replaces no pod.
	RepairService string
}

// ApplyChildren brings the children to want. It first decides, without I/O, which writes are
// needed; an idle cluster needs none and costs nothing more. The ConfigMap goes first, so that
// pods never start before their configuration exists; the other children are independent
// objects, so their writes run concurrently and a sync that creates a cluster waits for two
// round trips to the API server instead of five. Failed writes are returned together, and the
// key is retried with backoff.
func (u *Updater) ApplyChildren(ctx context.Context, obs *snapshot.Snapshot, want *desired.Cluster, opts ApplyOptions) error {
	ns := obs.Cluster.Namespace
	configMaps := u.kube.CoreV1().ConfigMaps(ns)
	deployments := u.kube.AppsV1().Deployments(ns)
	services := u.kube.CoreV1().Services(ns)
	ingresses := u.kube.NetworkingV1().Ingresses(ns)
	policies := u.kube.NetworkingV1().NetworkPolicies(ns)
	budgets := u.kube.PolicyV1().PodDisruptionBudgets(ns)
	autoscalers := u.kube.AutoscalingV2().HorizontalPodAutoscalers(ns)
	live := applier{u: u, fc: obs.Cluster}
	a := applier{u: u, fc: obs.Cluster, hold: opts.HoldDrift}
	jm, tm := opts.Want.JobManager, opts.Want.TaskManager
	configMap := pick(jm || tm,
		func() write {
			return plan(a, "ConfigMap", configMaps, obs.ConfigMap, want.ConfigMap, mergeConfigMap, nil)
		},
		func() write {
			return a.remove("ConfigMap", obs.ConfigMap, configMaps.Delete, metav1.DeletePropagationBackground)
		})
	if err := run(ctx, configMap); err != nil {
		return err
	}
	return run(ctx,
		a.applicationJobManager(obs, jm),
		pick(jm && want.JobManagerDeployment != nil,
			func() write {
				return plan(a, "Deployment", deployments, obs.JobManagerDeployment, want.JobManagerDeployment, mergeDeployment, scaleDeployment(deployments))
			},
			// In the foreground: the Deployment is gone only once its pods are, which the
			// removal of HA ConfigMaps waits for (decide.HACleanup).
			func() write {
				return a.remove("Deployment", obs.JobManagerDeployment, deployments.Delete, metav1.DeletePropagationForeground)
			}),
		pick(jm,
			func() write {
				if opts.RepairService != "" {
					u.recorder.Eventf(obs.Cluster, corev1.EventTypeWarning, ReasonServiceRedirected,
						"%s; no Flink REST call goes through it, and it is put back", opts.RepairService)
					return plan(applier{u: u, fc: obs.Cluster, force: true}, "Service", services, obs.JobManagerService, want.JobManagerService, mergeService, nil)
				}
				return plan(a, "Service", services, obs.JobManagerService, want.JobManagerService, mergeService, nil)
			},
			func() write {
				return a.remove("Service", obs.JobManagerService, services.Delete, metav1.DeletePropagationBackground)
			}),
		pick(tm,
			func() write {
				return plan(a, "Deployment", deployments, obs.TaskManagerDeployment, want.TaskManagerDeployment, mergeDeployment, scaleDeployment(deployments))
			},
			func() write {
				return a.remove("Deployment", obs.TaskManagerDeployment, deployments.Delete, metav1.DeletePropagationBackground)
			}),
		pick(jm && want.JobManagerIngress != nil,
			func() write {
				return plan(a, "Ingress", ingresses, obs.JobManagerIngress, want.JobManagerIngress, mergeIngress, nil)
			},
			func() write {
				return a.remove("Ingress", obs.JobManagerIngress, ingresses.Delete, metav1.DeletePropagationBackground)
			}),
		// Never held (live, not a): these replace no pod, and a security setting must not
		// wait for the job's next stop.
		pick(want.NetworkPolicy != nil,
			func() write {
				return plan(live, "NetworkPolicy", policies, obs.NetworkPolicy, want.NetworkPolicy, mergeNetworkPolicy, nil)
			},
			func() write {
				return a.remove("NetworkPolicy", obs.NetworkPolicy, policies.Delete, metav1.DeletePropagationBackground)
			}),
		pick((jm || tm) && want.PodDisruptionBudget != nil,
			func() write {
				return plan(live, "PodDisruptionBudget", budgets, obs.PodDisruptionBudget, want.PodDisruptionBudget, mergeDisruptionBudget, nil)
			},
			func() write {
				return a.remove("PodDisruptionBudget", obs.PodDisruptionBudget, budgets.Delete, metav1.DeletePropagationBackground)
			}),
		// The autoscaler goes with the TaskManagers, whose replicas it sets.
		pick(tm && want.TaskManagerAutoscaler != nil,
			func() write {
				return plan(live, "HorizontalPodAutoscaler", autoscalers, obs.TaskManagerAutoscaler, want.TaskManagerAutoscaler, mergeAutoscaler, nil)
			},
			func() write {
				return a.remove("HorizontalPodAutoscaler", obs.TaskManagerAutoscaler, autoscalers.Delete, metav1.DeletePropagationBackground)
			}),
	)
}

// applicationJobManager deletes an application's JobManager (the Job of its latest attempt) when
// the cleanup policy removes the JobManager side; the state machine creates it, and replaces it
// for a new attempt. In the foreground, like a session JobManager: gone only once its pod is.
func (a applier) applicationJobManager(obs *snapshot.Snapshot, wanted bool) write {
	if wanted || !obs.Cluster.Spec.Job.ApplicationMode() {
		return nil
	}
	return a.remove("Job", obs.Submitter, a.u.kube.BatchV1().Jobs(obs.Cluster.Namespace).Delete, metav1.DeletePropagationForeground)
}

// write is one API write a sync decided on; nil stands for nothing to write.
type write func(ctx context.Context) error

// pick plans the child's apply when it is wanted and its removal when not.
func pick(wanted bool, apply, remove func() write) write {
	if wanted {
		return apply()
	}
	return remove()
}

// run performs the planned writes, concurrently when there are several, and joins their errors.
// Goroutines are started only for writes, so a sync that writes nothing starts none.
func run(ctx context.Context, planned ...write) error {
	var writes []write
	for _, w := range planned {
		if w != nil {
			writes = append(writes, w)
		}
	}
	if len(writes) == 1 {
		return writes[0](ctx)
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// typedClient is the part of a client-go typed client the updater uses.
type typedClient[T metav1.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
}

type applier struct {
	u    *Updater
	fc   *v1beta1.FlinkCluster
	hold bool
	// force updates the child even when its spec hash matches (a redirected Service that kept
	// the annotation).
	force bool
}

// alreadyExists tells a child that an earlier sync created, which the informer has not delivered
// yet (a sync started by that sync's own status write can run first), from another object that
// holds the name. The first is a stale cache: a conflict, retried quietly like any other. Only
// the second is the name conflict the user must resolve.
func alreadyExists[T metav1.Object](ctx context.Context, a applier, c typedClient[T], kind, name string, err error) error {
	live, getErr := c.Get(ctx, name, metav1.GetOptions{})
	switch {
	case getErr != nil || !metav1.IsControlledBy(live, a.fc):
		a.u.recorder.Eventf(a.fc, corev1.EventTypeWarning, ReasonNameConflict,
			"%s %s exists but is not managed by this FlinkCluster; rename or delete it", kind, name)
	case !names.ManagedSelector().Matches(labels.Set(live.GetLabels())):
		// Ours, but the informers select children by this label and will never deliver it: a
		// quiet retry would go on forever.
		a.u.recorder.Eventf(a.fc, corev1.EventTypeWarning, ReasonNameConflict,
			"%s %s belongs to this FlinkCluster but lost its label %s=%s, so the operator cannot see it; restore the label or delete the object",
			kind, name, names.LabelManagedBy, names.ManagedBy)
	case !labelledForShard(live, a.fc):
		// Created by a previous owner that stopped before it wrote status, so the hand-over
		// did not relabel it (shard.HasChildren): this shard's informers select by the label
		// and would never deliver it.
		if _, err := c.Update(ctx, labelForShard(live, a.fc), metav1.UpdateOptions{}); err != nil {
			return err
		}
		metrics.APIWrite(kind, "update")
		return apierrors.NewConflict(schema.GroupResource{Resource: kind}, name,
			errors.New("labelled for this shard; the cache has not caught up"))
	default:
		return apierrors.NewConflict(schema.GroupResource{Resource: kind}, name,
			errors.New("an earlier sync created it and the cache has not caught up"))
	}
	return err
}

// scaler plans setting live's replicas to want's; nil when they are equal.
type scaler[T metav1.Object] func(live, want T) func(ctx context.Context) error

// plan creates want when live is nil, updates live with want (through merge) when their spec
// spec drifted (desired.SpecDrifted), or only scales it (through scale, when given) when replicas
// alone differ.
func plan[T metav1.Object](a applier, kind string, c typedClient[T], live, want T, merge func(live, want T) T, scale scaler[T]) write {
	name := want.GetName()
	if isNil(live) {
		return a.recorded("create", kind, name, ReasonCreated, "Created %s %s", func(ctx context.Context) error {
			_, err := c.Create(ctx, labelForShard(withManagedAnnotations(want), a.fc), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return alreadyExists(ctx, a, c, kind, name, err)
			}
			return err
		})
	}
	if (desired.SpecDrifted(live, want) || a.force) && !a.hold {
		return a.recorded("update", kind, name, ReasonUpdated, "Updated %s %s to the current spec", func(ctx context.Context) error {
			_, err := c.Update(ctx, labelForShard(merge(live, want), a.fc), metav1.UpdateOptions{})
			return err
		})
	}
	if scale == nil {
		return nil
	}
	if do := scale(live, want); do != nil {
		return a.recorded("scale", kind, name, ReasonUpdated, "Scaled %s %s", do)
	}
	return nil
}

// remove plans deleting a child the spec or the job's cleanup policy no longer wants.
func (a applier) remove(kind string, live metav1.Object, del func(context.Context, string, metav1.DeleteOptions) error, policy metav1.DeletionPropagation) write {
	if isNil(live) || live.GetDeletionTimestamp() != nil {
		return nil
	}
	name := live.GetName()
	return a.recorded("delete", kind, name, ReasonDeleted, "Deleted %s %s", func(ctx context.Context) error {
		if err := del(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy}); !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	})
}

// recorded wraps a write so that its outcome is counted, logged and reported as an event.
func (a applier) recorded(verb, kind, name, reason, message string, do func(ctx context.Context) error) write {
	return func(ctx context.Context) error {
		if err := do(ctx); err != nil {
			return a.u.failed(a.fc, verb, kind, name, err)
		}
		metrics.APIWrite(kind, verb)
		klog.FromContext(ctx).V(2).Info("Wrote child", "verb", verb, "kind", kind, "name", name)
		a.u.recorder.Eventf(a.fc, corev1.EventTypeNormal, reason, message, kind, name)
		return nil
	}
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

// ReleaseFinalizer records the final status (when st is set) and then removes the finalizer, on
// the object the status write returned, so the two writes cannot conflict with each other.
func (u *Updater) ReleaseFinalizer(ctx context.Context, fc *v1beta1.FlinkCluster, st *v1beta1.FlinkClusterStatus, finalizer string) error {
	stored := fc
	if st != nil {
		var err error
		if stored, err = u.writeStatus(ctx, fc, *st); err != nil {
			return err
		}
	}
	return u.RemoveFinalizer(ctx, stored, finalizer)
}

// InvalidSpec reports a spec the builders cannot turn into objects.
func (u *Updater) InvalidSpec(fc *v1beta1.FlinkCluster, err error) {
	u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonInvalidSpec, "%v", err)
}

// ForeignEndpoints reports hand-made EndpointSlices of the JobManager Service.
func (u *Updater) ForeignEndpoints(fc *v1beta1.FlinkCluster, what string) {
	u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonForeignEndpoints,
		"%s; no Flink REST call goes through the Service until it is removed", what)
}

// ForeignChildren reports children names taken by objects this FlinkCluster does not control.
func (u *Updater) ForeignChildren(fc *v1beta1.FlinkCluster, foreign []string) {
	for _, name := range foreign {
		u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonNameConflict,
			"%s exists but is not controlled by this FlinkCluster; the operator leaves it alone", name)
	}
}

// AddFinalizers adds finalizers to the FlinkCluster (a conflict fails the sync, which reruns).
func (u *Updater) AddFinalizers(ctx context.Context, fc *v1beta1.FlinkCluster, finalizers ...string) error {
	if err := u.patchFinalizers(ctx, fc, append(append([]string{}, fc.Finalizers...), finalizers...)); err != nil {
		return fmt.Errorf("adding finalizers %v: %w", finalizers, err)
	}
	return nil
}

// RemoveFinalizer removes a finalizer, letting the deletion proceed.
func (u *Updater) RemoveFinalizer(ctx context.Context, fc *v1beta1.FlinkCluster, finalizer string) error {
	var kept []string
	for _, f := range fc.Finalizers {
		if f != finalizer {
			kept = append(kept, f)
		}
	}
	if err := u.patchFinalizers(ctx, fc, kept); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer %s: %w", finalizer, err)
	}
	u.recorder.Eventf(fc, corev1.EventTypeNormal, "DeletionProceeds", "Removed finalizer %s", finalizer)
	return nil
}

// patchFinalizers sets metadata.finalizers, and nothing else (patchMeta). Writing back the whole
// object instead could drop spec fields that this operator's types do not know (a newer CRD's).
func (u *Updater) patchFinalizers(ctx context.Context, fc *v1beta1.FlinkCluster, finalizers []string) error {
	return u.patchMeta(ctx, fc, map[string]interface{}{"finalizers": finalizers})
}

// patchMeta sets the given metadata fields of fc with a merge patch that carries the
// resourceVersion the sync observed, so a concurrent change conflicts instead of being
// overwritten, and the sync decides again on the new object.
func (u *Updater) patchMeta(ctx context.Context, fc *v1beta1.FlinkCluster, fields map[string]interface{}) error {
	meta := map[string]interface{}{"resourceVersion": fc.ResourceVersion}
	for k, v := range fields {
		meta[k] = v
	}
	patch, err := json.Marshal(map[string]interface{}{"metadata": meta})
	if err != nil {
		return err
	}
	metrics.APIWrite("FlinkCluster", "patch")
	_, err = u.flink.FlinkoperatorV1beta1().FlinkClusters(fc.Namespace).Patch(ctx, fc.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// FinalSavepointOutcome reports how the final savepoint of a deletion ended.
func (u *Updater) FinalSavepointOutcome(fc *v1beta1.FlinkCluster, sp v1beta1.SavepointOperation) {
	if sp.State == v1beta1.SavepointStateSucceeded {
		u.recorder.Eventf(fc, corev1.EventTypeNormal, "FinalSavepoint", "Final savepoint written to %s", sp.Location)
		return
	}
	u.recorder.Eventf(fc, corev1.EventTypeWarning, "FinalSavepoint", "No final savepoint (%s): %s", sp.State, sp.Message)
}
