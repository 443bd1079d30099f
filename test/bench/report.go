package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const mib = 1 << 20

type results struct {
	Started, Finished  time.Time
	Machine            string
	LoadStart, LoadEnd string
	Command            string
	CI                 bool
	Go, Kubernetes     string
	Operator           string
	OperatorArgs       string
	PollInterval       time.Duration
	Workers            int
	Idle               time.Duration
	Micro              []microResult
	MicroTop           string
	Runs               []*runResult
	Sharded            *shardedResult
	Errors             []string
}

type runResult struct {
	N, Steady, Nodes, Clusters int
	SteadyRate                 float64
	KubeVersion                string
	ClusterUp                  time.Duration

	BurstCreate, BurstAllRunning time.Duration
	BurstMissing                 int
	BurstChildren, BurstRunning  latency
	BurstChildrenClient          latency
	// BurstAvailable: from the burst's first create to both Deployments of a cluster available;
	// BurstAllAvailable to the last cluster's. Floor is the same without the operator (floor.go).
	BurstAvailable                latency
	BurstAllAvailable             time.Duration
	Floor                         floorResult
	SteadyChildren, SteadyRunning latency
	BurstCPU, BurstPeakCPU        float64
	BurstPeakRSS, BurstPeakHeap   float64
	BurstWrites                   float64
	BurstAPIWrites                writeCounts
	BurstEvents                   int
	// Until every burst cluster had its children: the share of the machine's CPU that was busy
	// (every process) and the API server's mean write (POST, PUT) duration over all clients.
	BurstMachineBusy              float64
	BurstWriteLatency             time.Duration
	IdleCPUProfileTop             string
	Settle                        time.Duration
	IdleNote                      string
	Idle                          idleResult
	Restart                       restartResult
	Throughput                    []throughputResult
	FinalRSS                      float64
	CPUProfileTop, HeapProfileTop string
	Load                          string
	Admission                     admissionResult
}

type idleResult struct {
	Window                     time.Duration
	Running, Stopped           int
	Writes                     writeCounts
	WritesTotal, Events        int
	WritesPerClusterMin        float64
	Expected                   float64
	RESTMean, RESTMin, RESTMax float64
	RESTStopped                int64
	// Latest clusters resume from the latest state: LatestREST is their mean Flink REST calls per
	// minute, LatestExpected the documented rate (the poll plus one history read a minute).
	Latest                     int
	LatestREST, LatestExpected float64
	OperatorREST               float64
	CPUPerMin                  float64
	RSSMean, RSSMax, HeapMean  float64
	RSSAnon, RSSFile           float64 // /proc/PID/status at the end of the window
	Goroutines                 float64
	Load                       string
}

type restartResult struct {
	Clusters, Workers   int
	Ready, Synced       time.Duration
	Syncs, SyncErrors   float64
	Writes              writeCounts
	WritesTotal, Events int
	OperatorWrites      float64
	RSS                 float64
}

type throughputResult struct {
	Workers, Batch, Missing int
	Elapsed                 time.Duration
	PerSecond               float64
	Running, Children       latency
	PeakRSS                 float64
	Restart                 restartResult
}

type microResult struct {
	Name        string
	NsPerOp     float64
	SyncsPerSec float64
	BytesPerOp  float64
	AllocsPerOp float64
	Iterations  int
}

// fmtSigned is fmtDur with a sign: the operator can be faster than the floor (its creates
// meet a warmer control plane).
func fmtSigned(d time.Duration) string {
	if d < 0 {
		return "−" + fmtDur(-d)
	}
	return "+" + fmtDur(d)
}

func (l latency) String() string {
	if l.Count == 0 {
		return "n/a"
	}
	s := fmt.Sprintf("%s / %s / %s", fmtDur(l.P50), fmtDur(l.P99), fmtDur(l.Max))
	if l.Missing > 0 {
		s += fmt.Sprintf(" (%d missing)", l.Missing)
	}
	return s
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 100*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.0f s", d.Seconds())
	}
}

