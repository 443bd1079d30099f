// Command flink-operator runs the FlinkCluster operator: it watches FlinkCluster resources and
// their children and drives each cluster and its job towards the spec.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/controller"
	"github.com/flink-operator/flink-operator/pkg/controller/clients"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == fetchJarCommand {
		os.Exit(runFetchJar(os.Args[2:], os.Stderr))
	}
	opts := defaultOptions()
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	opts.bind(fs)
	klog.InitFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx = klog.NewContext(ctx, klog.Background())
	if err := run(ctx, opts); err != nil {
		klog.Background().Error(err, "Operator failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

func run(ctx context.Context, opts options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	logger := klog.FromContext(ctx)
	cfg, err := restConfig(opts)
	if err != nil {
		return err
	}
	kube, flink, err := clients.New(cfg)
	if err != nil {
		return fmt.Errorf("creating the API clients: %w", err)
	}

	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating dynamic client: %w", err)
	}

	informers := controller.NewInformers(kube, flink, opts.namespace, opts.shard)
	heartbeat := controller.NewHeartbeat(time.Now)
	syncer, stopEvents, err := newSyncer(ctx, opts, apiClients{kube: kube, flink: flink, dynamic: dyn}, informers)
	if err != nil {
		return err
	}
	defer stopEvents()
	ctrl, err := controller.New(informers, syncer, heartbeat)
	if err != nil {
		return err
	}
	probes := newProbes(ctrl, heartbeat)
	servers := startServers(ctx, opts, probes)
	defer shutdownServers(servers)

	// The informers stop before run returns, also when it returns for a lost Lease while ctx is
	// still live: Shutdown waits for them, and the process must exit promptly then.
	informerCtx, stopInformers := context.WithCancel(ctx)
	informers.Start(informerCtx)
	defer informers.Shutdown()
	defer stopInformers()
	if err := informers.WaitForSync(ctx, opts.cacheSyncTimeout); err != nil {
		return err
	}
	probes.setSynced()
	logger.Info("Informer caches synced", "namespace", namespaceForLog(opts.namespace))

	lead := func(ctx context.Context) {
		enqueueStrays(ctx, opts, flink, ctrl.Enqueue)
		ctrl.Run(ctx, opts.workers)
	}
	if !opts.leaderElect {
		probes.setLeading(true)
		lead(ctx)
		return nil
	}
	return runWithLeaderElection(ctx, opts, kube, probes, lead)
}

// enqueueStrays queues the clusters this shard still owns that are labelled for another shard:
// its cache does not hold them, and their hand-over must not wait for an event. The LIST is
// retried, with a backoff up to a minute, until it succeeds: nothing else would bring these
// clusters to this process, and their new shard waits while this process holds its Lease. It
// runs beside the workers.
func enqueueStrays(ctx context.Context, opts options, flink clients.Flink, enqueue func(key string)) {
	if opts.shard == "" {
		return // the unsharded cache holds every cluster
	}
	go func() {
		backoff := wait.Backoff{Duration: time.Second, Factor: 2, Steps: math.MaxInt32, Cap: time.Minute}
		for {
			list, err := flink.FlinkoperatorV1beta1().FlinkClusters(opts.namespace).List(ctx, metav1.ListOptions{
				LabelSelector: shard.StraySelector(opts.shard).String()})
			if err == nil {
				for _, fc := range list.Items {
					enqueue(fc.Namespace + "/" + fc.Name)
				}
				klog.FromContext(ctx).Info("Listed the clusters to hand over to other shards", "count", len(list.Items))
				return
			}
			klog.FromContext(ctx).Error(err, "Listing the clusters to hand over; retrying")
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff.Step()):
			}
		}
	}()
}

// apiClients are the API clients of the process.
type apiClients struct {
	kube    clients.Kube
	flink   clients.Flink
	dynamic dynamic.Interface
}

func restConfig(opts options) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if opts.kubeconfig != "" {
		rules.ExplicitPath = opts.kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig (use --kubeconfig or KUBECONFIG, or run in a pod): %w", err)
	}
	cfg.QPS = opts.kubeAPIQPS
	cfg.Burst = opts.kubeAPIBurst
	cfg.UserAgent = "flink-operator"
	if opts.shard != "" {
		cfg.UserAgent += "/shard-" + opts.shard // tells the shards apart in the API server's audit log
	}
	return cfg, nil
}

func startServers(ctx context.Context, opts options, probes *probes) []*http.Server {
	var servers []*http.Server
	if opts.healthAddr != "" && opts.healthAddr != "0" {
		servers = append(servers, serve(ctx, "health", opts.healthAddr, probes.handler()))
	}
	if opts.metricsAddr != "" && opts.metricsAddr != "0" {
		servers = append(servers, serve(ctx, "metrics", opts.metricsAddr, metricsHandler(opts.metricsAllStates)))
	}
	return servers
}

func serve(ctx context.Context, name, addr string, handler http.Handler) *http.Server {
	srv := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		klog.FromContext(ctx).Info("Serving", "server", name, "address", addr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.FromContext(ctx).Error(err, "Server failed", "server", name, "address", addr)
		}
	}()
	return srv
}

func shutdownServers(servers []*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(ctx)
	}
}

func namespaceForLog(ns string) string {
	if ns == "" {
		return "(all)"
	}
	return ns
}
