package observer

import (
	"sync"
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// SubmitterCacheGrace is how long after creating a submitter the observer vouches for it while the
// Job cache does not show it yet: a sync in that gap would otherwise see no submitter and create
// it again (the API server rejects the duplicate, but it is a write all the same).
const SubmitterCacheGrace = 10 * time.Second

// createdSubmitters remembers, per cluster, the job ID of the last submitter this process created
// and when. The zero value is ready to use.
type createdSubmitters struct {
	mu      sync.Mutex
	created map[string]createdSubmitter
}

type createdSubmitter struct {
	jobID string
	at    time.Time
}

// recent returns jobID when this process created its submitter less than SubmitterCacheGrace
// before now, "" otherwise.
func (c *createdSubmitters) recent(key, jobID string, now time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.created[key]
	if !ok || s.jobID != jobID || now.Sub(s.at) >= SubmitterCacheGrace {
		return ""
	}
	return jobID
}

func (c *createdSubmitters) record(key, jobID string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.created == nil {
		c.created = map[string]createdSubmitter{}
	}
	c.created[key] = createdSubmitter{jobID: jobID, at: now}
}

func (c *createdSubmitters) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.created, key)
}

// SubmitterCreated records that the sync at now created the submitter of jobID.
func (o *Observer) SubmitterCreated(fc *v1beta1.FlinkCluster, jobID string, now time.Time) {
	o.submitters.record(fc.Namespace+"/"+fc.Name, jobID, now)
}
