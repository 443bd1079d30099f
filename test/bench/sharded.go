package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/metadata"

	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	"github.com/flink-operator/flink-operator/test/ports"
)

// shardedNamespace holds the sharded run's clusters; shardLeases the shards' Leases.
const (
	shardedNamespace = "bench-sharded"
	shardLeases      = "bench-leases"
)

// shardedResult is one burst of job clusters split evenly over several operator processes, each
// started with --shard, on a fresh cluster, against a wall-clock cap stated before the run.
type shardedResult struct {
	N, Shards, Nodes int
	Workers          int
	PollInterval     time.Duration
	Cap              time.Duration
	ClusterUp        time.Duration
	// Create: until every create was answered; AllRunning: first create to the last job Running
	// (at most Cap); Missing: jobs not Running within Cap.
	Create, AllRunning time.Duration
	Missing            int
	Children, Running  latency
	// Per shard: peak and final RSS, the operator's API writes and syncs.
	PeakRSS, RSS, Writes, Syncs []float64
	MachineBusy                 float64
	// Idle: the API writes of every writer to the kinds the operator writes, over IdleWindow
	// once everything ran.
	IdleWindow time.Duration
	IdleWrites int
}

// shardName is the shard of the i-th of k shards.
func shardName(i int) string { return fmt.Sprintf("s%d", i) }

// runSharded runs cfg.shardedN clusters over cfg.shards shards.
func runSharded(parent context.Context, cfg *config) (*shardedResult, error) {
	n, k := cfg.shardedN, cfg.shards
	r := &shardedResult{N: n, Shards: k, Nodes: (n*podsPerFC+podsPerNode-1)/podsPerNode + 2, Cap: cfg.shardedCap,
		Workers: cfg.shardWorkers, PollInterval: cfg.shardPollInterval}
	logf("==== sharded: %d clusters over %d shards, %d nodes; cap %s from the first create", n, k, r.Nodes, cfg.shardedCap)
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	clusterDown(cfg)
	start := time.Now()
	if err := clusterUp(ctx, cfg, r.Nodes); err != nil {
		return nil, err
	}
	defer func() {
		cancel()
		clusterDown(cfg)
	}()
	r.ClusterUp = time.Since(start)
	e := &env{cfg: cfg, n: n}
	if err := e.connect(); err != nil {
		return nil, err
	}
	if err := run(ctx, []string{"KUBECONFIG=" + cfg.kubeconfig, "KUBECTL=" + filepath.Join(cfg.root, "bin", "kubectl")},
		cfg.root, filepath.Join(cfg.root, "hack", "install-crd.sh")); err != nil {
		return nil, err
	}
	e.tracker = newTracker()
	if err := e.tracker.start(ctx, e.dyn, metadata.NewForConfigOrDie(mustConfig(cfg.kubeconfig))); err != nil {
		return nil, err
	}
	if err := e.startSim(ctx); err != nil {
		return nil, err
	}
	defer e.sim.Stop()
	shards, err := e.startShards(ctx, k)
	if err != nil {
		return r, err
	}
	defer func() {
		for _, s := range shards {
			s.proc.Stop()
		}
	}()
	peaks := startPeakRSS(shards)

	machine0 := machineCPU()
	burstStart := time.Now()
	keys, err := e.burstWith(ctx, shardedNamespace, "x", n, func(i int) func(*unstructured.Unstructured) error {
		return func(o *unstructured.Unstructured) error {
			o.SetLabels(map[string]string{shard.Label: shardName(i % k)})
			return nil
		}
	})
	r.Create = time.Since(burstStart)
	if err != nil {
		return r, fmt.Errorf("sharded burst: %w", err)
	}
	logf("sharded: %d creates answered in %s", n, r.Create.Round(time.Millisecond))
	r.Missing = e.waitRunningUntil(ctx, keys, shards, burstStart.Add(cfg.shardedCap))
	r.MachineBusy = machineCPU().busySince(machine0)
	recs := e.tracker.snapshot(keys)
	r.Children = latencies(recs, func(x record) time.Time { return x.added }, (*record).allChildren)
	r.Running = latencies(recs, func(x record) time.Time { return x.added }, func(x *record) time.Time { return x.jobRunning })
	r.AllRunning = lastOf(recs, func(x record) time.Time { return x.jobRunning }).Sub(burstStart)
	logf("sharded: %d of %d Running; last after %s; Running p99 %s", n-r.Missing, n, r.AllRunning.Round(time.Millisecond), r.Running.P99)
	if r.Missing == 0 {
		if err := e.shardedIdle(ctx, r); err != nil {
			return r, err
		}
	}
	r.PeakRSS = peaks.stop()
	for _, s := range shards {
		m, err := scrapeOperator(ctx, s.metrics)
		if err != nil {
			return r, fmt.Errorf("shard %s: %w", s.name, err)
		}
		r.RSS, r.Writes, r.Syncs = append(r.RSS, m.rss), append(r.Writes, m.writes), append(r.Syncs, m.syncs)
	}
	return r, nil
}

// shardProcess is one operator process of the sharded run.
type shardProcess struct {
	name, metrics string
	proc          *process
}

