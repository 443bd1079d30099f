package main

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/flink-operator/flink-operator/pkg/controller"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
)

// maxWorkerStall is how long keys may wait with no worker progress before liveness fails. A sync
// is cut after controller.SyncTimeout (30 s), so a minute without progress means a wedged loop.
const maxWorkerStall = time.Minute

// probes serve /healthz (liveness: the worker loop is not wedged) and /readyz (readiness: the
// caches have synced). A standby replica is ready (its caches are warm for a fast takeover) and
// says in the body that it is not leading. Its informers fill the queue but no worker runs until
// it leads, so liveness judges the worker loop only while leading: a standby that fails liveness
// would be restarted by the kubelet every few minutes, for waiting as it should.
type probes struct {
	queue     interface{ Len() int }
	heartbeat *controller.Heartbeat
	synced    atomic.Bool
	leading   atomic.Bool
}

func newProbes(queue interface{ Len() int }, heartbeat *controller.Heartbeat) *probes {
	return &probes{queue: queue, heartbeat: heartbeat}
}

func (p *probes) setSynced() { p.synced.Store(true) }

// setLeading records whether this replica leads. The workers start when it starts leading, so the
// stall clock starts then too, not when the process (or its standby wait) started.
func (p *probes) setLeading(lead bool) {
	if lead && !p.leading.Load() {
		p.heartbeat.Beat()
	}
	p.leading.Store(lead)
	metrics.SetLeading(lead)
}

func (p *probes) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !p.leading.Load() {
			// No worker runs on a standby: keys wait by design.
			fmt.Fprintln(w, "ok")
			return
		}
		if err := p.heartbeat.Check(p.queue.Len(), maxWorkerStall); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !p.synced.Load() {
			http.Error(w, "informer caches not synced", http.StatusServiceUnavailable)
			return
		}
		if p.leading.Load() {
			fmt.Fprintln(w, "ok: leading")
			return
		}
		fmt.Fprintln(w, "ok: not leading (standby)")
	})
	return mux
}

func parseFloat32(s string, into *float32) error {
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return err
	}
	*into = float32(v)
	return nil
}
