// Package observer reads, and only reads, what one sync needs: the FlinkCluster and its children
// from the informer caches, and the job from its JobManager's REST API, into one snapshot.
// Nothing here writes.
package observer

import (
	"context"
	"fmt"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sort"
	"strings"
	"time"

	corev1client "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
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
	// NetworkPolicies is nil when the operator does not watch them (tests of other children).
	NetworkPolicies networkinglisters.NetworkPolicyLister
	// PodDisruptionBudgets and Autoscalers are nil when the operator does not watch them.
	PodDisruptionBudgets policylisters.PodDisruptionBudgetLister
	Autoscalers          autoscalinglisters.HorizontalPodAutoscalerLister
	// EndpointSlices holds only slices that no Kubernetes controller manages (see
	// ForeignEndpointsSelector); nil when the operator does not watch them.
	EndpointSlices discoverylisters.EndpointSliceLister
}

// Observer builds one snapshot per sync: the caches, then the JobManager's REST API.
type Observer struct {
	listers Listers
	flink   FlinkReader
	urls    *names.JobManagerURLs
	// namespace is the operator's own namespace (snapshot.OperatorNamespace).
	namespace string
	// jarFetcherImage is snapshot.JarFetcherImage.
	jarFetcherImage string
	// dashboards builds snapshot.DashboardURL (nil: none).
	dashboards *names.JobManagerURLs
	// savepoints times the savepoints in flight on this process's own clock.
	savepoints savepointClock
	// historyReads remembers when each job's checkpoint history was last read.
	historyReads historyClock
	// disposals remembers the trigger IDs of the savepoint disposals this process started.
	disposals disposalTriggers
	// health keeps the samples of each job's metrics this process read.
	health healthSamples
	// submitters remembers the submitters this process created, until the cache shows them.
	submitters createdSubmitters
	// access checks the permissions of HA clusters' pods (nil: not checked).
	access *accessReviews
	// haConfigMaps lists HA ConfigMaps when a decision deletes them (nil: never listed).
	haConfigMaps corev1client.ConfigMapsGetter
	// pods lists a failed attempt's pods (nil: never listed); podFailures remembers them.
	pods        corev1client.PodsGetter
	podFailures podFailures
	// restTLS reads the Secrets of spec.jobManager.restTLS (nil: none are read); syncTLS is the
	// TLS each cluster's current sync observed with, for its writes (RESTContext).
	restTLS *restTLSSecrets
	syncTLS clusterTLS
	// shards reads what the shard gate needs beyond the caches (nil: nothing); sightings times
	// the other shards' Leases on this process's clock.
	shards    *ShardSources
	sightings leaseSightings
}

// New returns an observer over the listers and the JobManagers reached through flink at urls,
// for an operator running in namespace ("" outside the cluster).
func New(listers Listers, flink FlinkReader, urls *names.JobManagerURLs, namespace string) *Observer {
	return &Observer{listers: listers, flink: flink, urls: urls, namespace: namespace}
}

// WithJarFetcherImage names the image that fetches http(s) jarFiles in every snapshot.
func (o *Observer) WithJarFetcherImage(image string) *Observer {
	o.jarFetcherImage = image
	return o
}

// WithDashboardURLs builds the Flink dashboard's URL of every snapshot from urls (nil: none).
func (o *Observer) WithDashboardURLs(urls *names.JobManagerURLs) *Observer {
	o.dashboards = urls
	return o
}

// Forget drops what the observer remembers of a cluster: it was deleted, or another shard acts on
// it now (and may hand it back later, when none of this is true any more).
func (o *Observer) Forget(namespace, name string, now time.Time) {
	key := namespace + "/" + name
	o.savepoints.seenAt(key, "", now)
	o.historyReads.forget(key)
	o.disposals.forget(key)
	o.health.forget(key)
	o.submitters.forget(key)
	o.podFailures.forget(key)
	o.syncTLS.set(key, nil)
}

