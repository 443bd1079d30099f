package observer

import (
	"sync"
	"time"
)

// savepointClock remembers when this operator process first saw each cluster's savepoint in
// flight, on its own clock (with Go's monotonic reading), so that a savepoint's timeout is
// measured precisely and never against the second-truncated start that status records, which
// may come from another replica's clock. A new leader starts counting when it first sees the
// savepoint: its timeout can only come late, never early. The zero value is ready to use.
type savepointClock struct {
	mu   sync.Mutex
	seen map[string]seenSavepoint
}

type seenSavepoint struct {
	triggerID string
	at        time.Time
}

// seenAt returns when triggerID was first seen for the cluster key, recording now if it is
// new. An empty triggerID (nothing in flight) forgets the cluster and returns the zero time.
func (c *savepointClock) seenAt(key, triggerID string, now time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if triggerID == "" {
		delete(c.seen, key)
		return time.Time{}
	}
	if s, ok := c.seen[key]; ok && s.triggerID == triggerID {
		return s.at
	}
	if c.seen == nil {
		c.seen = map[string]seenSavepoint{}
	}
	c.seen[key] = seenSavepoint{triggerID: triggerID, at: now}
	return now
}

// historyClock remembers, per cluster, when this process last read the current job's checkpoint
// history, so that a running job's latest checkpoint is recorded at a bounded rate without a
// status write per read. A restarted operator reads it once at its first poll. The zero value is
// ready to use.
type historyClock struct {
	mu   sync.Mutex
	last map[string]historyRead
}

type historyRead struct {
	jobID string
	at    time.Time
}

// at is when jobID's history was last read for the cluster key (zero when it was not, or only
// another job's was).
func (c *historyClock) at(key, jobID string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.last[key]; ok && r.jobID == jobID {
		return r.at
	}
	return time.Time{}
}

// read records that jobID's history was read at now.
func (c *historyClock) read(key, jobID string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]historyRead{}
	}
	c.last[key] = historyRead{jobID: jobID, at: now}
}

// forget drops a deleted cluster.
func (c *historyClock) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.last, key)
}
