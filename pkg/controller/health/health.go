// Package health judges a running job from samples of two of its Flink metrics, numRestarts and
// numberOfCompletedCheckpoints, taken about once a minute: a restart loop or stalled checkpoints
// make it unhealthy, and it is healthy again only on evidence (hysteresis), so that a job on the
// edge of a threshold does not flap. It is pure: the observer keeps the samples.
package health

import (
	"fmt"
	"time"
)

// The reasons of the JobHealthy condition.
const (
	ReasonHealthy            = "Healthy"
	ReasonRestartLoop        = "RestartLoop"
	ReasonCheckpointsStalled = "CheckpointsStalled"
	ReasonNotObserved        = "NotObserved"
)

// Sample is one read of the job's metrics.
type Sample struct {
	At          time.Time
	Restarts    int64
	Checkpoints int64
}

// Thresholds say when a job is unhealthy.
type Thresholds struct {
	// MaxRestarts: more restarts than this within RestartWindow is a restart loop.
	MaxRestarts   int64
	RestartWindow time.Duration
	// CheckpointIntervals: no checkpoint completed for more than this many checkpoint
	// intervals is stalled checkpointing.
	CheckpointIntervals int64
}

// DefaultThresholds are the operator flags' defaults.
func DefaultThresholds() Thresholds {
	return Thresholds{MaxRestarts: 3, RestartWindow: 10 * time.Minute, CheckpointIntervals: 3}
}

// Verdict is a judgement of the job.
type Verdict struct {
	// Known: there was something to judge from; otherwise the rest is empty.
	Known   bool
	Healthy bool
	Reason  string
	Message string
}

// Input is what a judgement looks at. It judges the samples as of the newest one, not the wall
// clock: a JobManager that stops answering neither stalls a job's checkpoints nor heals its
// restart loop.
type Input struct {
	// Samples are this process's reads of the current attempt, oldest first.
	Samples []Sample
	// CheckpointInterval is the attempt's checkpoint interval (0: no checkpointing, or not
	// read yet: checkpoints are then not judged).
	CheckpointInterval time.Duration
	// Previous is the verdict status holds.
	Previous Verdict
	Thresholds
}

// Judge returns the verdict for in.
func Judge(in Input) Verdict {
	if len(in.Samples) == 0 {
		// Nothing read yet (a new attempt, or a restarted operator): what status says stands.
		return in.Previous
	}
	at := in.Samples[len(in.Samples)-1].At
	restarts, covered := restartsInWindow(in, at)
	stalledFor := stalled(in, at)
	limit := time.Duration(in.CheckpointIntervals) * in.CheckpointInterval
	switch {
	case restarts > in.MaxRestarts:
		return Verdict{Known: true, Reason: ReasonRestartLoop, Message: fmt.Sprintf(
			"Flink restarted the job %d times in the last %s (more than %d; numRestarts)", restarts, in.RestartWindow, in.MaxRestarts)}
	case in.CheckpointInterval > 0 && stalledFor > limit:
		return Verdict{Known: true, Reason: ReasonCheckpointsStalled, Message: fmt.Sprintf(
			"no checkpoint completed for %s, more than %d checkpoint intervals of %s (numberOfCompletedCheckpoints)",
			stalledFor.Truncate(time.Second), in.CheckpointIntervals, in.CheckpointInterval)}
	}
	if p := in.Previous; p.Known && !p.Healthy && !recovered(in, at, restarts, covered) {
		return p
	}
	return Verdict{Known: true, Healthy: true, Reason: ReasonHealthy, Message: "no restart loop, checkpoints completing"}
}

// recovered: an unhealthy job is healthy again only after a whole restart window without a
// restart, or (stalled checkpoints) once two checkpoints completed within the stall limit, so a
// job whose checkpoints complete just too rarely stays unhealthy instead of toggling with every
// completion.
func recovered(in Input, at time.Time, restarts int64, covered bool) bool {
	switch in.Previous.Reason {
	case ReasonRestartLoop:
		return covered && restarts == 0
	case ReasonCheckpointsStalled:
		limit := time.Duration(in.CheckpointIntervals) * in.CheckpointInterval
		return in.CheckpointInterval == 0 || completedWithin(in, at, limit) >= 2
	}
	return true
}

// restartsInWindow counts the restarts over the window, from the newest sample at least the
// window old (covered) or, without one, from the oldest sample. A drop of numRestarts (a new
// JobManager leader counts from zero) counts as restarts from zero.
func restartsInWindow(in Input, at time.Time) (int64, bool) {
	from, covered := 0, false
	for i, s := range in.Samples {
		if at.Sub(s.At) >= in.RestartWindow {
			from, covered = i, true
		}
	}
	return growth(in.Samples[from:], func(s Sample) int64 { return s.Restarts }), covered
}

// stalled is how long no checkpoint has completed: since the first sample that showed the
// current count (a completion happened before it), or since the oldest sample.
func stalled(in Input, at time.Time) time.Duration {
	i := len(in.Samples) - 1
	for i > 0 && in.Samples[i-1].Checkpoints == in.Samples[i].Checkpoints {
		i--
	}
	return at.Sub(in.Samples[i].At)
}

// completedWithin counts the checkpoints completed over the last d, from the newest sample at
// least d old (or the oldest).
func completedWithin(in Input, at time.Time, d time.Duration) int64 {
	from := 0
	for i, s := range in.Samples {
		if at.Sub(s.At) >= d {
			from = i
		}
	}
	return growth(in.Samples[from:], func(s Sample) int64 { return s.Checkpoints })
}

// growth sums a counter's increases over the samples; a drop is a restart of the counter.
func growth(samples []Sample, value func(Sample) int64) int64 {
	var n int64
	for i := 1; i < len(samples); i++ {
		a, b := value(samples[i-1]), value(samples[i])
		if b >= a {
			n += b - a
		} else {
			n += b
		}
	}
	return n
}