// Observe reads the FlinkCluster namespace/name and its children and, for a job cluster, asks its
// JobManager about the job, the savepoint in flight and (when needsCheckpoints says the decision
// needs it) the job's checkpoint history. Snapshot.Cluster is nil when the FlinkCluster no longer
// exists. now is the sync's time, for the savepoint clock.
func (o *Observer) Observe(ctx context.Context, namespace, name string, now time.Time, needs func(*snapshot.Snapshot) snapshot.Reads) (*snapshot.Snapshot, error) {
	key := namespace + "/" + name
	fc, err := o.listers.FlinkClusters.FlinkClusters(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		o.Forget(namespace, name, now)
		return &snapshot.Snapshot{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading FlinkCluster: %w", err)
	}
	snap := &snapshot.Snapshot{Cluster: fc.DeepCopy(), OperatorNamespace: o.namespace, JarFetcherImage: o.jarFetcherImage}
	snap.ConfigMap = child(snap, names.ConfigMap(name), o.listers.ConfigMaps.ConfigMaps(namespace).Get)
	snap.JobManagerDeployment = child(snap, names.JobManagerDeployment(name), o.listers.Deployments.Deployments(namespace).Get)
	snap.JobManagerService = child(snap, names.JobManagerService(name), o.listers.Services.Services(namespace).Get)
	snap.JobManagerIngress = child(snap, names.JobManagerIngress(name), o.listers.Ingresses.Ingresses(namespace).Get)
	snap.TaskManagerDeployment = child(snap, names.TaskManagerDeployment(name), o.listers.Deployments.Deployments(namespace).Get)
	if fc.Spec.Job != nil {
		snap.Submitter = child(snap, desired.AttemptJobName(fc), o.listers.Jobs.Jobs(namespace).Get)
		if snap.Submitter != nil && o.pods != nil && jobFailed(snap.Submitter) {
			snap.SubmitterPodFailure = o.podFailures.reasonFor(ctx, o.pods, key, snap.Submitter)
		}
	}
	if o.listers.NetworkPolicies != nil {
		snap.NetworkPolicy = child(snap, names.NetworkPolicy(name), o.listers.NetworkPolicies.NetworkPolicies(namespace).Get)
	}
	if o.listers.PodDisruptionBudgets != nil {
		snap.PodDisruptionBudget = child(snap, names.PodDisruptionBudget(name), o.listers.PodDisruptionBudgets.PodDisruptionBudgets(namespace).Get)
	}
	if o.listers.Autoscalers != nil {
		snap.TaskManagerAutoscaler = child(snap, names.TaskManagerAutoscaler(name), o.listers.Autoscalers.HorizontalPodAutoscalers(namespace).Get)
	}
	if snap.JobManagerService != nil {
		snap.ServiceRedirected = desired.ServiceRedirected(fc, snap.JobManagerService)
		snap.ForeignEndpoints = o.foreignEndpoints(namespace, snap.JobManagerService.Name)
	}
	if o.access != nil && fc.Spec.HighAvailabilityEnabled() {
		snap.HAAccess = o.access.haAccess(ctx, fc, now)
	}
	snap.JobManagerURL = urlOf(ctx, o.urls, fc, "jobmanager")
	if o.dashboards != nil {
		snap.DashboardURL = urlOf(ctx, o.dashboards, fc, "dashboard")
	}
	if desired.ServesRESTTLS(fc, snap.ConfigMap) {
		snap.JobManagerURL = httpsURL(snap.JobManagerURL)
		var t *flinkclient.TLS
		t, snap.RESTTLSError = o.restTLSFor(ctx, fc, now)
		ctx = flinkclient.WithTLS(ctx, t)
		o.syncTLS.set(key, t)
	} else {
		o.syncTLS.set(key, nil)
	}
	if fc.Spec.Job != nil {
		o.observeJob(ctx, snap, now)
	}
	if needs == nil {
		return snap, nil
	}
	if err := o.read(ctx, snap, needs(snap), now); err != nil {
		return nil, err
	}
	return snap, nil
}

// read makes the optional calls the decision needs.
func (o *Observer) read(ctx context.Context, snap *snapshot.Snapshot, reads snapshot.Reads, now time.Time) error {
	fc := snap.Cluster
	if reads.HAConfigMaps && o.haConfigMaps != nil {
		cms, err := listHAConfigMaps(ctx, o.haConfigMaps, fc)
		if err != nil {
			return err
		}
		snap.HAConfigMaps = cms
	}
	if fc.Spec.Job == nil {
		return nil
	}
	key := fc.Namespace + "/" + fc.Name
	jobID := jobStatus(fc).ID
	if reads.Checkpoints {
		snap.Checkpoints = ObserveCheckpoints(ctx, o.flink, snap.JobManagerURL, jobID)
		if snap.Checkpoints.Read {
			o.historyReads.read(key, jobID, now)
		}
	}
	if reads.Retention {
		snap.Retention = ObserveRetention(ctx, o.flink, snap.JobManagerURL, jobID)
	}
	if reads.JobMetrics {
		s, ok := ObserveJobMetrics(ctx, o.flink, snap.JobManagerURL, jobID, now)
		o.health.read(key, jobID, now, s, ok)
		snap.HealthSamples, snap.HealthReadAt = o.health.get(key, jobID)
	}
	return nil
}

func jobStatus(fc *v1beta1.FlinkCluster) v1beta1.JobStatus {
	if fc.Status.Components.Job == nil {
		return v1beta1.JobStatus{}
	}
	return *fc.Status.Components.Job
}

// observeJob asks the JobManager what the job's status says there is to ask.
func (o *Observer) observeJob(ctx context.Context, snap *snapshot.Snapshot, now time.Time) {
	fc := snap.Cluster
	key := fc.Namespace + "/" + fc.Name
	job := jobStatus(fc)
	snap.SavepointSeenAt = o.savepoints.seenAt(key, InFlightTrigger(job), now)
	snap.CheckpointsReadAt = o.historyReads.at(key, job.ID)
	snap.HealthSamples, snap.HealthReadAt = o.health.get(key, job.ID)
	if snap.Submitter == nil {
		snap.SubmitterCreated = o.submitters.recent(key, job.ID, now)
	}
	if snap.RESTBlocked() {
		// No REST call reaches whatever the Service now points at; the updater puts a changed
		// Service back, and foreign endpoints are the user's to remove. Without its TLS
		// material a call could not verify the JobManager.
		return
	}
	snap.Flink, snap.Savepoint = ObserveFlink(ctx, o.flink, snap.JobManagerURL, &job)
	snap.Disposal = o.observeDisposal(ctx, key, snap.JobManagerURL, job)
}

// SavepointStarted records that a savepoint the sync just decided on is in flight (timed from
// now): job is the status the sync wrote.
func (o *Observer) SavepointStarted(fc *v1beta1.FlinkCluster, job v1beta1.JobStatus, now time.Time) {
	o.savepoints.seenAt(fc.Namespace+"/"+fc.Name, InFlightTrigger(job), now)
}

// InFlightTrigger is the trigger ID of the savepoint in flight, "" when none is.
func InFlightTrigger(st v1beta1.JobStatus) string {
	if !fsm.SavepointInFlight(st) {
		return ""
	}
	return st.Savepoint.TriggerID
}

// urlOf is the FlinkCluster's URL from a template over its JobManager Service's UI port; which
// names the template (--jobmanager-url-template or --dashboard-url-template) in the log.
func urlOf(ctx context.Context, urls *names.JobManagerURLs, fc *v1beta1.FlinkCluster, which string) string {
	port := int32(8081)
	if p := fc.Spec.JobManager.Ports.UI; p != nil {
		port = *p
	}
	url, err := urls.URL(fc.Name, fc.Namespace, port)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Cannot build a URL from the template", "template", which)
	}
	return url
}

