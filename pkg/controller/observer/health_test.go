package observer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/flink-operator/flink-operator/pkg/controller/health"
)

func TestHealthSamples(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	var h healthSamples
	h.read("ns/c", "job-1", at(0), health.Sample{}, false)
	samples, readAt := h.get("ns/c", "job-1")
	assert.Empty(t, samples)
	assert.Equal(t, at(0), readAt, "an unanswered read counts for the interval")

	for m := 1; m <= 5; m++ { // a run of equal values is kept as its first and last
		h.read("ns/c", "job-1", at(m), health.Sample{At: at(m), Restarts: 1, Checkpoints: 4}, true)
	}
	h.read("ns/c", "job-1", at(6), health.Sample{At: at(6), Restarts: 2, Checkpoints: 4}, true)
	samples, readAt = h.get("ns/c", "job-1")
	assert.Equal(t, []time.Time{at(1), at(5), at(6)}, times(samples))
	assert.Equal(t, at(6), readAt)

	samples, _ = h.get("ns/c", "job-2")
	assert.Empty(t, samples, "another attempt's samples are not this one's")
	h.read("ns/c", "job-2", at(7), health.Sample{At: at(7)}, true)
	samples, _ = h.get("ns/c", "job-2")
	assert.Len(t, samples, 1, "a new attempt starts a new log")

	for m := 0; m < 2*maxHealthSamples; m++ {
		h.read("ns/c", "job-2", at(8+m), health.Sample{At: at(8 + m), Restarts: int64(m)}, true)
	}
	samples, _ = h.get("ns/c", "job-2")
	assert.Len(t, samples, maxHealthSamples)
	assert.Equal(t, at(7+2*maxHealthSamples), samples[len(samples)-1].At, "the newest kept")

	h.forget("ns/c")
	samples, readAt = h.get("ns/c", "job-2")
	assert.Empty(t, samples)
	assert.True(t, readAt.IsZero())
}

func times(samples []health.Sample) []time.Time {
	out := make([]time.Time, len(samples))
	for i, s := range samples {
		out[i] = s.At
	}
	return out
}
