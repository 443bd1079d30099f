package submitwatch

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	"github.com/flink-operator/flink-operator/pkg/flinkclient/sim"
)

const jobID = "a5e0edd8e66b53f1b89c2041f91b8fd2"

func submitterJob(ns, name, cluster string, complete bool, args ...string) *batchv1.Job {
	labels := map[string]string{LabelComponent: ComponentSubmitter, LabelManagedBy: ManagedBy}
	if cluster != "" {
		labels[LabelCluster] = cluster
	}
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, UID: types.UID(ns + "-" + name)},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Command: []string{"cp", "a", "b"}}},
			Containers: []corev1.Container{
				{Name: "main", Command: []string{"/opt/flink/bin/flink"}, Args: args},
				{Name: "sidecar", Command: []string{"sleep", "1"}},
			},
		}}},
	}
	if complete {
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	}
	return j
}

func runArgs(id string) []string {
	return []string{"run", "-d", "-D" + sim.PropJobID + "=" + id, "-p", "2", "/opt/flink/usrlib/job.jar"}
}

func TestLabelsMatchOperator(t *testing.T) {
	assert.Equal(t, names.LabelComponent, LabelComponent)
	assert.Equal(t, names.LabelManagedBy, LabelManagedBy)
	assert.Equal(t, names.LabelCluster, LabelCluster)
	assert.Equal(t, names.ComponentSubmitter, ComponentSubmitter)
	assert.Equal(t, names.ManagedBy, ManagedBy)
	assert.Equal(t, desired.ConfigVolume, ConfigVolume)
	assert.Equal(t, desired.FlinkConfV1Key, flinkConfKey)
}

func TestParseFlatConfig(t *testing.T) {
	assert.Equal(t, map[string]string{"a.b": "1", "c": "file:///x: y", "empty": ""},
		ParseFlatConfig("a.b: 1\n# note: x\nc: file:///x: y\nempty: \n\nnot a pair\n"))
}

func TestWatcherSubmits(t *testing.T) {
	clock := sim.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv := sim.New(sim.Options{Clock: clock, Defaults: sim.ClusterConfig{Delays: sim.Delays{Initialize: time.Second}}})
	client := fake.NewClientset(
		// Before the watcher starts: a finished submitter is not replayed,
		// a pending one is submitted.
		submitterJob("old", "done-job-submitter", "done", true, runArgs("11111111111111111111111111111111")...),
		submitterJob("old", "pending-job-submitter", "pending", false, runArgs("22222222222222222222222222222222")...),
	)
	results := make(chan Result, 10)
	w := New(client, srv, func(r Result) { results <- r })
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- w.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-stopped)
	}()

	next := func() Result {
		t.Helper()
		select {
		case r := <-results:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no submission handled")
			return Result{}
		}
	}
	r := next()
	require.NoError(t, r.Err)
	assert.Equal(t, "old/pending", r.Cluster)
	assert.Equal(t, []string{"/opt/flink/bin/flink", "run", "-d"}, r.Args[:3])

	create := func(j *batchv1.Job) {
		_, err := client.BatchV1().Jobs(j.Namespace).Create(ctx, j, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	other := submitterJob("ns", "not-a-submitter", "x", false, runArgs(jobID)...)
	other.Labels[LabelComponent] = "taskmanager"
	create(other) // ignored: the next result must be the real one
	_, err := client.CoreV1().ConfigMaps("ns").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "wordcount-config"},
		Data: map[string]string{flinkConfKey: "execution.checkpointing.interval: 10 s\n"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	configured := submitterJob("ns", "wordcount-job-submitter", "wordcount", false, runArgs(jobID)...)
	configured.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: ConfigVolume, VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "wordcount-config"}}}}}
	create(configured)
	r = next()
	require.NoError(t, r.Err, r.String())
	assert.Equal(t, "ns/wordcount-job-submitter", r.Job)
	assert.Equal(t, "ns/wordcount", r.Cluster)

	c, ok := srv.LookupCluster("ns", "wordcount")
	require.True(t, ok)
	info, ok := c.Job(jobID)
	require.True(t, ok)
	assert.Equal(t, 2, info.Parallelism)
	assert.Equal(t, flinkclient.JobStateInitializing, info.State)
	assert.Equal(t, map[string]string{"execution.checkpointing.interval": "10 s"}, info.Submission.Config,
		"the job reads the cluster's configuration from the ConfigMap the submitter mounts")

	// A retried submitter (a new Job, same job ID) is rejected as a duplicate.
	create(submitterJob("ns", "wordcount-job-submitter-2", "wordcount", false, runArgs(jobID)...))
	r = next()
	assert.ErrorIs(t, r.Err, sim.ErrDuplicateJob)
	assert.Len(t, c.Jobs(), 1)

	create(submitterJob("ns", "unlabelled", "", false, runArgs(jobID)...))
	assert.ErrorIs(t, next().Err, ErrNoClusterLabel)
	empty := submitterJob("ns", "empty", "e", false)
	empty.Spec.Template.Spec.Containers = nil
	create(empty)
	assert.ErrorIs(t, next().Err, ErrNoContainer)
	create(submitterJob("ns", "garbage", "g", false, "list"))
	assert.ErrorIs(t, next().Err, sim.ErrBadCommand)

	// An application's JobManager runs its job; the Job's deletion ends that JobManager.
	const appID = "33333333333333333333333333333333"
	jm := submitterJob("ns", "app-jobmanager", "app", false, "start-foreground",
		"--job-classname", "org.example.Main", "--job-id", appID, "--jars", "local:///opt/job.jar", "-Dparallelism.default=3", "--", "--in", "x")
	jm.Labels[LabelComponent] = ComponentJobManager
	jm.Spec.Template.Spec.Containers[0].Command = []string{"/opt/flink/bin/standalone-job.sh"}
	create(jm)
	r = next()
	require.NoError(t, r.Err, r.String())
	app, ok := srv.LookupCluster("ns", "app")
	require.True(t, ok)
	info, ok = app.Job(appID)
	require.True(t, ok, "the job exists as soon as its JobManager runs")
	assert.Equal(t, 3, info.Parallelism)
	require.NoError(t, client.BatchV1().Jobs("ns").Delete(ctx, "app-jobmanager", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool { _, known := app.Job(appID); return !known }, 10*time.Second, 10*time.Millisecond,
		"a JobManager without high availability that ended forgets its job")

	_, ok = srv.LookupCluster("old", "done")
	assert.False(t, ok, "a finished submitter from before the start is not replayed")
	require.NoError(t, client.BatchV1().Jobs("ns").Delete(ctx, "wordcount-job-submitter", metav1.DeleteOptions{}))
}
