package observer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSavepointClock(t *testing.T) {
	var c savepointClock
	t0 := time.Now()
	assert.Equal(t, t0, c.seenAt("ns/a", "t1", t0), "first sight is recorded")
	assert.Equal(t, t0, c.seenAt("ns/a", "t1", t0.Add(time.Minute)), "later syncs see the first sight")
	assert.Equal(t, t0.Add(2*time.Minute), c.seenAt("ns/a", "t2", t0.Add(2*time.Minute)), "a new trigger starts anew")
	assert.Equal(t, t0.Add(3*time.Minute), c.seenAt("ns/b", "t2", t0.Add(3*time.Minute)), "per cluster")
	assert.True(t, c.seenAt("ns/a", "", t0).IsZero(), "nothing in flight forgets the cluster")
	assert.NotContains(t, c.seen, "ns/a")
	assert.Equal(t, t0.Add(4*time.Minute), c.seenAt("ns/a", "t2", t0.Add(4*time.Minute)))
}
