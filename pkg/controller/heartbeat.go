package controller

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Heartbeat tells liveness probes whether the worker loop still makes progress: workers beat when
// they take and finish a key, and a queue with waiting keys but no beat for too long means every
// worker is wedged.
type Heartbeat struct {
	now  func() time.Time
	last atomic.Int64 // unix nanoseconds of the last beat
}

// NewHeartbeat returns a heartbeat that reads time from now.
func NewHeartbeat(now func() time.Time) *Heartbeat {
	h := &Heartbeat{now: now}
	h.Beat()
	return h
}

// Beat records progress.
func (h *Heartbeat) Beat() {
	if h != nil {
		h.last.Store(h.now().UnixNano())
	}
}

// Check fails when keys are waiting and no worker has made progress within maxStall.
func (h *Heartbeat) Check(queued int, maxStall time.Duration) error {
	if queued == 0 {
		return nil
	}
	stalled := h.now().Sub(time.Unix(0, h.last.Load()))
	if stalled > maxStall {
		return fmt.Errorf("worker loop wedged: %d keys queued and no progress for %s", queued, stalled.Round(time.Second))
	}
	return nil
}
