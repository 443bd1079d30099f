// Command bench measures the operator at scale on the local control plane: latency from create to
// children and to a Running job, throughput by worker count, idle cost (API writes, Flink REST
// calls), memory and CPU, and a cold restart. It starts the local cluster (hack/cluster-up.sh with
// SCALE=1), the simulated JobManager and the operator binary as processes, measures from the
// cluster's side (its own watches, the API server's request metrics, the simulator's request
// counters, the operator's /metrics), prints a summary and writes docs/benchmarks.md.
//
// Run it through hack/bench.sh (make bench); docs/benchmarks.md defines every number.
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
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flink-operator/flink-operator/test/ports"
)

// The control plane's settings for the benchmark (docs/benchmarks.md says why).
const (
	serviceCIDR = "10.96.0.0/12"
	kcmQPS      = 5000
	kcmBurst    = 10000
	podsPerNode = 100 // kwok nodes take 110; keep a margin
	podsPerFC   = 3   // JobManager, one TaskManager, the submitter
)

type config struct {
	root, out, doc, command string
	ns                      []int
	ci                      bool
	idle                    time.Duration
	steadyRate              float64
	steady                  int
	stopped                 int
	latestState             int
	throughputBatch         int
	sweep                   []int
	workers                 int
	pollInterval            time.Duration
	healthInterval          time.Duration
	operatorArgs            []string
	clusterName             string
	kubeconfig              string
	operatorBin, simBin     string
	micro, profile          bool
	admission               bool
	skipClusterBuild        bool
	createConcurrency       int
	// shardedN clusters over shards operator processes, within shardedCap (0: no sharded run).
	shardedN, shards int
	shardedCap       time.Duration
	// shardWorkers and shardPollInterval: each shard's --workers and --flink-poll-interval; a
	// fleet of thousands per process is sized with more workers and a longer poll interval than
	// the defaults the other runs measure.
	shardWorkers      int
	shardPollInterval time.Duration
	// CI limits: at most this many REST calls per Running cluster per minute, relative to
	// 60 / poll interval.
	restTolerance float64
}