// startShards starts k operator processes, shards s0…, each electing its leader on its own Lease.
func (e *env) startShards(ctx context.Context, k int) ([]shardProcess, error) {
	if err := e.namespace(ctx, shardLeases); err != nil {
		return nil, err
	}
	var shards []shardProcess
	for i := 0; i < k; i++ {
		p, err := ports.Free(2)
		if err != nil {
			return shards, err
		}
		s := shardProcess{name: shardName(i), metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", p[0])}
		args := append([]string{"--kubeconfig", e.cfg.kubeconfig,
			fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", p[0]),
			fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", p[1]),
			"--jobmanager-url-template=" + e.simURL + "/clusters/{{.Namespace}}/{{.Name}}",
			fmt.Sprintf("--workers=%d", e.cfg.shardWorkers),
			"--flink-poll-interval=" + e.cfg.shardPollInterval.String(),
			"--health-check-interval=" + e.cfg.healthInterval.String(),
			"--shard=" + s.name, "--leader-elect", "--leader-election-namespace=" + shardLeases, "--leader-election-identity=" + s.name,
		}, e.cfg.operatorArgs...)
		s.proc = &process{name: "flink-operator-" + s.name, bin: e.cfg.operatorBin, args: args,
			log: filepath.Join(e.cfg.out, fmt.Sprintf("operator-%s-%d.log", s.name, e.n))}
		if err := s.proc.Start(); err != nil {
			return shards, err
		}
		shards = append(shards, s)
		if err := waitHTTP(ctx, s.metrics, 30*time.Second); err != nil {
			return shards, err
		}
	}
	return shards, nil
}

// waitRunningUntil waits until every key's job runs, a shard exits or deadline passes; it
// returns how many did not run.
func (e *env) waitRunningUntil(ctx context.Context, keys []string, shards []shardProcess, deadline time.Time) int {
	lastLog := time.Now()
	for {
		done := e.tracker.count(keys, jobRunning)
		if done == len(keys) {
			return 0
		}
		for _, s := range shards {
			if s.proc.Exited() {
				logf("sharded: shard %s exited; see its log", s.name)
				return len(keys) - done
			}
		}
		if time.Now().After(deadline) {
			logf("sharded: %d of %d Running at the cap; stopping there", done, len(keys))
			return len(keys) - done
		}
		if time.Since(lastLog) > 30*time.Second {
			logf("sharded: %d of %d Running", done, len(keys))
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return len(keys) - done
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// shardedIdle counts the API writes over a window once everything ran, after a settling minute.
func (e *env) shardedIdle(ctx context.Context, r *shardedResult) error {
	r.IdleWindow = min(e.cfg.idle, 2*time.Minute)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
	}
	before, err := apiWrites(ctx, e.kube)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(r.IdleWindow):
	}
	after, err := apiWrites(ctx, e.kube)
	if err != nil {
		return err
	}
	_, r.IdleWrites, _ = after.diff(before)
	return nil
}

// peakRSS samples the shards' RSS every two seconds and keeps each one's peak.
type peakRSS struct {
	mu    sync.Mutex
	peaks []float64
	quit  chan struct{}
	done  chan struct{}
}

func startPeakRSS(shards []shardProcess) *peakRSS {
	p := &peakRSS{peaks: make([]float64, len(shards)), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			for i, s := range shards {
				if m, err := scrapeOperator(context.Background(), s.metrics); err == nil {
					p.mu.Lock()
					p.peaks[i] = max(p.peaks[i], m.rss)
					p.mu.Unlock()
				}
			}
			select {
			case <-p.quit:
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
	return p
}

func (p *peakRSS) stop() []float64 {
	close(p.quit)
	<-p.done
	return append([]float64(nil), p.peaks...)
}

// mibList formats byte counts as "a / b MiB".
func mibList(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%.0f", v/mib)
	}
	return strings.Join(parts, " / ") + " MiB"
}

func countList(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%.0f", v)
	}
	return strings.Join(parts, " / ")
}

// shardedSummary is the sharded run's table.
func (r *shardedResult) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nSharded run: %d job clusters labelled round-robin for %d shards (`--shard=s0` … each its own operator process and Lease, `--workers=%d --flink-poll-interval=%s` each), %d nodes; wall-clock cap %s from the first create, stated before the run:\n\n",
		r.N, r.Shards, r.Workers, r.PollInterval, r.Nodes, fmtDur(r.Cap))
	b.WriteString("| metric | value |\n| --- | --- |\n")
	row := func(name, value string) { fmt.Fprintf(&b, "| %s | %s |\n", name, value) }
	row("creates answered (16 in flight)", fmtDur(r.Create))
	row("create → all children, p50 / p99 / max", r.Children.String())
	row("create → job Running, p50 / p99 / max", r.Running.String())
	allRunning := fmtDur(r.AllRunning)
	if r.Missing > 0 {
		allRunning += fmt.Sprintf(" (%d not Running at the cap)", r.Missing)
	}
	row("first create → last job Running", allRunning)
	row("machine CPU busy until then", fmt.Sprintf("%.0f%%", 100*r.MachineBusy))
	row("RSS per shard: peak; at the end", mibList(r.PeakRSS)+"; "+mibList(r.RSS))
	row("operator API writes per shard; syncs per shard", countList(r.Writes)+"; "+countList(r.Syncs))
	if r.IdleWindow > 0 {
		row(fmt.Sprintf("idle: API writes to the operator's kinds over %s, every writer", fmtDur(r.IdleWindow)), fmt.Sprintf("%d", r.IdleWrites))
	}
	return b.String()
}
