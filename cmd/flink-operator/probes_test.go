package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/flink-operator/flink-operator/pkg/controller"
)

// fakeQueue is the queue length the probes read.
type fakeQueue struct{ n atomic.Int64 }

func (q *fakeQueue) Len() int { return int(q.n.Load()) }

// fakeClock is the time the heartbeat reads.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }
func newFakeClock(start time.Time) *fakeClock {
	c := &fakeClock{}
	c.t.Store(start.UnixNano())
	return c
}
func get(h http.Handler, path string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

func TestReadyzFailsUntilCachesSynced(t *testing.T) {
	clock := newFakeClock(time.Unix(1700000000, 0))
	p := newProbes(&fakeQueue{}, controller.NewHeartbeat(clock.now))
	h := p.handler()

	code, body := get(h, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "informer caches not synced", body)

	p.setSynced()
	code, body = get(h, "/readyz")
	assert.Equal(t, http.StatusOK, code, "a synced standby is ready: its caches are warm for a takeover")
	assert.Equal(t, "ok: not leading (standby)", body)

	p.setLeading(true)
	code, body = get(h, "/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok: leading", body)
}

// TestStandbyStaysLive: a standby's informers enqueue every FlinkCluster but no worker takes
// them until it leads; that is not a wedged loop, and liveness must not restart it.
func TestStandbyStaysLive(t *testing.T) {
	clock := newFakeClock(time.Unix(1700000000, 0))
	queue := &fakeQueue{}
	p := newProbes(queue, controller.NewHeartbeat(clock.now))
	p.setSynced()
	h := p.handler()

	queue.n.Store(25)
	clock.advance(time.Hour)
	code, body := get(h, "/healthz")
	assert.Equal(t, http.StatusOK, code, "standby with queued keys and no worker: %s", body)
	code, _ = get(h, "/readyz")
	assert.Equal(t, http.StatusOK, code)

	// Taking over after an hour of standing by starts the stall clock afresh.
	p.setLeading(true)
	clock.advance(maxWorkerStall - time.Second)
	code, body = get(h, "/healthz")
	assert.Equal(t, http.StatusOK, code, "a new leader gets maxWorkerStall to make progress: %s", body)
}

func TestHealthzFailsWhenTheWorkerLoopIsWedged(t *testing.T) {
	clock := newFakeClock(time.Unix(1700000000, 0))
	queue := &fakeQueue{}
	heartbeat := controller.NewHeartbeat(clock.now)
	p := newProbes(queue, heartbeat)
	p.setSynced()
	p.setLeading(true)
	h := p.handler()

	code, _ := get(h, "/healthz")
	assert.Equal(t, http.StatusOK, code)

	// Idle: nothing queued, no progress needed, however long.
	clock.advance(time.Hour)
	code, _ = get(h, "/healthz")
	assert.Equal(t, http.StatusOK, code, "an idle loop with an empty queue is healthy")

	// Keys wait and workers keep beating: healthy.
	queue.n.Store(3)
	heartbeat.Beat()
	clock.advance(maxWorkerStall / 2)
	code, _ = get(h, "/healthz")
	assert.Equal(t, http.StatusOK, code)

	// Keys wait and no worker made progress for longer than maxWorkerStall: wedged.
	clock.advance(maxWorkerStall)
	code, body := get(h, "/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "worker loop wedged: 3 keys queued")
	code, _ = get(h, "/readyz")
	assert.Equal(t, http.StatusOK, code, "readiness does not follow liveness")

	// A worker finishing a key makes it healthy again.
	heartbeat.Beat()
	code, _ = get(h, "/healthz")
	assert.Equal(t, http.StatusOK, code)
}
