package desired

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

func TestCheckpointConfigOnlyForLatestStatePolicies(t *testing.T) {
	latest := v1beta1.JobRestartPolicyFromLatestStateOnFailure
	lastState, stateless := v1beta1.UpgradeModeLastState, v1beta1.UpgradeModeStateless
	tests := []struct {
		name string
		edit func(*v1beta1.JobSpec)
		want bool
	}{
		{"savepoint policies only", func(*v1beta1.JobSpec) {}, false},
		{"stateless updates", func(j *v1beta1.JobSpec) { j.UpgradeMode = &stateless }, false},
		{"FromLatestStateOnFailure", func(j *v1beta1.JobSpec) { j.RestartPolicy = &latest }, true},
		{"upgradeMode LastState", func(j *v1beta1.JobSpec) { j.UpgradeMode = &lastState }, true},
		{"upgradeFallback LastState", func(j *v1beta1.JobSpec) { j.UpgradeFallback = ptr.To(v1beta1.UpgradeFallbackLastState) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := base()
			fc.Spec.Job.SavepointsDir = ptr.To("s3://bucket/flink/savepoints")
			tt.edit(fc.Spec.Job)
			conf := config(fc)
			if !tt.want {
				for _, k := range []string{CheckpointRetentionKey, CheckpointDirKey, NumRetainedKey, LegacyCheckpointDirKey, LegacyNumRetainedKey} {
					assert.NotContains(t, conf, k, "a cluster without latest-state policies keeps Flink's defaults")
				}
				return
			}
			assert.Equal(t, "RETAIN_ON_CANCELLATION", conf[CheckpointRetentionKey])
			assert.Equal(t, "s3://bucket/flink/checkpoints", conf[CheckpointDirKey], "next to savepointsDir")
			assert.Equal(t, "10", conf[NumRetainedKey], "the interval is set in the job's code: the default")
		})
	}
}

func TestCheckpointConfigKeysFollowTheFlinkVersion(t *testing.T) {
	tests := []struct {
		image, dirKey, retainedKey string
	}{
		{"flink:2.3.0", CheckpointDirKey, NumRetainedKey},
		{"flink:1.20.5", CheckpointDirKey, NumRetainedKey},
		{"flink:1.19.2", LegacyCheckpointDirKey, LegacyNumRetainedKey},
		{"flink:1.18", LegacyCheckpointDirKey, LegacyNumRetainedKey},
		{"my-flink:latest", CheckpointDirKey, NumRetainedKey},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			fc := base()
			fc.Spec.Image.Name = tt.image
			fc.Spec.Job.SavepointsDir = ptr.To("file:///data/savepoints")
			fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromLatestStateOnFailure)
			conf := config(fc)
			assert.Equal(t, "file:///data/checkpoints", conf[tt.dirKey])
			assert.Contains(t, conf, tt.retainedKey)
			assert.Equal(t, "RETAIN_ON_CANCELLATION", conf[CheckpointRetentionKey], "one name in every version")
		})
	}
}

func TestCheckpointConfigKeepsTheUsersKeysButNotTooFewRetained(t *testing.T) {
	fc := base()
	fc.Spec.Job.SavepointsDir = ptr.To("file:///data/savepoints")
	fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromLatestStateOnFailure)
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{
		CheckpointRetentionKey: "DELETE_ON_CANCELLATION", LegacyCheckpointDirKey: "file:///mine",
		CheckpointIntervalKey: "5 s", LegacyNumRetainedKey: "3",
	}
	conf := config(fc)
	assert.Equal(t, "DELETE_ON_CANCELLATION", conf[CheckpointRetentionKey], "the user's retention stands (the job's effective config is checked)")
	assert.NotContains(t, conf, CheckpointDirKey, "the user's directory, under either name, stands")
	assert.Equal(t, "file:///mine", conf[LegacyCheckpointDirKey])
	assert.Equal(t, "19", conf[NumRetainedKey], "(60 s + 30 s) / 5 s + 1")
	assert.NotContains(t, conf, LegacyNumRetainedKey, "one retained count")

	fc.Spec.FlinkProperties[NumRetainedKey] = "50"
	assert.Equal(t, "50", config(fc)[NumRetainedKey], "a higher count of the user's stands")
}

// config is the Flink configuration the cluster's ConfigMap holds.
func config(fc *v1beta1.FlinkCluster) map[string]string {
	conf := flinkConfig(fc, 1000, 2000)
	checkpointConfig(fc, conf, DefaultCheckpointRecordInterval)
	return conf
}

func TestCheckpointsDirNextTo(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bucket/flink/savepoints":  "s3://bucket/flink/checkpoints",
		"s3://bucket/flink/savepoints/": "s3://bucket/flink/checkpoints",
		"s3://bucket":                   "s3://bucket/checkpoints",
		"s3://bucket/":                  "s3://bucket/checkpoints",
		"s3://bucket/savepoints":        "s3://bucket/checkpoints",
		"file:///tmp/x/savepoints":      "file:///tmp/x/checkpoints",
		"file:///savepoints":            "file:///checkpoints",
		"/data/savepoints":              "/data/checkpoints",
		"hdfs://nn:8020/a/checkpoints":  "hdfs://nn:8020/a/checkpoints/checkpoints",
	} {
		assert.Equal(t, want, CheckpointsDirNextTo(in), in)
	}
}

func TestNumRetained(t *testing.T) {
	for in, want := range map[string]int{
		"": DefaultNumRetained, "soon": DefaultNumRetained, "-5 s": DefaultNumRetained, "0": DefaultNumRetained,
		"5 s": 19, "5s": 19, "5000": 19, "10 s": 10, "1 min": 3, "1min": 3, "30 s": 4, "1 h": 2,
		"100 ms": maxNumRetained, "99999999999999999 d": DefaultNumRetained,
	} {
		assert.Equal(t, want, NumRetained(in, DefaultCheckpointRecordInterval), in)
	}
	assert.Equal(t, 9, NumRetained("5 s", 10*time.Second), "a shorter recording interval needs fewer")
}