// summary is the table printed at the end and written into the doc.
func (res *results) summary(cfg *config) string {
	var b strings.Builder
	cols := []string{"metric"}
	for _, r := range res.Runs {
		cols = append(cols, fmt.Sprintf("N = %d", r.N))
	}
	row := func(name string, f func(r *runResult) string) {
		cells := []string{name}
		for _, r := range res.Runs {
			cells = append(cells, f(r))
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("| " + strings.Join(cols, " | ") + " |\n|" + strings.Repeat(" --- |", len(cols)) + "\n")
	row("clusters: burst + steady (nodes)", func(r *runResult) string {
		return fmt.Sprintf("%d + %d (%d nodes)", r.N, r.Steady, r.Nodes)
	})
	row("burst: create → all children, p50 / p99 / max", func(r *runResult) string { return r.BurstChildren.String() })
	row("burst: create → job Running, p50 / p99 / max", func(r *runResult) string { return r.BurstRunning.String() })
	row("burst: first create → JobManager and TaskManager available, p50 / p99 / max (→ last)", func(r *runResult) string {
		return fmt.Sprintf("%s (%s)", r.BurstAvailable, fmtDur(r.BurstAllAvailable))
	})
	row("floor: the same children without the operator, first create → available, p50 / p99 / max (→ last)", func(r *runResult) string {
		return fmt.Sprintf("%s (%s; %d in flight)", r.Floor.Available, fmtDur(r.Floor.AllAvailable), r.Floor.Concurrency)
	})
	row("operator's share: burst − floor at p50 / p99 (→ last)", func(r *runResult) string {
		if r.BurstAvailable.Count == 0 || r.Floor.Available.Count == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%s / %s (%s)", fmtSigned(r.BurstAvailable.P50-r.Floor.Available.P50),
			fmtSigned(r.BurstAvailable.P99-r.Floor.Available.P99), fmtSigned(r.BurstAllAvailable-r.Floor.AllAvailable))
	})
	row("burst: first create → last job Running", func(r *runResult) string {
		s := fmtDur(r.BurstAllRunning)
		if r.BurstMissing > 0 {
			s += fmt.Sprintf(" (%d not Running)", r.BurstMissing)
		}
		if r.BurstAllRunning > 0 {
			s += fmt.Sprintf(" = %.1f/s", float64(r.N-r.BurstMissing)/r.BurstAllRunning.Seconds())
		}
		return s
	})
	row("steady rate: create → all children, p50 / p99 / max", func(r *runResult) string {
		if r.Steady == 0 {
			return "-"
		}
		return fmt.Sprintf("%s (%.0f/s)", r.SteadyChildren, r.SteadyRate)
	})
	row("steady rate: create → job Running, p50 / p99 / max", func(r *runResult) string {
		if r.Steady == 0 {
			return "-"
		}
		return r.SteadyRunning.String()
	})
	for i, w := range cfg.sweep {
		i, w := i, w
		row(fmt.Sprintf("throughput, %d worker(s): clusters to Running per s", w), func(r *runResult) string {
			if i >= len(r.Throughput) {
				return "-"
			}
			t := r.Throughput[i]
			return fmt.Sprintf("%.1f (%d in %s; Running p50 %s)", t.PerSecond, t.Batch-t.Missing, fmtDur(t.Elapsed), fmtDur(t.Running.P50))
		})
	}
	row("idle: API writes per Running cluster per minute", func(r *runResult) string {
		return fmt.Sprintf("%.3f (%d writes: %s; events %d)", r.Idle.WritesPerClusterMin, r.Idle.WritesTotal, r.Idle.Writes, r.Idle.Events)
	})
	row("idle: Flink REST calls per Running cluster per minute (mean, min-max)", func(r *runResult) string {
		return fmt.Sprintf("%.2f (%.1f-%.1f; expected %.1f)", r.Idle.RESTMean, r.Idle.RESTMin, r.Idle.RESTMax, r.Idle.Expected)
	})
	row("idle: Flink REST calls of stopped clusters", func(r *runResult) string {
		return fmt.Sprintf("%d (%d clusters)", r.Idle.RESTStopped, r.Idle.Stopped)
	})
	row("idle: Flink REST calls per latest-state cluster per minute (mean)", func(r *runResult) string {
		return fmt.Sprintf("%.2f (%d clusters; expected at most %.1f)", r.Idle.LatestREST, r.Idle.Latest, r.Idle.LatestExpected)
	})
	row("idle: window, Running clusters", func(r *runResult) string {
		return fmt.Sprintf("%s, %d", fmtDur(r.Idle.Window.Round(time.Second)), r.Idle.Running)
	})
	row("RSS steady state (idle mean) / peak during burst", func(r *runResult) string {
		return fmt.Sprintf("%.1f / %.1f MiB", r.Idle.RSSMean/mib, r.BurstPeakRSS/mib)
	})
	row("RSS at the end of the idle window: anonymous + file-backed (the binary)", func(r *runResult) string {
		return fmt.Sprintf("%.1f + %.1f MiB", r.Idle.RSSAnon/mib, r.Idle.RSSFile/mib)
	})
	row("Go heap in use: idle / burst peak", func(r *runResult) string {
		return fmt.Sprintf("%.1f / %.1f MiB", r.Idle.HeapMean/mib, r.BurstPeakHeap/mib)
	})
	row("CPU: burst total / burst peak / idle", func(r *runResult) string {
		return fmt.Sprintf("%.1f s / %.2f cores / %.2f s per min", r.BurstCPU, r.BurstPeakCPU, r.Idle.CPUPerMin)
	})
	row("cold restart: clusters, ready (caches synced), every cluster synced", func(r *runResult) string {
		return fmt.Sprintf("%d, %s, %s", r.Restart.Clusters, fmtDur(r.Restart.Ready), fmtDur(r.Restart.Synced))
	})
	row("cold restart: API writes (events)", func(r *runResult) string {
		return fmt.Sprintf("%d: %s (%d)", r.Restart.WritesTotal, r.Restart.Writes, r.Restart.Events)
	})
	row("admission: server-side dry-run creates with / without the CRD's CEL rules", func(r *runResult) string { return r.Admission.String() })
	if cfg.profile {
		row("RSS at the end (all clusters)", func(r *runResult) string {
			return fmt.Sprintf("%.1f MiB (%d clusters)", r.FinalRSS/mib, r.Clusters)
		})
	}
	if res.Sharded != nil {
		b.WriteString(res.Sharded.summary())
	}
	if len(res.Micro) > 0 {
		b.WriteString("\nGo micro-benchmark (BenchmarkNoOpSync, fake clients and listers, 64 clusters):\n\n")
		b.WriteString("| sync | workers | syncs/s | µs per sync (wall) | bytes / allocs per sync |\n| --- | --- | --- | --- | --- |\n")
		for _, m := range res.Micro {
			kind, workers := microName(m.Name)
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.1f | %.0f / %.0f |\n", kind, workers, m.SyncsPerSec, m.NsPerOp/1000, m.BytesPerOp, m.AllocsPerOp)
		}
	}
	return b.String()
}

func microName(name string) (kind, workers string) {
	// BenchmarkNoOpSync/job/workers=2-2
	parts := strings.Split(name, "/")
	if len(parts) < 3 {
		return name, ""
	}
	kind = map[string]string{"session": "session cluster, Running", "job": "job cluster, job Running (1 stub GET /jobs/{id})"}[parts[1]]
	workers = strings.TrimPrefix(parts[2], "workers=")
	if i := strings.LastIndex(workers, "-"); i > 0 {
		workers = workers[:i]
	}
	return kind, workers
}

// target is one of the targets with the measured value.
type target struct {
	name, want, got string
	met             bool
	miss            string
}

func (res *results) targets(cfg *config) []target {
	var ts []target
	byN := map[int]*runResult{}
	for _, r := range res.Runs {
		byN[r.N] = r
	}
	for _, c := range []struct {
		n     int
		limit time.Duration
	}{{100, time.Second}, {1000, 5 * time.Second}} {
		r := byN[c.n]
		if r == nil {
			continue
		}
		t := target{name: fmt.Sprintf("create → children p99, burst of %d", c.n), want: "≤ " + fmtDur(c.limit), got: fmtDur(r.BurstChildren.P99)}
		t.met = r.BurstChildren.Count > 0 && r.BurstChildren.P99 <= c.limit && r.BurstChildren.Missing == 0
		if !t.met {
			t.miss = fmt.Sprintf("%.1f× the target (+%s)", r.BurstChildren.P99.Seconds()/c.limit.Seconds(), fmtDur(r.BurstChildren.P99-c.limit))
		}
		ts = append(ts, t)
	}
	for _, r := range res.Runs {
		t := target{name: fmt.Sprintf("API writes per idle cluster, N = %d", r.N), want: "0", got: fmt.Sprintf("%.3f per minute (%d in %s)", r.Idle.WritesPerClusterMin, r.Idle.WritesTotal, fmtDur(r.Idle.Window.Round(time.Second)))}
		t.met = r.Idle.WritesTotal == 0
		if !t.met {
			t.miss = fmt.Sprintf("%d writes: %s", r.Idle.WritesTotal, r.Idle.Writes)
		}
		ts = append(ts, t)
		t = target{name: fmt.Sprintf("Flink REST calls per Running cluster per minute, N = %d", r.N), want: fmt.Sprintf("%.1f (60 / %s + 60 / %s)", r.Idle.Expected, cfg.pollInterval, cfg.healthInterval),
			got: fmt.Sprintf("%.2f (max %.1f)", r.Idle.RESTMean, r.Idle.RESTMax)}
		t.met = r.Idle.RESTMean <= r.Idle.Expected*(1+cfg.restTolerance) && r.Idle.RESTMean >= r.Idle.Expected*(1-cfg.restTolerance)
		if !t.met {
			t.miss = fmt.Sprintf("%+.0f%%", 100*(r.Idle.RESTMean/r.Idle.Expected-1))
		}
		ts = append(ts, t)
		t = target{name: fmt.Sprintf("Flink REST calls of stopped clusters, N = %d", r.N), want: "0", got: fmt.Sprintf("%d (%d clusters)", r.Idle.RESTStopped, r.Idle.Stopped)}
		t.met = r.Idle.RESTStopped == 0
		if !t.met {
			t.miss = fmt.Sprintf("%d calls", r.Idle.RESTStopped)
		}
		ts = append(ts, t)
	}
	for _, c := range []struct {
		n     int
		limit float64
	}{{100, 40}, {1000, 80}, {5000, 300}} {
		r := byN[c.n]
		if r == nil {
			continue
		}
		for _, m := range []struct {
			what string
			v    float64
		}{{"steady state", r.Idle.RSSMean}, {"peak during the burst", r.BurstPeakRSS}} {
			t := target{name: fmt.Sprintf("RSS at %d clusters, %s", c.n, m.what), want: fmt.Sprintf("≤ %.0f MiB", c.limit), got: fmt.Sprintf("%.1f MiB", m.v/mib)}
			t.met = m.v > 0 && m.v/mib <= c.limit
			if !t.met {
				t.miss = fmt.Sprintf("+%.1f MiB (+%.0f%%)", m.v/mib-c.limit, 100*(m.v/mib/c.limit-1))
			}
			ts = append(ts, t)
		}
	}
	for _, m := range res.Micro {
		kind, workers := microName(m.Name)
		if workers != "2" {
			continue
		}
		t := target{name: "no-op syncs per second, 2 workers: " + kind, want: "≥ 2,000", got: fmt.Sprintf("%.0f", m.SyncsPerSec)}
		t.met = m.SyncsPerSec >= 2000
		if !t.met {
			t.miss = fmt.Sprintf("%.0f%% of the target", 100*m.SyncsPerSec/2000)
		}
		ts = append(ts, t)
	}
	for _, r := range res.Runs {
		if r.N != 1000 && !cfg.ci {
			continue
		}
		t := target{name: fmt.Sprintf("cold restart at %d Running clusters: writes", r.Restart.Clusters), want: "0", got: fmt.Sprintf("%d", r.Restart.WritesTotal)}
		t.met = r.Restart.WritesTotal == 0
		if !t.met {
			t.miss = fmt.Sprintf("%d writes: %s", r.Restart.WritesTotal, r.Restart.Writes)
		}
		ts = append(ts, t)
	}
	for _, r := range res.Runs {
		if r.Admission.Creates == 0 {
			continue
		}
		a := r.Admission
		t := target{name: "what the CRD's CEL rules add to a FlinkCluster create", want: "< 15%", got: fmt.Sprintf("+%.0f%% (%s vs %s)", 100*a.Overhead(), fmtDur(a.With), fmtDur(a.Without))}
		t.met = a.Overhead() < 0.15
		if !t.met {
			t.miss = fmt.Sprintf("%.1f percentage points over", 100*a.Overhead()-15)
		}
		ts = append(ts, t)
	}
	if r := res.Sharded; r != nil {
		t := target{name: fmt.Sprintf("%d job clusters over %d shards all Running within the cap", r.N, r.Shards), want: "≤ " + fmtDur(r.Cap),
			got: fmtDur(r.AllRunning)}
		t.met = r.Missing == 0
		if !t.met {
			t.got += fmt.Sprintf(", %d not Running", r.Missing)
			t.miss = fmt.Sprintf("%d clusters", r.Missing)
		}
		ts = append(ts, t)
	}
	return ts
}

// ciCheck is what fails the CI variant: idle writes, restart writes, Flink REST polls above the
// documented rate, polls of stopped clusters.
func (res *results) ciCheck(cfg *config) []string {
	var out []string
	if len(res.Runs) == 0 {
		return append(out, "no run finished: "+strings.Join(res.Errors, "; "))
	}
	out = append(out, res.Errors...)
	for _, r := range res.Runs {
		if r.Idle.Window == 0 {
			out = append(out, fmt.Sprintf("N=%d: no idle measurement", r.N))
			continue
		}
		if r.Idle.WritesTotal != 0 {
			out = append(out, fmt.Sprintf("N=%d: %d API writes in the idle window (%s), want 0", r.N, r.Idle.WritesTotal, r.Idle.Writes))
		}
		if r.Restart.Synced == 0 {
			out = append(out, fmt.Sprintf("N=%d: no cold-restart measurement", r.N))
		} else if r.Restart.WritesTotal != 0 {
			out = append(out, fmt.Sprintf("N=%d: the cold restart wrote %d times (%s), want 0", r.N, r.Restart.WritesTotal, r.Restart.Writes))
		}
		limit := r.Idle.Expected * (1 + cfg.restTolerance)
		if r.Idle.RESTMean > limit {
			out = append(out, fmt.Sprintf("N=%d: %.2f Flink REST calls per Running cluster per minute, limit %.2f (60 / %s + 60 / %s, + %.0f%%)", r.N, r.Idle.RESTMean, limit, cfg.pollInterval, cfg.healthInterval, 100*cfg.restTolerance))
		}
		// One cluster may see one poll more than the mean at the window's edges, not more.
		if perCluster := (r.Idle.Expected + 1) * (1 + cfg.restTolerance) * 60 / r.Idle.Window.Seconds() * r.Idle.Window.Minutes(); r.Idle.RESTMax > perCluster+60/r.Idle.Window.Seconds() {
			out = append(out, fmt.Sprintf("N=%d: a cluster made %.2f Flink REST calls per minute, limit %.2f", r.N, r.Idle.RESTMax, perCluster+60/r.Idle.Window.Seconds()))
		}
		if r.Idle.RESTStopped != 0 {
			out = append(out, fmt.Sprintf("N=%d: stopped clusters got %d Flink REST calls, want 0", r.N, r.Idle.RESTStopped))
		}
		if latest := r.Idle.LatestExpected * (1 + cfg.restTolerance); r.Idle.Latest > 0 && r.Idle.LatestREST > latest {
			out = append(out, fmt.Sprintf("N=%d: %.2f Flink REST calls per latest-state cluster per minute, limit %.2f (the poll and one checkpoint read a minute, + %.0f%%)",
				r.N, r.Idle.LatestREST, latest, 100*cfg.restTolerance))
		}
	}
	return out
}

const (
	docBegin = "<!-- BEGIN GENERATED by make bench (test/bench): everything up to END is replaced on every run -->"
	docEnd   = "<!-- END GENERATED -->"
)

// writeDoc replaces the generated section of the doc (or writes the whole doc, if it has none).
func writeDoc(path string, res *results, cfg *config) error {
	gen := res.generated(cfg)
	old, err := os.ReadFile(path)
	if err == nil {
		s := string(old)
		i, j := strings.Index(s, docBegin), strings.Index(s, docEnd)
		if i >= 0 && j > i {
			return os.WriteFile(path, []byte(s[:i]+gen+s[j+len(docEnd):]), 0o644)
		}
	}
	return os.WriteFile(path, []byte(docSkeletonHead+gen+docSkeletonTail), 0o644)
}

func (res *results) generated(cfg *config) string {
	var b strings.Builder
	b.WriteString(docBegin + "\n\n")
	fmt.Fprintf(&b, "## Latest run\n\n")
	fmt.Fprintf(&b, "- Date: %s (%s wall)\n", res.Started.UTC().Format("2006-01-02 15:04 MST"), res.Finished.Sub(res.Started).Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %s\n", res.Machine)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min) at the start / end: %s / %s. The machine is shared: other builds and tests ran at the same time, and the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok), the simulator and the harness run on the same 2 cores as the operator.\n", res.LoadStart, res.LoadEnd)
	fmt.Fprintf(&b, "- Go %s; Kubernetes %s (local control plane, kwok nodes); operator %s\n", strings.TrimPrefix(res.Go, "go"), res.Kubernetes, res.Operator)
	fmt.Fprintf(&b, "- Command: `%s`\n", res.Command)
	opArgs := res.OperatorArgs
	if opArgs == "" {
		opArgs = "none (client QPS 200, burst 400: the defaults)"
	}
	fmt.Fprintf(&b, "- Operator: `--workers=%d --flink-poll-interval=%s`, other flags: %s\n\n", res.Workers, res.PollInterval, opArgs)
	b.WriteString(res.summary(cfg))
	b.WriteString("\n### Targets\n\n| target | wanted | measured | met | missed by |\n| --- | --- | --- | --- | --- |\n")
	for _, t := range res.targets(cfg) {
		met := "met"
		if !t.met {
			met = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", t.name, t.want, t.got, met, t.miss)
	}
	b.WriteString("\n### Details\n")
	for _, r := range res.Runs {
		fmt.Fprintf(&b, "\n**N = %d.** Cluster up in %s. Burst: %d creates sent in %s; create → children measured from the create request instead of the watch event: %s. Until every burst cluster had its children the machine's CPU was %.0f%% busy (all processes) and a write took the API server %s on average (POST and PUT of every client). The operator made %.0f API writes (its own counter, without events) until every burst job was Running; the API server counted %s and %d events (all writers: the operator's Event recorder, kube-controller-manager, the scheduler). Settled in %s before the idle window",
			r.N, fmtDur(r.ClusterUp), r.N, fmtDur(r.BurstCreate), r.BurstChildrenClient, 100*r.BurstMachineBusy, fmtDur(r.BurstWriteLatency), r.BurstWrites, r.BurstAPIWrites, r.BurstEvents, fmtDur(r.Settle))
		if r.IdleNote != "" {
			b.WriteString(" (" + r.IdleNote + ")")
		}
		fmt.Fprintf(&b, "; idle: %.2f Flink REST calls per Running cluster per minute by the operator's own count, %.0f goroutines, load %s. Cold restart: %.0f syncs, %.0f failed, RSS %.1f MiB after it. Load at the end of the run: %s.\n",
			r.Idle.OperatorREST, r.Idle.Goroutines, r.Idle.Load, r.Restart.Syncs, r.Restart.SyncErrors, r.Restart.RSS/mib, r.Load)
		if len(r.Throughput) > 0 {
			b.WriteString("\n| workers | clusters/s | create → children p50 / p99 / max | create → Running p50 / p99 / max | peak RSS | restart before: every cluster synced after |\n| --- | --- | --- | --- | --- | --- |\n")
			for _, t := range r.Throughput {
				fmt.Fprintf(&b, "| %d | %.1f | %s | %s | %.1f MiB | %s (%d clusters, writes %d) |\n", t.Workers, t.PerSecond, t.Children, t.Running, t.PeakRSS/mib, fmtDur(t.Restart.Synced), t.Restart.Clusters, t.Restart.WritesTotal)
			}
		}
		if r.CPUProfileTop != "" {
			fmt.Fprintf(&b, "\n<details><summary>N = %d: operator CPU profile during the burst (pprof -top)</summary>\n\n```\n%s```\n</details>\n", r.N, r.CPUProfileTop)
		}
		if r.IdleCPUProfileTop != "" {
			fmt.Fprintf(&b, "\n<details><summary>N = %d: operator CPU profile in the idle window (pprof -top)</summary>\n\n```\n%s```\n</details>\n", r.N, r.IdleCPUProfileTop)
		}
		if r.HeapProfileTop != "" {
			fmt.Fprintf(&b, "\n<details><summary>N = %d: operator heap in use after the idle window (pprof -top -sample_index=inuse_space)</summary>\n\n```\n%s```\n</details>\n", r.N, r.HeapProfileTop)
		}
	}
	if res.MicroTop != "" {
		fmt.Fprintf(&b, "\n<details><summary>Micro-benchmark CPU profile (pprof -top)</summary>\n\n```\n%s```\n</details>\n", res.MicroTop)
	}
	if len(res.Errors) > 0 {
		b.WriteString("\nErrors: " + strings.Join(res.Errors, "; ") + "\n")
	}
	b.WriteString("\n" + docEnd)
	return b.String()
}

// fetchProfile saves an operator pprof profile and its -top summary.
func (e *env) fetchProfile(ctx context.Context, path, file string, top *string) {
	url := e.opPprof + "/" + path
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		logf("profile %s: %v", url, err)
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		logf("profile %s: %v %s", url, err, resp.Status)
		return
	}
	out := filepath.Join(e.cfg.out, file)
	if err := os.WriteFile(out, data, 0o644); err != nil {
		logf("profile: %v", err)
		return
	}
	args := []string{"tool", "pprof", "-top", "-nodecount=18"}
	if strings.HasPrefix(path, "heap") {
		args = append(args, "-sample_index=inuse_space")
	}
	*top = pprofTop(ctx, append(args, e.cfg.operatorBin, out)...)
	logf("profile saved: %s", out)
}

func pprofTop(ctx context.Context, args ...string) string {
	cmd := exec.CommandContext(ctx, "go", args...)
	outb, err := cmd.Output()
	if err != nil {
		return fmt.Sprintf("go %v: %v\n", args, err)
	}
	// Drop the header lines pprof prints before the table, except "Showing nodes ...".
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Type:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

var benchLine = regexp.MustCompile(`^(BenchmarkNoOpSync/\S+)\s+(\d+)\s+(.*)$`)

// runMicro runs BenchmarkNoOpSync, then once more with a CPU profile (the profiler's own cost
// stays out of the reported numbers).
func runMicro(ctx context.Context, cfg *config) []microResult {
	logf("micro-benchmark: go test -bench BenchmarkNoOpSync -benchtime 3s ./pkg/controller/")
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "BenchmarkNoOpSync", "-benchtime", "3s", "-count", "1", "./pkg/controller/")
	cmd.Dir = cfg.root
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(cfg.out, "micro.txt"), out, 0o644)
	if err != nil {
		logf("micro-benchmark failed: %v\n%s", err, out)
		return nil
	}
	var rs []microResult
	for _, line := range strings.Split(string(out), "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		r := microResult{Name: m[1]}
		r.Iterations, _ = strconv.Atoi(m[2])
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseFloat(f[i], 64)
			switch f[i+1] {
			case "ns/op":
				r.NsPerOp = v
			case "syncs/s":
				r.SyncsPerSec = v
			case "B/op":
				r.BytesPerOp = v
			case "allocs/op":
				r.AllocsPerOp = v
			}
		}
		rs = append(rs, r)
		logf("micro-benchmark: %s: %.0f syncs/s", r.Name, r.SyncsPerSec)
	}
	prof := filepath.Join(cfg.out, "micro-cpu.pprof")
	testBin := filepath.Join(cfg.out, "controller.test")
	cmd = exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "BenchmarkNoOpSync/job/workers=1$", "-benchtime", "2s", "-count", "1",
		"-cpuprofile", prof, "-o", testBin, "./pkg/controller/")
	cmd.Dir = cfg.root
	if out, err := cmd.CombinedOutput(); err != nil {
		logf("micro-benchmark profile failed: %v\n%s", err, out)
		return rs
	}
	microTop = pprofTop(ctx, "tool", "pprof", "-top", "-nodecount=25", "-focus=benchWorker", testBin, prof)
	return rs
}

// microTop is the micro-benchmark's profile summary (set by runMicro).
var microTop string

func machineInfo() string {
	cores := runtime.NumCPU()
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				if kb, err := strconv.Atoi(strings.Fields(l)[1]); err == nil {
					mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, model, _ = strings.Cut(l, ":")
				model = strings.TrimSpace(model)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d cores (%s), %s memory, Linux %s %s", cores, model, mem, strings.TrimSpace(string(kernel)), runtime.GOARCH)
}

// procRSS reads a process's anonymous and file-backed resident memory (bytes).
func procRSS(pid int) (anon, file float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "RssAnon:":
			anon = kb * 1024
		case "RssFile:":
			file = kb * 1024
		}
	}
	return anon, file
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func gitDescribe(root string) string {
	cmd := exec.Command("git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
