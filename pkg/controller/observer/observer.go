// Package observer reads, and only reads, what one sync needs: the FlinkCluster and its children
// from the informer caches. Nothing here writes.
package observer

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	fclisters "github.com/flink-operator/flink-operator/pkg/generated/listers/flinkoperator/v1beta1"
)

// Listers are the caches the observer reads.
type Listers struct {
	FlinkClusters fclisters.FlinkClusterLister
	Deployments   appslisters.DeploymentLister
	Services      corelisters.ServiceLister
	Ingresses     networkinglisters.IngressLister
	ConfigMaps    corelisters.ConfigMapLister
	Jobs          batchlisters.JobLister
}

// Observed is one consistent-enough snapshot for a sync. Cluster is a deep copy the sync may
// change; the children are the caches' objects and must not be modified. A child is nil when it
// does not exist or is not controlled by this FlinkCluster (see Foreign).
type Observed struct {
	Cluster               *v1beta1.FlinkCluster
	ConfigMap             *corev1.ConfigMap
	JobManagerDeployment  *appsv1.Deployment
	JobManagerService     *corev1.Service
	JobManagerIngress     *networkingv1.Ingress
	TaskManagerDeployment *appsv1.Deployment
	Submitter             *batchv1.Job
	// Foreign names children whose names are taken by objects this FlinkCluster does not
	// control: the operator never touches them and reports the conflict.
	Foreign []string
}

// Observer builds Observed snapshots.
type Observer struct {
	listers Listers
}

// New returns an observer over the listers.
func New(listers Listers) *Observer { return &Observer{listers: listers} }

// Observe reads the FlinkCluster namespace/name and its children. Observed.Cluster is nil when the
// FlinkCluster no longer exists.
func (o *Observer) Observe(namespace, name string) (*Observed, error) {
	fc, err := o.listers.FlinkClusters.FlinkClusters(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return &Observed{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading FlinkCluster: %w", err)
	}
	obs := &Observed{Cluster: fc.DeepCopy()}
	obs.ConfigMap = child(obs, names.ConfigMap(name), o.listers.ConfigMaps.ConfigMaps(namespace).Get)
	obs.JobManagerDeployment = child(obs, names.JobManagerDeployment(name), o.listers.Deployments.Deployments(namespace).Get)
	obs.JobManagerService = child(obs, names.JobManagerService(name), o.listers.Services.Services(namespace).Get)
	obs.JobManagerIngress = child(obs, names.JobManagerIngress(name), o.listers.Ingresses.Ingresses(namespace).Get)
	obs.TaskManagerDeployment = child(obs, names.TaskManagerDeployment(name), o.listers.Deployments.Deployments(namespace).Get)
	obs.Submitter = child(obs, names.Submitter(name), o.listers.Jobs.Jobs(namespace).Get)
	return obs, nil
}

// child returns the named object when this FlinkCluster controls it. A lister error other than
// not-found cannot happen with a cache, so it reads as absent.
func child[T metav1.Object](obs *Observed, name string, get func(string) (T, error)) T {
	var none T
	obj, err := get(name)
	if err != nil {
		return none
	}
	if ref := metav1.GetControllerOf(obj); ref == nil || ref.UID != obs.Cluster.UID {
		obs.Foreign = append(obs.Foreign, name)
		return none
	}
	return obj
}
