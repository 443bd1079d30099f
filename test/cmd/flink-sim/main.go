// Command flink-sim serves the simulated Flink JobManager (pkg/flinkclient/sim)
// on one address: cluster NS/NAME's REST API is under /clusters/NS/NAME, the
// control API under /sim/ (see docs/simulator.md).
//
// With --kubeconfig it also plays the kubelet for the operator's job
// submitters: every new batch/v1 Job labelled as a submitter has its main
// container's command line submitted to cluster
// {job namespace}/{flinkoperator.k8s.io/cluster label}.
//
//	go run ./test/cmd/flink-sim --listen 127.0.0.1:8990 --kubeconfig bin/kubeconfig
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/flinkclient/sim"
	"github.com/flink-operator/flink-operator/pkg/flinkclient/sim/submitwatch"
)

type options struct {
	listen, kubeconfig string
	fakeClock          bool
	explicit           bool
	checkRestorePaths  bool
	cluster            sim.ClusterConfig
}

func (o *options) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8990", "Address to serve the simulator on.")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "If set, watch submitter Jobs in this cluster and submit their command lines.")
	fs.BoolVar(&o.fakeClock, "fake-clock", false, "Run on a fake clock that only moves with POST /sim/clock.")
	fs.BoolVar(&o.explicit, "require-explicit-clusters", false, "Treat clusters never created with PUT /sim/clusters/NS/NAME as unreachable.")
	fs.BoolVar(&o.checkRestorePaths, "check-restore-paths", false, "Fail jobs restored from savepoints the simulator does not know.")
	c := &o.cluster
	fs.StringVar(&c.FlinkVersion, "flink-version", sim.DefaultFlinkVersion, "Flink version the clusters report (1.x or 2.x shapes).")
	fs.IntVar(&c.TaskManagers, "taskmanagers", 1, "TaskManagers per cluster.")
	fs.IntVar(&c.SlotsPerTaskManager, "slots", 4, "Slots per TaskManager.")
	fs.StringVar(&c.DefaultSavepointDir, "default-savepoint-dir", "", "Savepoint directory used when a request has none.")
	d := &c.Delays
	fs.DurationVar(&d.Initialize, "initialize-delay", 2*time.Second, "INITIALIZING -> RUNNING.")
	fs.DurationVar(&d.Deploy, "deploy-delay", time.Second, "Vertices DEPLOYING after the job is RUNNING.")
	fs.DurationVar(&d.Savepoint, "savepoint-delay", 3*time.Second, "Savepoint trigger -> savepoint written.")
	fs.DurationVar(&d.Stop, "stop-delay", 2*time.Second, "Stop-with-savepoint: savepoint written -> FINISHED.")
	fs.DurationVar(&d.Cancel, "cancel-delay", time.Second, "CANCELLING -> CANCELED.")
	fs.DurationVar(&d.Restart, "restart-delay", 3*time.Second, "RESTARTING -> RUNNING.")
	fs.DurationVar(&d.Disposal, "disposal-delay", time.Second, "Savepoint disposal trigger -> completed.")
}

func main() {
	var opts options
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
		klog.Background().Error(err, "flink-sim failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

func run(ctx context.Context, opts options) error {
	logger := klog.FromContext(ctx)
	simOpts := sim.Options{
		Defaults:                opts.cluster,
		RequireExplicitClusters: opts.explicit,
		CheckRestorePaths:       opts.checkRestorePaths,
	}
	if opts.fakeClock {
		simOpts.Clock = sim.NewFakeClock(time.Now())
	}
	srv := sim.New(simOpts)

	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	logger.Info("Serving simulated Flink JobManagers",
		"url", "http://"+ln.Addr().String(), "jobManagerURL", sim.JobManagerURL("http://"+ln.Addr().String(), "NAMESPACE", "NAME"))

	watchErr := make(chan error, 1)
	if opts.kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", opts.kubeconfig)
		if err != nil {
			_ = hs.Close()
			return fmt.Errorf("loading kubeconfig: %w", err)
		}
		// It plays the kubelet of every submitter and reads each one's ConfigMap: client-go's
		// default 5 requests per second made a burst of 1,000 submissions take minutes, and the
		// operator rightly called jobs lost whose submitters had long completed.
		cfg.QPS, cfg.Burst = 1000, 2000
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			_ = hs.Close()
			return fmt.Errorf("creating Kubernetes client: %w", err)
		}
		go func() { watchErr <- submitwatch.New(client, srv, nil).Run(ctx) }()
	}

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	case err = <-watchErr:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutdownCtx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
