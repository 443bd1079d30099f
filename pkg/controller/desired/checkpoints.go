package desired

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// Flink's checkpoint keys. Flink 1.20 renamed the directory and retained-count keys (the old ones
// stay as deprecated fallbacks); retention has had one name since 1.11.
const (
	CheckpointRetentionKey   = "execution.checkpointing.externalized-checkpoint-retention"
	CheckpointDirKey         = "execution.checkpointing.dir"
	LegacyCheckpointDirKey   = "state.checkpoints.dir"
	NumRetainedKey           = "execution.checkpointing.num-retained"
	LegacyNumRetainedKey     = "state.checkpoints.num-retained"
	CheckpointIntervalKey    = "execution.checkpointing.interval"
	retainOnCancellation     = "RETAIN_ON_CANCELLATION"
	checkpointsDirectoryName = "checkpoints"
)

// DefaultCheckpointRecordInterval is how often the operator reads a running job's checkpoint
// history to record its latest checkpoint, when the job's policies resume from the latest state:
// at most one REST call per job per minute.
const DefaultCheckpointRecordInterval = time.Minute

// checkpointRecordSlack covers the poll that reads the history coming late (the poll interval,
// a busy work queue): a recorded checkpoint must outlive CheckpointRecordInterval plus this.
const checkpointRecordSlack = 30 * time.Second

// DefaultNumRetained is how many checkpoints the operator keeps when it cannot tell how often the
// job checkpoints (the interval is set in the job's code, not in flinkProperties).
const DefaultNumRetained = 10

// maxNumRetained bounds what a very short interval would ask for.
const maxNumRetained = 100

// checkpointConfig adds what a job that resumes from its latest state needs from Flink: completed
// checkpoints retained when the job stops, a directory for them (next to savepointsDir unless
// flinkProperties names one), and enough of them retained that the checkpoint the operator last
// recorded still exists a full recording interval later. A key the user set wins, except a
// retained count lower than that. recordInterval is the operator's recording interval.
func checkpointConfig(fc *v1beta1.FlinkCluster, conf map[string]string, recordInterval time.Duration) CheckpointRetention {
	job := fc.Spec.Job
	if job == nil || !job.UsesLatestState() {
		return CheckpointRetention{}
	}
	props := fc.Spec.FlinkProperties
	dirKey, retainedKey := CheckpointDirKey, NumRetainedKey
	if v := clusterFlinkVersion(fc); v.known() && v.major == 1 && v.minor < 20 {
		dirKey, retainedKey = LegacyCheckpointDirKey, LegacyNumRetainedKey
	}
	if _, ok := props[CheckpointRetentionKey]; !ok {
		conf[CheckpointRetentionKey] = retainOnCancellation
	}
	_, hasDir := props[CheckpointDirKey]
	_, hasLegacyDir := props[LegacyCheckpointDirKey]
	if !hasDir && !hasLegacyDir && job.SavepointsDir != nil && *job.SavepointsDir != "" {
		conf[dirKey] = CheckpointsDirNextTo(*job.SavepointsDir)
	}
	want := NumRetained(string(props[CheckpointIntervalKey]), recordInterval)
	for _, k := range []string{NumRetainedKey, LegacyNumRetainedKey} {
		if n, err := strconv.Atoi(strings.TrimSpace(string(props[k]))); err == nil && n > want {
			want = n
		}
	}
	conf[retainedKey] = strconv.Itoa(want)
	if retainedKey == NumRetainedKey {
		// A user's value under the deprecated name would be shadowed anyway; keep one truth.
		delete(conf, LegacyNumRetainedKey)
	}
	return CheckpointRetention{NumRetained: want, RecordInterval: recordInterval}
}

// CheckpointRetention is how many checkpoints the configuration retains, and for which
// recording interval.
type CheckpointRetention struct {
	NumRetained    int
	RecordInterval time.Duration
}

// Covers says whether a job checkpointing every interval keeps the checkpoint recorded last for a
// full recording interval ("" when it does), else why not and what to do.
func (r CheckpointRetention) Covers(interval time.Duration) string {
	if r.NumRetained == 0 || interval <= 0 {
		return ""
	}
	covered, gap := interval*time.Duration(r.NumRetained-1), r.RecordInterval+checkpointRecordSlack
	if covered >= gap {
		return ""
	}
	return fmt.Sprintf("the job checkpoints every %s and Flink retains %d checkpoints, which cover %s, less than the %s "+
		"between two records of the latest checkpoint: after a lost JobManager the job may resume from older state; set %s "+
		"in spec.flinkProperties to the job's interval so that the operator retains enough",
		interval, r.NumRetained, covered, gap, CheckpointIntervalKey)
}

// CheckpointsDirNextTo is the checkpoint directory beside a savepoint directory:
// s3://bucket/flink/savepoints gives s3://bucket/flink/checkpoints. A directory at the root of
// its file system (s3://bucket) gets a checkpoints directory inside it.
func CheckpointsDirNextTo(savepointsDir string) string {
	return dirNextTo(savepointsDir, checkpointsDirectoryName)
}

// dirNextTo is the directory called name beside dir, or inside it when dir is the root of its
// file system or is already called name.
func dirNextTo(savepointsDir, name string) string {
	dir := strings.TrimRight(savepointsDir, "/")
	rootEnd := 0
	if i := strings.Index(dir, "://"); i >= 0 {
		rootEnd = i + 3
		if j := strings.IndexByte(dir[rootEnd:], '/'); j >= 0 {
			rootEnd += j
		} else {
			rootEnd = len(dir)
		}
	}
	slash := strings.LastIndexByte(dir, '/')
	if slash < rootEnd || dir[slash+1:] == name {
		return dir + "/" + name
	}
	return dir[:slash+1] + name
}

// NumRetained is how many completed checkpoints must be retained for the one recorded last to
// outlive a recording interval, for a checkpoint interval in Flink's duration syntax; without a
// readable interval, DefaultNumRetained.
func NumRetained(interval string, recordInterval time.Duration) int {
	d, ok := parseFlinkDuration(interval)
	if !ok || d <= 0 {
		return DefaultNumRetained
	}
	return NumRetainedFor(d, recordInterval)
}

// NumRetainedFor is NumRetained for a known interval.
func NumRetainedFor(interval, recordInterval time.Duration) int {
	n := int(math.Ceil(float64(recordInterval+checkpointRecordSlack)/float64(interval))) + 1
	return min(max(n, 2), maxNumRetained)
}

var flinkDuration = regexp.MustCompile(`^(\d+)\s*([a-z]*)$`)

// flinkUnits are the units of Flink's TimeUtils.parseDuration; a bare number is milliseconds.
var flinkUnits = map[string]time.Duration{
	"": time.Millisecond, "ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

func parseFlinkDuration(s string) (time.Duration, bool) {
	m := flinkDuration.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, false
	}
	unit, ok := flinkUnits[m[2]]
	n, err := strconv.ParseInt(m[1], 10, 64)
	if !ok || err != nil || n > int64(math.MaxInt64/unit) {
		return 0, false
	}
	return time.Duration(n) * unit, true
}
