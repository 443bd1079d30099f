package health

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// minutes builds one sample per minute from t0: restarts[i] and checkpoints[i] at minute i.
func minutes(restarts, checkpoints []int64) []Sample {
	out := make([]Sample, len(restarts))
	for i := range restarts {
		out[i] = Sample{At: t0.Add(time.Duration(i) * time.Minute), Restarts: restarts[i], Checkpoints: checkpoints[i]}
	}
	return out
}

func flat(n int, v int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func rising(n int, from, step int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)*step
	}
	return out
}

var (
	healthy  = Verdict{Known: true, Healthy: true, Reason: ReasonHealthy}
	looping  = Verdict{Known: true, Reason: ReasonRestartLoop}
	stalling = Verdict{Known: true, Reason: ReasonCheckpointsStalled}
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name     string
		samples  []Sample
		interval time.Duration
		previous Verdict
		want     Verdict
		message  string
	}{
		{name: "nothing read: status stands", previous: looping, want: looping},
		{name: "nothing read, nothing in status", want: Verdict{}},
		{name: "restarts within the limit", samples: minutes([]int64{0, 1, 2, 3}, rising(4, 0, 6)),
			interval: 10 * time.Second, want: healthy},
		{name: "a restart loop", samples: minutes([]int64{0, 1, 2, 3, 4}, flat(5, 0)),
			want: looping, message: "Flink restarted the job 4 times in the last 10m0s (more than 3; numRestarts)"},
		{name: "restarts older than the window do not count", samples: minutes(append([]int64{0, 5, 10}, flat(12, 10)...), rising(15, 0, 6)),
			interval: 10 * time.Second, want: healthy},
		{name: "a new leader's counter from zero counts", samples: minutes([]int64{7, 8, 1, 2, 3}, flat(5, 0)),
			want: looping, message: "restarted the job 4 times"},
		{name: "checkpoints stalled", samples: minutes(flat(5, 0), []int64{0, 6, 7, 7, 7}),
			interval: 30 * time.Second, want: stalling, message: "no checkpoint completed for 2m0s, more than 3 checkpoint intervals of 30s"},
		{name: "within the checkpoint limit", samples: minutes(flat(4, 0), []int64{0, 6, 7, 7}),
			interval: 30 * time.Second, want: healthy},
		{name: "without checkpointing, checkpoints are not judged", samples: minutes(flat(5, 0), flat(5, 0)), want: healthy},
		{name: "a restart loop explains the stalled checkpoints", samples: minutes([]int64{0, 2, 4, 6}, flat(4, 3)),
			interval: 10 * time.Second, want: looping},

		// Hysteresis.
		{name: "a loop that stopped stays unhealthy for a window", samples: minutes([]int64{0, 4, 4, 4, 4, 4}, rising(6, 0, 6)),
			interval: 10 * time.Second, previous: looping, want: looping},
		{name: "a whole window without a restart heals", samples: minutes(append([]int64{0}, flat(12, 4)...), rising(13, 0, 6)),
			interval: 10 * time.Second, previous: looping, want: healthy},
		{name: "a window not yet covered by samples (restarted operator) does not heal", samples: minutes(flat(3, 4), rising(3, 0, 6)),
			interval: 10 * time.Second, previous: looping, want: looping},
		{name: "one checkpoint after a stall does not heal", samples: minutes(flat(6, 0), []int64{7, 7, 7, 7, 7, 8}),
			interval: 30 * time.Second, previous: stalling, want: stalling},
		{name: "two checkpoints, but further apart than the limit, do not heal", samples: minutes(flat(6, 0), []int64{7, 7, 7, 8, 8, 9}),
			interval: 30 * time.Second, previous: stalling, want: stalling},
		{name: "two checkpoints within the limit heal", samples: minutes(flat(6, 0), []int64{7, 7, 7, 7, 8, 9}),
			interval: 30 * time.Second, previous: stalling, want: healthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Judge(Input{Samples: tt.samples, CheckpointInterval: tt.interval,
				Previous: tt.previous, Thresholds: DefaultThresholds()})
			assert.Contains(t, got.Message, tt.message)
			got.Message = ""
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestNoFlappingAtTheEdge: a job whose checkpoints complete just too rarely (one every 3 minutes,
// limit 1m30s) turns unhealthy once and stays so, instead of toggling with every completion.
func TestNoFlappingAtTheEdge(t *testing.T) {
	interval := 30 * time.Second
	var samples []Sample
	v := Verdict{}
	transitions := 0
	count := int64(0)
	for m := 0; m < 40; m++ {
		if m%3 == 0 { // one checkpoint every 3 minutes: the limit is 1m30s
			count++
		}
		now := t0.Add(time.Duration(m) * time.Minute)
		samples = append(samples, Sample{At: now, Checkpoints: count})
		next := Judge(Input{Samples: samples, CheckpointInterval: interval, Previous: v, Thresholds: DefaultThresholds()})
		if next.Healthy != v.Healthy || next.Known != v.Known {
			transitions++
		}
		v = next
	}
	assert.False(t, v.Healthy)
	assert.Equal(t, 2, transitions, "known healthy, then unhealthy, and no toggling after")

	for m := 40; m < 45; m++ { // then two checkpoints a minute
		count += 2
		now := t0.Add(time.Duration(m) * time.Minute)
		samples = append(samples, Sample{At: now, Checkpoints: count})
		v = Judge(Input{Samples: samples, CheckpointInterval: interval, Previous: v, Thresholds: DefaultThresholds()})
	}
	assert.True(t, v.Healthy, "checkpoints completing regularly again heal it")
}