// child returns the named object when this FlinkCluster controls it. A lister error other than
// not-found cannot happen with a cache, so it reads as absent.
func child[T metav1.Object](obs *snapshot.Snapshot, name string, get func(string) (T, error)) T {
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

// ForeignEndpointsSelector selects the EndpointSlices of a Service that no Kubernetes
// controller manages: hand-made ones, which kube-proxy routes to like any other. The EndpointSlice
// controller's own slices (the JobManager pods) are left out, so the cache stays nearly empty.
const ForeignEndpointsSelector = discoveryv1.LabelServiceName + "," + discoveryv1.LabelManagedBy + "!=endpointslice-controller.k8s.io"

// foreignEndpoints describes the foreign EndpointSlices of the Service ("" when there are none).
func (o *Observer) foreignEndpoints(namespace, service string) string {
	if o.listers.EndpointSlices == nil {
		return ""
	}
	slices, err := o.listers.EndpointSlices.EndpointSlices(namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service}))
	if err != nil || len(slices) == 0 {
		return ""
	}
	found := make([]string, 0, len(slices))
	for _, s := range slices {
		found = append(found, fmt.Sprintf("%s (managed by %q)", s.Name, s.Labels[discoveryv1.LabelManagedBy]))
	}
	sort.Strings(found)
	return fmt.Sprintf("EndpointSlice %s adds endpoints to Service %s", strings.Join(found, ", "), service)
}
