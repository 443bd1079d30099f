//go:build flink

// Command flink-node runs the e2e tier's local node (test/localnode) on its own, for `make dev`:
// it registers a Node with the local control plane and runs the pods scheduled to it as real
// Flink processes, from the distributions hack/fetch-flink.sh unpacks into bin/flink/VERSION
// (fetched on first use of an image's version). Beside it, it serves:
//   - --service-proxy: /services/NS/SERVICE/PORT/..., the URL template the operator reaches
//     JobManagers with (the operator runs outside the cluster);
//   - --egress: on a Unix socket, the HTTP CONNECT proxy of the API server's "cluster" egress
//     (localnode.EgressSelectorConfig), so that the API server's Service proxy, and with it
//     `kubectl proxy`, reaches the Flink dashboard, and `kubectl logs` reaches the node.
//
// It needs to run as root: pods run as the user their securityContext names (uid 9999 for the
// operator's restricted defaults), as a kubelet would run them.
//
//	go run -tags flink ./test/cmd/flink-node --kubeconfig bin/kubeconfig --work-dir bin/dev
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/test/flinkcluster"
	"github.com/flink-operator/flink-operator/test/localnode"
)

type options struct {
	kubeconfig, name, workDir          string
	serviceProxy, egress               string
	operatorImage, operatorBinary, log string
	podNetwork                         int
}

func (o *options) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "The local control plane's kubeconfig.")
	fs.StringVar(&o.name, "name", "local-flink", "The Node's name.")
	fs.StringVar(&o.workDir, "work-dir", "bin/dev", "Pod directories (volumes, logs) go under WORK-DIR/pods; uid 9999 must be able to reach it.")
	fs.IntVar(&o.podNetwork, "pod-network", 244, "Pod IPs are 10.N.a.b (listening on 127.N.a.b): nodes running at the same time need different N.")
	fs.StringVar(&o.serviceProxy, "service-proxy", "127.0.0.1:8991", "Where to serve /services/NS/SERVICE/PORT/ for the operator.")
	fs.StringVar(&o.egress, "egress", "bin/dev/egress.sock", "The Unix socket to serve the API server's cluster egress (CONNECT) on.")
	fs.StringVar(&o.operatorImage, "operator-image", "flink-operator:dev", "The image the operator names for its fetch-jar init containers.")
	fs.StringVar(&o.operatorBinary, "operator-binary", "", "The operator binary that runs for --operator-image.")
	fs.StringVar(&o.log, "log", "", "Write what the node does to this file (default stderr).")
}

func main() {
	var o options
	o.bind(flag.CommandLine)
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "flink-node:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	// Pod directories become the processes' working and configuration paths: absolute.
	workDir, err := filepath.Abs(o.workDir)
	if err != nil {
		return err
	}
	if err := localnode.CheckReachable(workDir, uint32(v1beta1.FlinkUID)); err != nil {
		return fmt.Errorf("%w: the pods' user must reach --work-dir (a checkout under a private home directory cannot serve; docs/dev.md)", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 100
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	logf, closeLog, err := logger(o.log)
	if err != nil {
		return err
	}
	defer closeLog()
	// Both listeners before the node registers, so that a port in use fails at once.
	proxyL, err := net.Listen("tcp", o.serviceProxy)
	if err != nil {
		return err
	}
	egressL, err := listenUnix(o.egress)
	if err != nil {
		return err
	}
	opts := localnode.Options{
		Name: o.name, Kube: kube, WorkDir: filepath.Join(workDir, "pods"), PodNetwork: o.podNetwork,
		APIServer: cfg.Host, Dist: dist, Logf: logf,
	}
	if o.operatorBinary != "" {
		opts.Binaries = map[string]localnode.Binary{o.operatorImage: {Entrypoint: desired.OperatorBinary, Path: o.operatorBinary}}
	}
	node := localnode.New(opts)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := node.Register(ctx); err != nil {
		return err
	}
	srv := &http.Server{Handler: node.ProxyHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(proxyL) }()
	defer srv.Close()
	go func() {
		// Without its egress the cluster's dashboard URLs and kubectl logs fail: stop the node.
		if err := node.ServeClusterEgress(ctx, egressL); err != nil {
			logf("flink-node: egress: %v; stopping", err)
			stop()
		}
	}()
	logf("flink-node: node %s ready; service proxy http://%s, egress %s", o.name, o.serviceProxy, o.egress)
	return node.Run(ctx)
}

// logger writes to path, or to stderr without one; the returned func closes only a file it opened.
func logger(path string) (func(string, ...any), func(), error) {
	out, closeOut := os.Stderr, func() {}
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, nil, err
		}
		out, closeOut = f, func() { _ = f.Close() }
	}
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
	}, closeOut, nil
}

// listenUnix listens on a Unix socket, replacing one an earlier run left behind but never one
// a live process still serves.
func listenUnix(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s is served by another process (another make dev?)", path)
	}
	_ = os.Remove(path)
	return net.Listen("unix", path)
}

// dist is the Flink distribution that stands in for an image, fetched on first use
// (hack/fetch-flink.sh caches it in bin/flink/VERSION).
func dist(image string) (flinkcluster.Dist, error) {
	version, ok := flinkcluster.ImageVersion(image)
	if !ok {
		return flinkcluster.Dist{}, fmt.Errorf("image %s has no Flink version tag (flink:2.3.0)", image)
	}
	return flinkcluster.FetchDist(version)
}
