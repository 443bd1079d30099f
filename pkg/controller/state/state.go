// Package state derives, purely, the status a FlinkCluster should have from what was observed
// and what is desired: each component's state, the cluster state and the conditions. The rules
// are written down in docs/state-derivation.md.
package state

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
)

// ConditionReady is True when every component is ready and matches the current spec.
const ConditionReady = "Ready"

// Derive returns the status for the observed cluster. want may be nil when the spec could not be
// built (buildErr says why). now stamps lastUpdateTime and condition transitions, and only when
// something else changed.
func Derive(obs *observer.Observed, want *desired.Cluster, buildErr error, now time.Time) v1beta1.FlinkClusterStatus {
	fc := obs.Cluster
	old := fc.Status
	st := *old.DeepCopy()
	st.Components.JobManagerDeployment = v1beta1.ComponentStatus{Name: names.JobManagerDeployment(fc.Name), State: deploymentState(obs.JobManagerDeployment)}
	st.Components.JobManagerService = v1beta1.ComponentStatus{Name: names.JobManagerService(fc.Name), State: presence(obs.JobManagerService != nil)}
	st.Components.JobManagerIngress = ingressStatus(obs, want)
	st.Components.TaskManagerDeployment = taskManagerStatus(obs)
	if fc.Spec.Job != nil && st.Components.Job == nil {
		st.Components.Job = &v1beta1.JobStatus{State: v1beta1.JobStatePending}
	}
	upToDate := buildErr == nil && childrenMatch(obs, want)
	st.State = clusterState(old.State, st.Components, upToDate)
	if upToDate {
		st.ObservedGeneration = fc.Generation
	}
	setReadyCondition(&st, buildErr, now)
	if !equality.Semantic.DeepEqual(withoutTime(old), withoutTime(st)) {
		t := metav1.NewTime(now)
		st.LastUpdateTime = &t
	}
	return st
}

// clusterState: Creating until the cluster has been Running once; then Running while every
// component is ready and matches the spec, Updating while a spec change rolls out, Reconciling
// while a component recovers.
func clusterState(previous v1beta1.ClusterState, c v1beta1.FlinkClusterComponentsStatus, upToDate bool) v1beta1.ClusterState {
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

func ingressStatus(obs *observer.Observed, want *desired.Cluster) *v1beta1.IngressStatus {
	if obs.Cluster.Spec.JobManager.Ingress == nil {
		return nil
	}
	return &v1beta1.IngressStatus{
		Name:  names.JobManagerIngress(obs.Cluster.Name),
		State: presence(obs.JobManagerIngress != nil),
		URLs:  desired.IngressURLs(obs.Cluster),
	}
}

func taskManagerStatus(obs *observer.Observed) v1beta1.TaskManagerStatus {
	fc := obs.Cluster
	st := v1beta1.TaskManagerStatus{
		Name:     names.TaskManagerDeployment(fc.Name),
		State:    deploymentState(obs.TaskManagerDeployment),
		Selector: metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: names.SelectorLabels(fc.Name, names.ComponentTaskManager)}),
	}
	if d := obs.TaskManagerDeployment; d != nil {
		st.Replicas = d.Status.ReadyReplicas
	}
	return st
}

// childrenMatch reports whether every child exists with the desired spec hash, and no Ingress
// is left that the spec no longer wants.
func childrenMatch(obs *observer.Observed, want *desired.Cluster) bool {
	if want == nil {
		return false
	}
	match := sameHash(obs.ConfigMap != nil, func() metav1.Object { return obs.ConfigMap }, want.ConfigMap) &&
		sameHash(obs.JobManagerDeployment != nil, func() metav1.Object { return obs.JobManagerDeployment }, want.JobManagerDeployment) &&
		sameHash(obs.JobManagerService != nil, func() metav1.Object { return obs.JobManagerService }, want.JobManagerService) &&
		sameHash(obs.TaskManagerDeployment != nil, func() metav1.Object { return obs.TaskManagerDeployment }, want.TaskManagerDeployment)
	if want.JobManagerIngress == nil {
		return match && obs.JobManagerIngress == nil
	}
	return match && sameHash(obs.JobManagerIngress != nil, func() metav1.Object { return obs.JobManagerIngress }, want.JobManagerIngress)
}

// sameHash compares spec hashes; live is read only when it exists (a typed nil pointer inside an
// interface is not nil, hence the separate flag).
func sameHash(exists bool, live func() metav1.Object, want metav1.Object) bool {
	return exists && live().GetAnnotations()[desired.SpecHashAnnotation] == want.GetAnnotations()[desired.SpecHashAnnotation]
}

func setReadyCondition(st *v1beta1.FlinkClusterStatus, buildErr error, now time.Time) {
	cond := metav1.Condition{Type: ConditionReady, ObservedGeneration: st.ObservedGeneration}
	switch {
	case buildErr != nil:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "InvalidSpec", buildErr.Error()
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

func withoutTime(st v1beta1.FlinkClusterStatus) v1beta1.FlinkClusterStatus {
	st.LastUpdateTime = nil
	return st
}