func main() {
	cfg := &config{}
	var nList, sweep, opArgs string
	flag.StringVar(&nList, "n", "100,1000", "Comma-separated numbers of FlinkClusters in the burst; one run (fresh cluster) each.")
	flag.BoolVar(&cfg.ci, "ci", false, "CI-sized run: N=50, 60 s idle window, no throughput sweep, no profiles; exits 1 if idle writes, restart writes or REST polls are over the limits; does not write the doc.")
	flag.DurationVar(&cfg.idle, "idle", 5*time.Minute, "Idle window.")
	flag.IntVar(&cfg.steady, "steady", -1, "FlinkClusters created at a steady rate after the burst (-1: max(20, N/10)).")
	flag.Float64Var(&cfg.steadyRate, "steady-rate", 5, "Creates per second in the steady phase.")
	flag.IntVar(&cfg.stopped, "stopped", 5, "Clusters whose job is finished before the idle window (they must cost no Flink REST calls).")
	flag.IntVar(&cfg.latestState, "latest-state", 5, "Clusters with restartPolicy FromLatestStateOnFailure, created after the burst: their latest checkpoint is recorded at most once a minute, one more Flink REST call per minute.")
	flag.IntVar(&cfg.throughputBatch, "throughput-batch", 100, "FlinkClusters per throughput run.")
	flag.StringVar(&sweep, "workers-sweep", "1,2,4,8", "Worker counts of the throughput runs (empty: none).")
	flag.IntVar(&cfg.workers, "workers", 2, "Operator --workers for the burst, steady, idle and restart phases (2 is the operator's default).")
	flag.DurationVar(&cfg.pollInterval, "poll-interval", 10*time.Second, "Operator --flink-poll-interval (10s is the default).")
	flag.DurationVar(&cfg.healthInterval, "health-check-interval", time.Minute, "Operator --health-check-interval (1m is the default): one more Flink REST call per Running cluster each time.")
	flag.StringVar(&opArgs, "operator-args", "", "More operator flags, space-separated (e.g. \"--kube-api-qps=500 --kube-api-burst=1000\").")
	flag.StringVar(&cfg.clusterName, "cluster-name", "flink-operator-bench", "Local cluster name (kwokctl).")
	flag.StringVar(&cfg.out, "out", "", "Directory for logs, profiles and results (default bin/bench).")
	flag.StringVar(&cfg.doc, "doc", "docs/benchmarks.md", "Markdown file to write (empty: none). Only the generated section is replaced.")
	flag.StringVar(&cfg.command, "command", "", "The command line to record in the doc.")
	flag.BoolVar(&cfg.admission, "admission", true, "Measure the CRD's CEL rules' cost to a create (first run only, about 30 s).")
	flag.BoolVar(&cfg.micro, "micro", true, "Run the Go micro-benchmark (BenchmarkNoOpSync).")
	flag.BoolVar(&cfg.profile, "profile", true, "Take a CPU profile of the operator during the burst and a heap profile after the idle window.")
	flag.BoolVar(&cfg.skipClusterBuild, "skip-cluster-build", false, "Pass SKIP_BUILD=1 to hack/cluster-up.sh.")
	flag.IntVar(&cfg.createConcurrency, "create-concurrency", 16, "Parallel create requests in a burst.")
	flag.Float64Var(&cfg.restTolerance, "rest-tolerance", 0.15, "CI: allowed excess of Flink REST calls per Running cluster per minute over 60 / poll interval (0.15 = 15%).")
	flag.IntVar(&cfg.shardedN, "sharded", 0, "After the runs of --n, one more on a fresh cluster: this many job clusters split over --shards operator processes (0: none).")
	flag.IntVar(&cfg.shards, "shards", 2, "Operator processes (--shard=s0, s1, …) of the sharded run.")
	flag.DurationVar(&cfg.shardedCap, "sharded-cap", 45*time.Minute, "Wall-clock cap of the sharded run, from its first create to the last job Running; what is not Running then is reported missing.")
	flag.IntVar(&cfg.shardWorkers, "shard-workers", 2, "Operator --workers of each shard in the sharded run.")
	flag.DurationVar(&cfg.shardPollInterval, "shard-poll-interval", 10*time.Second, "Operator --flink-poll-interval of each shard in the sharded run.")
	flag.Parse()

	_, file, _, _ := runtime.Caller(0)
	cfg.root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if wd, err := os.Getwd(); err == nil {
		if _, err := os.Stat(filepath.Join(wd, "go.mod")); err == nil {
			cfg.root = wd
		}
	}
	if cfg.ci {
		nList, sweep = "50", ""
		if !flagSet("idle") {
			cfg.idle = time.Minute
		}
		if !flagSet("steady") {
			cfg.steady = 0
		}
		if !flagSet("stopped") {
			cfg.stopped = 3
		}
		if !flagSet("doc") {
			cfg.doc = ""
		}
		cfg.micro, cfg.profile = false, false
	}
	for _, s := range strings.Split(nList, ",") {
		if strings.TrimSpace(s) == "" {
			continue // --n "": only the sharded run
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fatalf("--n: bad number %q", s)
		}
		cfg.ns = append(cfg.ns, n)
	}
	for _, s := range strings.Split(sweep, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		w, err := strconv.Atoi(s)
		if err != nil || w < 1 {
			fatalf("--workers-sweep: bad number %q", s)
		}
		cfg.sweep = append(cfg.sweep, w)
	}
	cfg.operatorArgs = strings.Fields(opArgs)
	if cfg.out == "" {
		cfg.out = filepath.Join(cfg.root, "bin", "bench")
		if cfg.ci {
			cfg.out = filepath.Join(cfg.root, "bin", "bench-ci")
		}
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		fatalf("%v", err)
	}
	cfg.kubeconfig = filepath.Join(cfg.out, "kubeconfig")
	cfg.operatorBin = filepath.Join(cfg.out, "flink-operator")
	cfg.simBin = filepath.Join(cfg.out, "flink-sim")
	if cfg.command == "" {
		cfg.command = strings.Join(os.Args, " ")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res := &results{Started: time.Now(), Machine: machineInfo(), Command: cfg.command, CI: cfg.ci,
		PollInterval: cfg.pollInterval, Workers: cfg.workers, OperatorArgs: strings.Join(cfg.operatorArgs, " "),
		Idle: cfg.idle, Go: runtime.Version(), Operator: gitDescribe(cfg.root)}
	res.LoadStart = loadAvg()

	if err := buildBinaries(ctx, cfg); err != nil {
		fatalf("build: %v", err)
	}
	if cfg.micro {
		res.Micro = runMicro(ctx, cfg)
		res.MicroTop = microTop
	}
	failed := false
	for _, n := range cfg.ns {
		r, err := runN(ctx, cfg, n)
		if r != nil {
			if r.KubeVersion != "" {
				res.Kubernetes = r.KubeVersion
			}
			res.Runs = append(res.Runs, r)
		}
		if err != nil {
			logf("N=%d: %v", n, err)
			res.Errors = append(res.Errors, fmt.Sprintf("N=%d: %v", n, err))
			failed = true
		}
		if ctx.Err() != nil {
			break
		}
	}
	if cfg.shardedN > 0 && ctx.Err() == nil {
		r, err := runSharded(ctx, cfg)
		res.Sharded = r
		if err != nil {
			logf("sharded: %v", err)
			res.Errors = append(res.Errors, fmt.Sprintf("sharded N=%d: %v", cfg.shardedN, err))
			failed = true
		}
	}
	res.Finished = time.Now()
	res.LoadEnd = loadAvg()

	summary := res.summary(cfg)
	fmt.Println(summary)
	_ = os.WriteFile(filepath.Join(cfg.out, "summary.md"), []byte(summary+"\n"), 0o644)
	if cfg.doc != "" && !failed {
		doc := cfg.doc
		if !filepath.IsAbs(doc) {
			doc = filepath.Join(cfg.root, doc)
		}
		if err := writeDoc(doc, res, cfg); err != nil {
			logf("writing %s: %v", doc, err)
			failed = true
		} else {
			logf("wrote %s", doc)
		}
	}
	if cfg.ci {
		if problems := res.ciCheck(cfg); len(problems) > 0 {
			for _, p := range problems {
				fmt.Fprintln(os.Stderr, "bench --ci: FAIL:", p)
			}
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "bench --ci: PASS")
	}
	if failed {
		os.Exit(1)
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fatalf(format string, args ...interface{}) {
	logf(format, args...)
	os.Exit(2)
}

// env is one run's cluster, clients and processes.
type env struct {
	cfg       *config
	n         int
	kube      kubernetes.Interface
	dyn       dynamic.Interface
	tracker   *tracker
	avail     *availability
	simURL    string
	sim       *process
	op        *process
	opMetrics string
	opHealth  string
	opPprof   string
	sampler   *sampler
	run       *runResult
}

// runN is one run at N: a fresh cluster, burst, steady rate, idle, cold restart, throughput.
func runN(parent context.Context, cfg *config, n int) (*runResult, error) {
	steady := cfg.steady
	if steady < 0 {
		steady = max(20, n/10)
	}
	batches := cfg.throughputBatch * len(cfg.sweep)
	total := n + steady + batches
	nodes := (total*podsPerFC+n*podsPerFloorCluster+podsPerNode-1)/podsPerNode + 2
	r := &runResult{N: n, Steady: steady, Nodes: nodes, SteadyRate: cfg.steadyRate}
	logf("==== N=%d: %d clusters in a burst, %d at %.0f/s, %d per throughput run; %d nodes", n, n, steady, cfg.steadyRate, cfg.throughputBatch, nodes)

	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	clusterDown(cfg) // a fresh cluster for every N
	start := time.Now()
	if err := clusterUp(ctx, cfg, nodes); err != nil {
		return nil, err
	}
	defer func() {
		cancel() // stop the harness's watches first
		clusterDown(cfg)
	}()
	r.ClusterUp = time.Since(start)
	e := &env{cfg: cfg, n: n, run: r}
	if err := e.connect(); err != nil {
		return nil, err
	}
	if v, err := e.kube.Discovery().ServerVersion(); err == nil {
		r.KubeVersion = v.GitVersion
	}
	if err := run(ctx, []string{"KUBECONFIG=" + cfg.kubeconfig, "KUBECTL=" + filepath.Join(cfg.root, "bin", "kubectl")},
		cfg.root, filepath.Join(cfg.root, "hack", "install-crd.sh")); err != nil {
		return nil, err
	}
	if cfg.admission && n == cfg.ns[0] {
		a, err := e.admission(ctx)
		if err != nil {
			return r, fmt.Errorf("admission cost: %w", err)
		}
		r.Admission = a
		logf("admission: %s", a)
	}
	e.tracker = newTracker()
	if err := e.tracker.start(ctx, e.dyn, metadata.NewForConfigOrDie(mustConfig(cfg.kubeconfig))); err != nil {
		return nil, err
	}
	e.avail = &availability{}
	if err := e.avail.start(ctx, e.kube); err != nil {
		return nil, err
	}
	if err := e.floor(ctx); err != nil {
		return r, err
	}
	if err := e.startSim(ctx); err != nil {
		return nil, err
	}
	defer e.sim.Stop()
	if err := e.startOperator(ctx, cfg.workers, "operator"); err != nil {
		return nil, err
	}
	defer func() { e.op.Stop() }()
	e.sampler = startSampler(e.opMetrics)
	defer e.sampler.Stop()

	err := e.phases(ctx)
	r.Load = loadAvg()
	return r, err
}

func mustConfig(kubeconfig string) *rest.Config {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fatalf("loading %s: %v", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 2000, 4000
	return cfg
}

func (e *env) connect() error {
	cfg := mustConfig(e.cfg.kubeconfig)
	var err error
	if e.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	e.dyn, err = dynamic.NewForConfig(cfg)
	return err
}

func (e *env) startSim(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	e.simURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	e.sim = &process{name: "flink-sim", bin: e.cfg.simBin, log: filepath.Join(e.cfg.out, fmt.Sprintf("sim-%d.log", e.n)),
		args: []string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--kubeconfig", e.cfg.kubeconfig,
			"--initialize-delay=0", "--deploy-delay=0", "--savepoint-delay=0", "--stop-delay=0",
			"--cancel-delay=0", "--restart-delay=0", "--disposal-delay=0"}}
	if err := e.sim.Start(); err != nil {
		return err
	}
	return waitHTTP(ctx, e.simURL+"/sim/healthz", 30*time.Second)
}

// startOperator starts the operator binary with the given number of workers.
func (e *env) startOperator(ctx context.Context, workers int, logName string) error {
	ports, err := ports.Free(3)
	if err != nil {
		return err
	}
	e.opMetrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[0])
	e.opHealth = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	e.opPprof = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", ports[2])
	args := []string{"--kubeconfig", e.cfg.kubeconfig,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", ports[0]),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", ports[1]),
		"--jobmanager-url-template=" + e.simURL + "/clusters/{{.Namespace}}/{{.Name}}",
		fmt.Sprintf("--workers=%d", workers),
		"--flink-poll-interval=" + e.cfg.pollInterval.String(),
		"--health-check-interval=" + e.cfg.healthInterval.String(),
	}
	args = append(args, e.cfg.operatorArgs...)
	e.op = &process{name: "flink-operator", bin: e.cfg.operatorBin, args: args,
		log: filepath.Join(e.cfg.out, fmt.Sprintf("%s-%d.log", logName, e.n)),
		env: []string{fmt.Sprintf("FLINK_OPERATOR_BENCH_PPROF=127.0.0.1:%d", ports[2])}}
	if e.sampler != nil {
		e.sampler.mu.Lock()
		e.sampler.url = e.opMetrics
		e.sampler.mu.Unlock()
	}
	if err := e.op.Start(); err != nil {
		return err
	}
	return waitHTTP(ctx, e.opMetrics, 30*time.Second)
}

// restartOperator stops the operator (SIGTERM) and starts it again with workers, and measures
// the cold start: time to /readyz (caches synced) and until every FlinkCluster was synced once
// (every key the informers queued at start was taken and finished: sync count >= clusters,
// queue empty, no sync in flight), and the API writes from the stop to 5 s after that.
func (e *env) restartOperator(ctx context.Context, workers, clusters int, logName string) (restartResult, error) {
	rr := restartResult{Clusters: clusters, Workers: workers}
	e.op.Stop()
	before, err := apiWrites(ctx, e.kube)
	if err != nil {
		return rr, err
	}
	if err := e.startOperator(ctx, workers, logName); err != nil {
		return rr, err
	}
	started := e.op.started
	if err := waitHTTP(ctx, e.opHealth+"/readyz", 5*time.Minute); err != nil {
		return rr, err
	}
	rr.Ready = time.Since(started)
	deadline := time.Now().Add(10 * time.Minute)
	var m opMetrics
	for {
		m, err = scrapeOperator(ctx, e.opMetrics)
		if err == nil && m.syncs >= float64(clusters) && m.depth == 0 && m.longest == 0 {
			break
		}
		if time.Now().After(deadline) {
			return rr, fmt.Errorf("cold restart: not every cluster synced after 10 min (syncs %v, depth %v)", m.syncs, m.depth)
		}
		select {
		case <-ctx.Done():
			return rr, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	rr.Synced = time.Since(started)
	rr.Syncs = m.syncs
	select {
	case <-ctx.Done():
		return rr, ctx.Err()
	case <-time.After(5 * time.Second):
	}
	after, err := apiWrites(ctx, e.kube)
	if err != nil {
		return rr, err
	}
	rr.Writes, rr.WritesTotal, rr.Events = after.diff(before)
	if m, err := scrapeOperator(ctx, e.opMetrics); err == nil {
		rr.OperatorWrites = m.writes
		rr.RSS = m.rss
		rr.SyncErrors = m.syncErrors
	}
	return rr, nil
}

const jobClusterTemplate = `{
  "apiVersion": "flinkoperator.k8s.io/v1beta1",
  "kind": "FlinkCluster",
  "metadata": {"name": "%s", "namespace": "%s"},
  "spec": {
    "image": {"name": "flink:2.1"},
    "jobManager": {},
    "taskManager": {"replicas": 1},
    "job": {
      "jarFile": "/opt/flink/examples/streaming/WordCount.jar",
      "className": "org.apache.flink.streaming.examples.wordcount.WordCount"
    }
  }
}`

func (e *env) namespace(ctx context.Context, name string) error {
	_, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	return err
}

// create creates one job cluster and records when the request went out and came back.
func (e *env) create(ctx context.Context, ns, name string) error {
	return e.createWith(ctx, ns, name, nil)
}

// latestState makes a job cluster resume from the latest checkpoint on failure. Its job
// checkpoints once an hour, so its record does not change in a run and costs reads only.
func latestState(obj *unstructured.Unstructured) error {
	for _, f := range []struct {
		value any
		path  []string
	}{
		{"FromLatestStateOnFailure", []string{"spec", "job", "restartPolicy"}},
		{"/savepoints", []string{"spec", "job", "savepointsDir"}},
		{map[string]any{"execution.checkpointing.interval": "1 h"}, []string{"spec", "flinkProperties"}},
	} {
		if err := unstructured.SetNestedField(obj.Object, f.value, f.path...); err != nil {
			return err
		}
	}
	return nil
}

// createWith is create of jobClusterTemplate changed by edit (nil: as it is).
func (e *env) createWith(ctx context.Context, ns, name string, edit func(*unstructured.Unstructured) error) error {
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON([]byte(fmt.Sprintf(jobClusterTemplate, name, ns))); err != nil {
		return err
	}
	if edit != nil {
		if err := edit(obj); err != nil {
			return err
		}
	}
	key := ns + "/" + name
	sent := time.Now()
	e.tracker.mu.Lock()
	e.tracker.get(key).createSent = sent
	e.tracker.mu.Unlock()
	_, err := e.dyn.Resource(fcResource).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{})
	e.tracker.mu.Lock()
	e.tracker.get(key).created = time.Now()
	e.tracker.mu.Unlock()
	return err
}

// burst creates count clusters in ns as fast as the harness can (create-concurrency requests in
// flight); it returns their keys.
func (e *env) burst(ctx context.Context, ns, prefix string, count int) ([]string, error) {
	return e.burstWith(ctx, ns, prefix, count, nil)
}

// burstWith is burst with each cluster changed by edit(i) (nil: as it is).
func (e *env) burstWith(ctx context.Context, ns, prefix string, count int, edit func(i int) func(*unstructured.Unstructured) error) ([]string, error) {
	if err := e.namespace(ctx, ns); err != nil {
		return nil, err
	}
	keys := make([]string, count)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/%s-%05d", ns, prefix, i)
	}
	return keys, inParallel(count, e.cfg.createConcurrency, func(i int) error {
		var change func(*unstructured.Unstructured) error
		if edit != nil {
			change = edit(i)
		}
		return e.createWith(ctx, ns, fmt.Sprintf("%s-%05d", prefix, i), change)
	})
}

// inParallel calls do(0) … do(count-1), at most concurrency at a time in index order, and joins
// their errors.
func inParallel(count, concurrency int, do func(i int) error) error {
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs error
	for w := 0; w < concurrency; w++ {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					mu.Lock()
					errs = errors.Join(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := 0; i < count; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// steadyCreate creates count clusters at rate per second.
func (e *env) steadyCreate(ctx context.Context, ns, prefix string, count int, rate float64) ([]string, error) {
	if err := e.namespace(ctx, ns); err != nil {
		return nil, err
	}
	var keys []string
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	errs := make(chan error, count)
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("%s-%05d", prefix, i)
		keys = append(keys, ns+"/"+name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.create(ctx, ns, name); err != nil {
				errs <- err
			}
		}()
		select {
		case <-ctx.Done():
			return keys, ctx.Err()
		case <-tick.C:
		}
	}
	wg.Wait()
	close(errs)
	return keys, <-errs
}

// waitFor waits until pred holds for every key; it returns how many did not make it.
func (e *env) waitFor(ctx context.Context, what string, keys []string, timeout time.Duration, pred func(*record) bool) (int, error) {
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for {
		done := e.tracker.count(keys, pred)
		if done == len(keys) {
			return 0, nil
		}
		if e.op.Exited() {
			return len(keys) - done, errors.New("the operator exited; see its log")
		}
		if time.Now().After(deadline) {
			logf("%s: %d of %d after %s; giving up", what, done, len(keys), timeout)
			return len(keys) - done, nil
		}
		if time.Since(lastLog) > 15*time.Second {
			logf("%s: %d of %d", what, done, len(keys))
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return len(keys) - done, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func jobRunning(r *record) bool     { return !r.jobRunning.IsZero() }
func hasChildren(r *record) bool    { return !r.allChildren().IsZero() }
func clusterStopped(r *record) bool { return r.state == "Stopped" }

// runningTimeout: generous, the point is to measure, not to time out.
func runningTimeout(n int) time.Duration {
	return 3*time.Minute + time.Duration(n)*300*time.Millisecond
}

func (e *env) phases(ctx context.Context) error {
	cfg, r := e.cfg, e.run

	// 1. Burst.
	profileDone := make(chan struct{})
	if cfg.profile {
		secs := min(60, max(20, e.n/20))
		go func() {
			defer close(profileDone)
			e.fetchProfile(ctx, fmt.Sprintf("profile?seconds=%d", secs), fmt.Sprintf("cpu-burst-%d.pprof", e.n), &r.CPUProfileTop)
		}()
	} else {
		close(profileDone)
	}
	logf("burst: creating %d FlinkClusters", e.n)
	cpu0, _ := scrapeOperator(ctx, e.opMetrics)
	apiBefore, err := apiWrites(ctx, e.kube)
	if err != nil {
		return err
	}
	lat0, _ := scrapeAPILatency(ctx, e.kube)
	machine0 := machineCPU()
	burstStart := time.Now()
	burstKeys, err := e.burst(ctx, "bench-burst", "b", e.n)
	if err != nil {
		return fmt.Errorf("burst: %w", err)
	}
	r.BurstCreate = time.Since(burstStart)
	logf("burst: %d creates sent in %s", e.n, r.BurstCreate.Round(time.Millisecond))
	if _, err := e.waitFor(ctx, "burst: children", burstKeys, runningTimeout(e.n), hasChildren); err != nil {
		return err
	}
	r.BurstMachineBusy = machineCPU().busySince(machine0)
	if lat1, err := scrapeAPILatency(ctx, e.kube); err == nil {
		r.BurstWriteLatency = lat1.meanSince(lat0)
	}
	missing, err := e.waitFor(ctx, "burst: job Running", burstKeys, runningTimeout(e.n), jobRunning)
	if err != nil {
		return err
	}
	burstEnd := time.Now()
	recs := e.tracker.snapshot(burstKeys)
	r.BurstChildren = latencies(recs, func(x record) time.Time { return x.added }, (*record).allChildren)
	r.BurstRunning = latencies(recs, func(x record) time.Time { return x.added }, func(x *record) time.Time { return x.jobRunning })
	r.BurstChildrenClient = latencies(recs, func(x record) time.Time { return x.createSent }, (*record).allChildren)
	r.BurstAllRunning = lastOf(recs, func(x record) time.Time { return x.jobRunning }).Sub(burstStart)
	r.BurstAvailable, r.BurstAllAvailable = e.available(burstKeys, burstStart)
	r.BurstMissing = missing
	cpu1, _ := scrapeOperator(ctx, e.opMetrics)
	r.BurstCPU = cpu1.cpu - cpu0.cpu
	r.BurstPeakRSS, r.BurstPeakHeap = e.sampler.peak(burstStart, burstEnd)
	r.BurstPeakCPU = e.sampler.peakCPURate(burstStart, burstEnd)
	r.BurstWrites = cpu1.writes - cpu0.writes
	if apiAfter, err := apiWrites(ctx, e.kube); err == nil {
		r.BurstAPIWrites, _, r.BurstEvents = apiAfter.diff(apiBefore)
	}
	logf("burst: all %d Running after %s; children p99 %s, Running p99 %s; peak RSS %.1f MiB",
		e.n-missing, r.BurstAllRunning.Round(time.Millisecond), r.BurstChildren.P99, r.BurstRunning.P99, r.BurstPeakRSS/mib)
	<-profileDone

	// 2. Steady rate.
	all := append([]string{}, burstKeys...)
	if r.Steady > 0 {
		logf("steady: creating %d FlinkClusters at %.1f/s", r.Steady, cfg.steadyRate)
		keys, err := e.steadyCreate(ctx, "bench-steady", "s", r.Steady, cfg.steadyRate)
		if err != nil {
			return fmt.Errorf("steady: %w", err)
		}
		if _, err := e.waitFor(ctx, "steady: job Running", keys, runningTimeout(len(keys)), jobRunning); err != nil {
			return err
		}
		recs := e.tracker.snapshot(keys)
		r.SteadyChildren = latencies(recs, func(x record) time.Time { return x.added }, (*record).allChildren)
		r.SteadyRunning = latencies(recs, func(x record) time.Time { return x.added }, func(x *record) time.Time { return x.jobRunning })
		all = append(all, keys...)
	}

	// 3. Finish some jobs: their clusters must stop costing Flink REST calls.
	var stoppedKeys []string
	for i := 0; i < cfg.stopped && i < len(burstKeys); i++ {
		stoppedKeys = append(stoppedKeys, burstKeys[len(burstKeys)-1-i])
	}
	for _, k := range stoppedKeys {
		rec := e.tracker.snapshot([]string{k})[0]
		ns, name, _ := strings.Cut(k, "/")
		if err := e.simPost(ctx, fmt.Sprintf("/sim/clusters/%s/%s/jobs/%s/finish", ns, name, rec.jobID)); err != nil {
			return fmt.Errorf("finishing the job of %s: %w", k, err)
		}
	}
	if len(stoppedKeys) > 0 {
		logf("finished the jobs of %d clusters; waiting until they are Stopped", len(stoppedKeys))
		if n, err := e.waitFor(ctx, "stopped clusters", stoppedKeys, 2*cfg.pollInterval+2*time.Minute, clusterStopped); err != nil || n > 0 {
			return fmt.Errorf("%d clusters did not stop: %v", n, err)
		}
	}
	stopped := map[string]bool{}
	for _, k := range stoppedKeys {
		stopped[k] = true
	}
	var runningKeys []string
	for _, k := range all {
		if !stopped[k] {
			runningKeys = append(runningKeys, k)
		}
	}

	// 4. Clusters that resume from the latest state (not in runningKeys: they poll once more a
	// minute), then idle.
	latestKeys, err := e.latestStateClusters(ctx, cfg.latestState)
	if err != nil {
		return err
	}
	all = append(all, latestKeys...)
	if err := e.idle(ctx, runningKeys, stoppedKeys, latestKeys); err != nil {
		return err
	}
	if cfg.profile {
		e.fetchProfile(ctx, "heap?gc=1", fmt.Sprintf("heap-%d.pprof", e.n), &r.HeapProfileTop)
	}

	// 5. Cold restart with everything Running.
	logf("cold restart with %d clusters", len(all))
	rr, err := e.restartOperator(ctx, cfg.workers, len(all), "operator-restart")
	if err != nil {
		return err
	}
	r.Restart = rr
	logf("cold restart: ready after %s, every cluster synced after %s, writes %s, events %d",
		rr.Ready.Round(time.Millisecond), rr.Synced.Round(time.Millisecond), rr.Writes, rr.Events)

	// 6. Throughput by worker count, each run on top of everything already Running.
	clusters := len(all)
	for _, w := range cfg.sweep {
		rr, err := e.restartOperator(ctx, w, clusters, fmt.Sprintf("operator-w%d", w))
		if err != nil {
			return err
		}
		ns := fmt.Sprintf("bench-tput-w%d", w)
		logf("throughput: %d workers, %d FlinkClusters in a burst (on top of %d)", w, cfg.throughputBatch, clusters)
		start := time.Now()
		keys, err := e.burst(ctx, ns, "t", cfg.throughputBatch)
		if err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
		missing, err := e.waitFor(ctx, fmt.Sprintf("throughput w=%d: job Running", w), keys, runningTimeout(len(keys)), jobRunning)
		if err != nil {
			return err
		}
		recs := e.tracker.snapshot(keys)
		last := lastOf(recs, func(x record) time.Time { return x.jobRunning })
		tp := throughputResult{Workers: w, Batch: len(keys), Missing: missing, Elapsed: last.Sub(start), Restart: rr,
			Running:  latencies(recs, func(x record) time.Time { return x.added }, func(x *record) time.Time { return x.jobRunning }),
			Children: latencies(recs, func(x record) time.Time { return x.added }, (*record).allChildren)}
		if s := tp.Elapsed.Seconds(); s > 0 {
			tp.PerSecond = float64(len(keys)-missing) / s
		}
		tp.PeakRSS, _ = e.sampler.peak(start, time.Now())
		r.Throughput = append(r.Throughput, tp)
		clusters += len(keys)
		logf("throughput: %d workers: %.1f clusters/s (%d in %s)", w, tp.PerSecond, len(keys)-missing, tp.Elapsed.Round(time.Millisecond))
	}
	r.Clusters = clusters
	if m, err := scrapeOperator(ctx, e.opMetrics); err == nil {
		r.FinalRSS = m.rss
	}
	return nil
}

// idle waits until nothing moves, then watches a window: API writes per Running cluster, Flink
// REST calls per Running and per stopped cluster, the operator's CPU and memory.
// latestStateClusters creates count clusters edited by latestState and waits until
// their jobs run.
func (e *env) latestStateClusters(ctx context.Context, count int) ([]string, error) {
	if count <= 0 {
		return nil, nil
	}
	const ns = "bench-latest"
	if err := e.namespace(ctx, ns); err != nil {
		return nil, err
	}
	var keys []string
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("latest-%05d", i)
		if err := e.createWith(ctx, ns, name, latestState); err != nil {
			return nil, fmt.Errorf("latest-state clusters: %w", err)
		}
		keys = append(keys, ns+"/"+name)
	}
	logf("latest state: created %d clusters with restartPolicy FromLatestStateOnFailure", count)
	if n, err := e.waitFor(ctx, "latest state: job Running", keys, runningTimeout(count), jobRunning); err != nil || n > 0 {
		return nil, fmt.Errorf("%d latest-state clusters did not run: %v", n, err)
	}
	return keys, nil
}

func (e *env) idle(ctx context.Context, runningKeys, stoppedKeys, latestKeys []string) error {
	r := e.run
	logf("idle: settling (queue empty, no API writes for 10 s)")
	settleStart := time.Now()
	var prev writeCounts
	stable := 0
	for stable < 5 {
		w, err := apiWrites(ctx, e.kube)
		if err != nil {
			return err
		}
		m, _ := scrapeOperator(ctx, e.opMetrics)
		_, d, ev := w.diff(prev)
		if prev != nil && d == 0 && ev == 0 && m.depth == 0 {
			stable++
		} else {
			stable = 0
		}
		prev = w
		if time.Since(settleStart) > 3*time.Minute {
			r.IdleNote = "did not settle within 3 min (writes kept coming); measured anyway"
			logf("idle: %s", r.IdleNote)
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	r.Settle = time.Since(settleStart)
	w0, err := apiWrites(ctx, e.kube)
	if err != nil {
		return err
	}
	s0, err := simRequests(ctx, e.simURL)
	if err != nil {
		return err
	}
	m0, err := scrapeOperator(ctx, e.opMetrics)
	if err != nil {
		return err
	}
	logf("idle: watching %d Running and %d stopped clusters for %s", len(runningKeys), len(stoppedKeys), e.cfg.idle)
	e.sampler.setInterval(15 * time.Second)
	defer e.sampler.setInterval(time.Second)
	start := time.Now()
	if e.cfg.profile {
		secs := int(min(60*time.Second, e.cfg.idle/2).Seconds())
		go e.fetchProfile(ctx, fmt.Sprintf("profile?seconds=%d", secs), fmt.Sprintf("cpu-idle-%d.pprof", e.n), &r.IdleCPUProfileTop)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(e.cfg.idle):
	}
	w1, err := apiWrites(ctx, e.kube)
	if err != nil {
		return err
	}
	s1, err := simRequests(ctx, e.simURL)
	if err != nil {
		return err
	}
	m1, err := scrapeOperator(ctx, e.opMetrics)
	if err != nil {
		return err
	}
	window := time.Since(start)
	minutes := window.Minutes()
	ir := idleResult{Window: window, Running: len(runningKeys), Stopped: len(stoppedKeys), Expected: expectedREST(e.cfg)}
	ir.Writes, ir.WritesTotal, ir.Events = w1.diff(w0)
	ir.WritesPerClusterMin = float64(ir.WritesTotal) / float64(len(runningKeys)) / minutes
	var sum float64
	ir.RESTMin = math.Inf(1)
	for _, k := range runningKeys {
		v := float64(s1[k]-s0[k]) / minutes
		sum += v
		ir.RESTMax = max(ir.RESTMax, v)
		ir.RESTMin = min(ir.RESTMin, v)
	}
	ir.RESTMean = sum / float64(len(runningKeys))
	for _, k := range stoppedKeys {
		ir.RESTStopped += s1[k] - s0[k]
	}
	ir.Latest, ir.LatestExpected = len(latestKeys), ir.Expected+1
	for _, k := range latestKeys {
		ir.LatestREST += float64(s1[k]-s0[k]) / minutes / float64(len(latestKeys))
	}
	ir.OperatorREST = (m1.restCalls - m0.restCalls) / float64(len(runningKeys)) / minutes
	ir.CPUPerMin = (m1.cpu - m0.cpu) / minutes
	samples := e.sampler.between(start, time.Now())
	for _, m := range samples {
		ir.RSSMean += m.rss / float64(len(samples))
		ir.RSSMax = max(ir.RSSMax, m.rss)
		ir.HeapMean += m.heapInuse / float64(len(samples))
		ir.Goroutines = m.goroutines
	}
	ir.Load = loadAvg()
	ir.RSSAnon, ir.RSSFile = procRSS(e.op.cmd.Process.Pid)
	r.Idle = ir
	logf("idle: writes %s (%.3f per Running cluster per minute), events %d; Flink REST per Running cluster per minute %.2f (max %.2f, expected %.1f), per stopped cluster %d; RSS %.1f MiB; CPU %.2f s/min",
		ir.Writes, ir.WritesPerClusterMin, ir.Events, ir.RESTMean, ir.RESTMax, ir.Expected, ir.RESTStopped, ir.RSSMean/mib, ir.CPUPerMin)
	return nil
}

func (e *env) simPost(ctx context.Context, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.simURL+path, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}

// latency is a distribution of durations over the clusters of a phase.
type latency struct {
	P50, P99, Max time.Duration
	Count         int
	Missing       int
}

func latencies(recs []record, from func(record) time.Time, to func(*record) time.Time) latency {
	var ds []time.Duration
	l := latency{}
	for i := range recs {
		a, b := from(recs[i]), to(&recs[i])
		if a.IsZero() || b.IsZero() {
			l.Missing++
			continue
		}
		ds = append(ds, max(0, b.Sub(a)))
	}
	s := summarize(ds)
	s.Missing = l.Missing
	return s
}

// summarize is the p50, p99 and max of ds.
func summarize(ds []time.Duration) latency {
	l := latency{}
	if len(ds) == 0 {
		return l
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	q := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return ds[min(max(i, 0), len(ds)-1)].Round(time.Millisecond)
	}
	l.P50, l.P99, l.Max, l.Count = q(0.50), q(0.99), ds[len(ds)-1].Round(time.Millisecond), len(ds)
	return l
}

func lastOf(recs []record, f func(record) time.Time) time.Time {
	var last time.Time
	for _, r := range recs {
		if t := f(r); t.After(last) {
			last = t
		}
	}
	return last
}

// expectedREST is the Flink REST calls per minute of an idle Running cluster: its polls and its
// health check's metrics reads.
func expectedREST(cfg *config) float64 {
	return 60/cfg.pollInterval.Seconds() + 60/cfg.healthInterval.Seconds()
}
