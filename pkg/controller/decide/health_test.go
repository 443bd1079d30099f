package decide

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/health"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

func TestPreviousVerdictIsTheCurrentAttempts(t *testing.T) {
	started := metav1.NewTime(t0)
	fc := &v1beta1.FlinkCluster{Status: v1beta1.FlinkClusterStatus{Conditions: []metav1.Condition{{Type: state.ConditionJobHealthy,
		Status: metav1.ConditionFalse, Reason: health.ReasonRestartLoop, Message: "m", LastTransitionTime: metav1.NewTime(t0.Add(time.Minute))}}}}
	job := v1beta1.JobStatus{StartTime: &started}
	assert.Equal(t, health.Verdict{Known: true, Reason: health.ReasonRestartLoop, Message: "m"}, previousVerdict(fc, job))
	later := metav1.NewTime(t0.Add(2 * time.Minute))
	job.StartTime = &later
	assert.Equal(t, health.Verdict{}, previousVerdict(fc, job), "an earlier attempt's verdict")
	assert.Equal(t, health.Verdict{}, previousVerdict(&v1beta1.FlinkCluster{}, job), "no condition")
}

func TestHealthNotice(t *testing.T) {
	ok := health.Verdict{Known: true, Healthy: true, Reason: health.ReasonHealthy, Message: "fine"}
	loop := health.Verdict{Known: true, Reason: health.ReasonRestartLoop, Message: "5 restarts"}
	stalled := health.Verdict{Known: true, Reason: health.ReasonCheckpointsStalled, Message: "none for 3m"}
	tests := []struct {
		name           string
		previous, now  health.Verdict
		warning, event bool
		message        string
	}{
		{name: "first verdict healthy: quiet", now: ok},
		{name: "first verdict unhealthy", now: loop, event: true, warning: true, message: "RestartLoop: 5 restarts"},
		{name: "turns unhealthy", previous: ok, now: loop, event: true, warning: true},
		{name: "stays unhealthy", previous: loop, now: loop},
		{name: "unhealthy for another reason", previous: loop, now: stalled, event: true, warning: true, message: "CheckpointsStalled: none for 3m"},
		{name: "healthy again", previous: loop, now: ok, event: true, message: "healthy again after RestartLoop: fine"},
		{name: "no longer judged", previous: loop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, event := healthNotice(tt.previous, tt.now)
			assert.Equal(t, tt.event, event)
			assert.Equal(t, tt.warning, n.Warning)
			assert.Contains(t, n.Message, tt.message)
		})
	}
}
