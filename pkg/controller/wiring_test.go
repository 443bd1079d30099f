package controller

import (
	"testing"
	"time"

	appslisters "k8s.io/client-go/listers/apps/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/controller/updater"
	fcfake "github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/fake"
	kubefake "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	fclisters "github.com/flink-operator/flink-operator/pkg/generated/listers/flinkoperator/v1beta1"
)

// The sync tests' and the benchmark's one way to wire a Reconciler: indexers standing in for the
// informer caches, fake clientsets, a Flink REST fake and a fixed clock.

// cacheKinds are the kinds the informers cache, by their short name in the indexers map.
var cacheKinds = []string{"fc", "deploy", "svc", "ing", "cm", "job", "netpol", "pdb", "hpa", "eps"}

func newIndexers() map[string]cache.Indexer {
	indexers := map[string]cache.Indexer{}
	for _, kind := range cacheKinds {
		indexers[kind] = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	return indexers
}

// testReconciler is a Reconciler over indexers, as one operator process: a new one forgets what
// the previous one held in memory.
func testReconciler(tb testing.TB, indexers map[string]cache.Indexer, kube *kubefake.Clientset, flink *fcfake.Clientset,
	reader observer.FlinkReader, writer updater.FlinkWriter, recorder record.EventRecorder, now func() time.Time) *Reconciler {
	tb.Helper()
	urls, err := names.NewJobManagerURLs(names.DefaultJobManagerURLTemplate)
	if err != nil {
		tb.Fatal(err)
	}
	return NewReconciler(Config{
		Listers: observer.Listers{
			FlinkClusters:        fclisters.NewFlinkClusterLister(indexers["fc"]),
			Deployments:          appslisters.NewDeploymentLister(indexers["deploy"]),
			Services:             corelisters.NewServiceLister(indexers["svc"]),
			Ingresses:            networkinglisters.NewIngressLister(indexers["ing"]),
			ConfigMaps:           corelisters.NewConfigMapLister(indexers["cm"]),
			Jobs:                 batchlisters.NewJobLister(indexers["job"]),
			NetworkPolicies:      networkinglisters.NewNetworkPolicyLister(indexers["netpol"]),
			PodDisruptionBudgets: policylisters.NewPodDisruptionBudgetLister(indexers["pdb"]),
			Autoscalers:          autoscalinglisters.NewHorizontalPodAutoscalerLister(indexers["hpa"]),
			EndpointSlices:       discoverylisters.NewEndpointSliceLister(indexers["eps"]),
		},
		Kube: kube, Flink: flink, FlinkReader: reader, FlinkWriter: writer, URLs: urls, Recorder: recorder,
		Settings: fsm.DefaultSettings(), Now: now, Namespace: "flink-operator-system",
	})
}
