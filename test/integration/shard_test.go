//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	"github.com/flink-operator/flink-operator/pkg/controller/updater"
)

// The user agents of the suite's operator (unsharded) and of the shards this test runs.
const suiteAgent = "flink-operator"

func shardAgent(s string) string { return "flink-operator/shard-" + s }

// clustersPerShard session clusters are created for each of the two shards.
const clustersPerShard = 100

// TestShardsActOnlyOnTheirOwn runs two shards, a and b, beside the suite's unsharded operator,
// with 200 session clusters split between them and a job cluster that moves from a to b in the
// middle of a savepoint. By the API server's audit log, each shard wrote only its own clusters'
// objects, the moved cluster's writes by a all ended before b's first, and the unsharded
// operator only handed clusters over. The moved job kept its Flink job and its savepoint: no
// second submission, no second savepoint.
func TestShardsActOnlyOnTheirOwn(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	args := func(s string) []string {
		return append(append(operatorArgs(env.kubeconfig), "--namespace="+ns, "--shard="+s, "--workers=4"),
			leaderElectionArgs(ns, "flink-operator", "it-shard-"+s)...)
	}
	a := startOperatorProcess(t, "it-shard-a", args("a")...)
	b := startOperatorProcess(t, "it-shard-b", args("b")...)

	start := time.Now()
	createShardedSessions(t, ns)
	waitFor(t, 4*time.Minute, "every session cluster to run", func() bool { return runningClusters(t, ns) == 2*clustersPerShard })
	t.Logf("%d session clusters over two shards running %s after the first create", 2*clustersPerShard, time.Since(start).Round(time.Second))

	// A job cluster of shard a is relabelled for b while its user savepoint is in flight.
	job := fromYAML(t, savepointJobCluster)
	job.SetName("m-000")
	job.SetLabels(map[string]string{shard.Label: "a"})
	_, err := createStrict(ctx, ns, job)
	require.NoError(t, err)
	first := waitJob(t, ns, "m-000", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Equal(t, "a", getFC(t, ns, "m-000").Labels[shard.OwnerLabel])
	patchJob(t, ns, "m-000", `{"savepointGeneration":1}`)
	sp := waitJobFast(t, ns, "m-000", 30*time.Second, "the savepoint to be in flight", func(j *v1beta1.JobStatus) bool {
		return savepointInFlight(j, v1beta1.SavepointReasonUser)
	})
	_, err = kubectl(ctx, "label", "--overwrite", "-n", ns, "fc/m-000", shard.Label+"=b")
	require.NoError(t, err)
	done := waitJob(t, ns, "m-000", 60*time.Second, "the savepoint to complete under shard b", func(j *v1beta1.JobStatus) bool {
		return j.SavepointGeneration >= 1 && j.State == v1beta1.JobStateRunning
	})
	moved := getFC(t, ns, "m-000")
	assert.Equal(t, "b", moved.Labels[shard.OwnerLabel])
	assert.NotContains(t, moved.Annotations, shard.HandoverAnnotation, "the hand-over is closed")
	assert.Equal(t, first.ID, done.ID, "the job was not restarted")
	assert.Equal(t, int32(1), done.SavepointGeneration)
	require.Len(t, done.SavepointHistory, 1)
	assert.Equal(t, sp.Savepoint.TriggerID, done.SavepointHistory[0].TriggerID, "shard b finished the savepoint shard a started")
	sim := simState(t, ns, "m-000")
	require.Len(t, sim.Jobs, 1, "one Flink job: nothing submitted twice")
	assert.Len(t, sim.Jobs[0].Savepoints, 1, "one savepoint in Flink")
	assert.Len(t, sim.Submissions, 1, "one submission")
	waitEvents(t, ns, "m-000", updater.ReasonShardHandedOver, updater.ReasonShardAccepted)
	for _, c := range children(t, ns, "m-000") {
		assert.Equal(t, "b", c.labels[shard.Label], "%s carries shard b's label", c.name)
	}

	writes := auditedWrites(t, ns)
	checkShardWrites(t, writes)
	assert.Positive(t, scrape(t, a.metrics).sum("flinkoperator_api_writes_total", nil))
	assert.Positive(t, scrape(t, b.metrics).sum("flinkoperator_api_writes_total", nil))
}

// createShardedSessions creates clustersPerShard session clusters labelled for each shard, a-000…
// and b-000…, eight at a time, without TaskManagers.
func createShardedSessions(t *testing.T, ns string) {
	t.Helper()
	names := make(chan string)
	var wg sync.WaitGroup
	errs := make(chan error, 2*clustersPerShard)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				obj := fromYAML(t, minimalSessionCluster)
				obj.SetName(name)
				obj.SetLabels(map[string]string{shard.Label: name[:1]})
				// No TaskManager pods: the local control plane's controller-manager (20 QPS)
				// would take minutes over 400 pods, and this test is about the operator's writes.
				setPath(obj.Object, "spec.taskManager.replicas", int64(0))
				if _, err := createStrict(context.Background(), ns, obj); err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
				}
			}
		}()
	}
	for i := 0; i < clustersPerShard; i++ {
		names <- fmt.Sprintf("a-%03d", i)
		names <- fmt.Sprintf("b-%03d", i)
	}
	close(names)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func runningClusters(t *testing.T, ns string) int {
	list, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	n := 0
	for _, fc := range list.Items {
		if fc.Spec.Job == nil && fc.Status.State == v1beta1.ClusterStateRunning {
			n++
		}
	}
	return n
}

