package main

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/controller"
	"github.com/flink-operator/flink-operator/pkg/controller/clients"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/scheme"
)

// newSyncer wires the reconcile pipeline; events go to the API server as the flink-operator
// component. The returned stop function flushes and stops the event broadcaster.
func newSyncer(ctx context.Context, opts options, c apiClients, informers *controller.Informers) (controller.Syncer, func(), error) {
	kube := c.kube
	urls, err := names.NewJobManagerURLs(opts.jobManagerURLTemplate)
	if err != nil {
		return nil, nil, err
	}
	var dashboards *names.JobManagerURLs
	if opts.dashboardURLTemplate != "" {
		if dashboards, err = names.NewJobManagerURLs(opts.dashboardURLTemplate); err != nil {
			return nil, nil, err
		}
	}
	rest := flinkclient.New(flinkclient.Options{Timeout: opts.flinkTimeout,
		Transport: metrics.InstrumentFlinkTransport(flinkclient.NewTransport()),
		TLSTransport: func(c *tls.Config) http.RoundTripper {
			return metrics.InstrumentFlinkTransport(flinkclient.NewTLSTransport(c))
		}})
	// client-go's default spam filter lets an object emit 25 events and then one per 5 minutes:
	// a job cluster with frequent savepoints would lose its Failed or Lost events to it. One per
	// 30 s after a burst of 50 still stops a flood.
	broadcaster := record.NewBroadcaster(record.WithContext(ctx),
		record.WithCorrelatorOptions(record.CorrelatorOptions{BurstSize: 50, QPS: 1.0 / 30}))
	broadcaster.StartStructuredLogging(klog.Level(4))
	broadcaster.StartRecordingToSink(clients.EventSink{Events: kube.CoreV1()})
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "flink-operator"})
	var shards observer.ShardSources
	if opts.leaderElect {
		shards = observer.ShardSources{Leases: kube.CoordinationV1(), LeaseNamespace: opts.leaderElectionNS, LeaseBase: opts.leaderElectionID}
	}
	return controller.NewReconciler(controller.Config{Listers: informers.Listers(), Kube: kube, Flink: c.flink,
		FlinkReader: rest, FlinkWriter: rest, URLs: urls, Recorder: recorder, Settings: opts.fsm, Now: time.Now, Namespace: opts.operatorNamespace,
		JarFetcherImage: opts.jarFetcherImage, DashboardURLs: dashboards,
		Shard: opts.shard, Shards: shards, Dynamic: c.dynamic, ChildCaches: informers.ChildCaches(),
	}), broadcaster.Shutdown, nil
}