type labelledObject struct {
	name   string
	labels map[string]string
}

// children are a cluster's ConfigMaps, Services, Deployments and Jobs, by its cluster label.
func children(t *testing.T, ns, name string) []labelledObject {
	t.Helper()
	opts := metav1.ListOptions{LabelSelector: "flinkoperator.k8s.io/cluster=" + name}
	var out []labelledObject
	deployments := 0
	for _, gvr := range []schema.GroupVersionResource{
		{Version: "v1", Resource: "configmaps"}, {Version: "v1", Resource: "services"},
		{Group: "apps", Version: "v1", Resource: "deployments"}, {Group: "batch", Version: "v1", Resource: "jobs"},
	} {
		list, err := env.dynamic.Resource(gvr).Namespace(ns).List(context.Background(), opts)
		require.NoError(t, err)
		for _, o := range list.Items {
			out = append(out, labelledObject{gvr.Resource + "/" + o.GetName(), o.GetLabels()})
			if gvr.Resource == "deployments" {
				deployments++
			}
		}
	}
	require.Equal(t, 2, deployments, "the cluster has its Deployments")
	return out
}

// auditedWrite is one write the API server's audit log recorded.
type auditedWrite struct {
	agent, verb, resource, name string
	received, completed         time.Time
}

// cluster is the FlinkCluster the written object belongs to: the test's cluster and child names
// all start with the cluster's "x-nnn".
func (w auditedWrite) cluster() string {
	parts := strings.SplitN(w.name, "-", 3)
	if len(parts) < 2 {
		return w.name
	}
	return parts[0] + "-" + parts[1]
}

func (w auditedWrite) String() string {
	return fmt.Sprintf("%s %s %s %s at %s", w.agent, w.verb, w.resource, w.name, w.completed.Format(time.RFC3339Nano))
}

// auditedWrites reads the writes in namespace ns from the audit log (testdata/audit-policy.yaml).
func auditedWrites(t *testing.T, ns string) []auditedWrite {
	t.Helper()
	path := filepath.Join(env.root, "bin", "kwok-work", "clusters", clusterName, "logs", "audit.log")
	f, err := os.Open(path)
	require.NoError(t, err, "the API server's audit log: a cluster given by IT_KUBECONFIG must be started with AUDIT_POLICY=test/integration/testdata/audit-policy.yaml")
	defer f.Close()
	var out []auditedWrite
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		var e struct {
			Verb      string `json:"verb"`
			UserAgent string `json:"userAgent"`
			ObjectRef struct {
				Resource, Subresource, Namespace, Name string
			} `json:"objectRef"`
			Received  time.Time `json:"requestReceivedTimestamp"`
			Completed time.Time `json:"stageTimestamp"`
		}
		if json.Unmarshal(lines.Bytes(), &e) != nil || e.ObjectRef.Namespace != ns || e.ObjectRef.Name == "" {
			continue
		}
		resource := e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			resource += "/" + e.ObjectRef.Subresource
		}
		out = append(out, auditedWrite{agent: e.UserAgent, verb: e.Verb, resource: resource, name: e.ObjectRef.Name,
			received: e.Received, completed: e.Completed})
	}
	require.NoError(t, lines.Err())
	sort.Slice(out, func(i, j int) bool { return out[i].received.Before(out[j].received) })
	return out
}

// checkShardWrites checks every operator write in the audit log against the shard that owns the
// written object's cluster.
func checkShardWrites(t *testing.T, writes []auditedWrite) {
	t.Helper()
	byShard := map[string]map[string]int{"a": {}, "b": {}}
	var movedByA, movedByB []auditedWrite
	for _, w := range writes {
		c := w.cluster()
		switch w.agent {
		case suiteAgent:
			assert.True(t, w.resource == "flinkclusters" && w.verb == "patch", "the unsharded operator only hands shards' clusters over: %s", w)
		case shardAgent("a"), shardAgent("b"):
			s := strings.TrimPrefix(w.agent, "flink-operator/shard-")
			switch {
			case c == "m-000" && s == "a":
				movedByA = append(movedByA, w)
			case c == "m-000":
				movedByB = append(movedByB, w)
			default:
				assert.Equal(t, s, c[:1], "shard %s wrote only its own clusters' objects: %s", s, w)
				byShard[s][c]++
			}
		}
	}
	assert.Len(t, byShard["a"], clustersPerShard, "shard a wrote for each of its clusters")
	assert.Len(t, byShard["b"], clustersPerShard, "shard b wrote for each of its clusters")
	require.NotEmpty(t, movedByA, "shard a ran the moved cluster first")
	require.NotEmpty(t, movedByB, "shard b runs it now")
	lastA := movedByA[len(movedByA)-1]
	for _, w := range movedByA {
		if w.completed.After(lastA.completed) {
			lastA = w
		}
	}
	firstB := movedByB[0]
	assert.True(t, lastA.completed.Before(firstB.received), "every write of shard a on the moved cluster ended before shard b's first: %s, then %s", lastA, firstB)
	assert.Equal(t, "flinkclusters", lastA.resource, "shard a's last write was the hand-over: %s", lastA)
	t.Logf("moved cluster: %d writes by shard a, the last %s; %d by shard b, the first %s", len(movedByA), lastA, len(movedByB), firstB)
}
