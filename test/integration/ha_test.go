//go:build integration

package integration

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// haSessionCluster is a session cluster with Kubernetes HA whose pods run as sa.
func haSessionCluster(t *testing.T, name, sa string) *unstructured.Unstructured {
	obj := fromYAML(t, minimalSessionCluster)
	obj.SetName(name)
	setPath(obj.Object, "spec.serviceAccountName", sa)
	setPath(obj.Object, "spec.highAvailability", map[string]interface{}{"type": "Kubernetes", "storageDir": "file:///ha"})
	return obj
}

// TestHAPermissionsAreChecked: with high availability the operator asks the API server whether
// the pods' ServiceAccount may do what Flink's HA services do, and says which verbs it lacks.
func TestHAPermissionsAreChecked(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	condition := func(name string) *metav1.Condition {
		return meta.FindStatusCondition(getFC(t, ns, name).Status.Conditions, state.ConditionHighAvailabilityPermitted)
	}

	// The namespace's default ServiceAccount has no Role.
	_, err := createStrict(ctx, ns, haSessionCluster(t, "without-role", "default"))
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "condition HighAvailabilityPermitted", func() bool { return condition("without-role") != nil })
	c := condition("without-role")
	assert.Equal(t, metav1.ConditionFalse, c.Status)
	assert.Equal(t, "MissingPermissions", c.Reason)
	assert.Contains(t, c.Message, "ServiceAccount "+ns+"/default may not create, delete, get, list, patch, update, watch ConfigMaps")

	// The sample Role, bound to its ServiceAccount.
	out, err := kubectl(ctx, "-n", ns, "apply", "-f", filepath.Join(env.root, "deploy", "samples", "ha", "flink-ha-role.yaml"))
	require.NoError(t, err, out)
	_, err = createStrict(ctx, ns, haSessionCluster(t, "with-role", "flink-ha"))
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "condition HighAvailabilityPermitted", func() bool { return condition("with-role") != nil })
	c = condition("with-role")
	assert.Equal(t, metav1.ConditionTrue, c.Status, c.Message)
	assert.Equal(t, "Granted", c.Reason)
	assert.True(t, strings.Contains(c.Message, "flink-ha"), c.Message)
}

// fakeHAConfigMaps creates what Flink's HA services would for fc: the leader ConfigMap and one of
// a job, with Flink's labels for fc's cluster ID. It returns their names.
func fakeHAConfigMaps(t *testing.T, fc *v1beta1.FlinkCluster) []string {
	t.Helper()
	id := desired.HAClusterID(fc)
	names := []string{id + "-cluster-config-map", id + "-00000000000000000000000000000001-config-map"}
	for _, name := range names {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: desired.HAConfigMapLabels(id)},
			Data: map[string]string{"address": "pekko.tcp://flink@10.0.0.1:6123/user/rpc/dispatcher_1"}}
		_, err := env.kube.CoreV1().ConfigMaps(fc.Namespace).Create(context.Background(), cm, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	slices.Sort(names)
	return names
}

// configMapNames are the names of the ConfigMaps in ns that carry these labels.
func configMapNames(t *testing.T, ns string, set map[string]string) []string {
	t.Helper()
	list, err := env.kube.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: labels.SelectorFromSet(set).String()})
	require.NoError(t, err)
	var names []string
	for _, cm := range list.Items {
		names = append(names, cm.Name)
	}
	slices.Sort(names)
	return names
}

func fcGone(ns, name string) func() bool {
	return func() bool {
		_, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}
}

// TestHACleanupOnDeletion: deleting a cluster with high availability asks its JobManager for a
// clean shutdown, deletes the JobManagers, then the HA ConfigMaps of its own cluster ID: another
// cluster's in the same namespace, and a ConfigMap of Flink's type with another ID, are untouched.
func TestHACleanupOnDeletion(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	clusters := map[string][]string{}
	for _, name := range []string{"one", "two"} {
		_, err := createStrict(ctx, ns, haSessionCluster(t, name, "default"))
		require.NoError(t, err)
		waitFor(t, 30*time.Second, name+"'s HA finalizer and JobManager", func() bool {
			_, err := env.kube.AppsV1().Deployments(ns).Get(ctx, name+"-jobmanager", metav1.GetOptions{})
			return err == nil && slices.Contains(getFC(t, ns, name).Finalizers, controller.HACleanupFinalizer)
		})
		clusters[name] = fakeHAConfigMaps(t, getFC(t, ns, name))
	}
	other := desired.HAConfigMapLabels("flink-of-someone-else")
	_, err := env.kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-else", Labels: other}}, metav1.CreateOptions{})
	require.NoError(t, err)
	one, two := getFC(t, ns, "one"), getFC(t, ns, "two")

	require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Delete(ctx, "one", metav1.DeleteOptions{}))
	waitFor(t, 60*time.Second, "FlinkCluster one to go", fcGone(ns, "one"))

	assert.Empty(t, configMapNames(t, ns, desired.HAConfigMapLabels(desired.HAClusterID(one))), "one's HA ConfigMaps are deleted")
	assert.Equal(t, clusters["two"], configMapNames(t, ns, desired.HAConfigMapLabels(desired.HAClusterID(two))), "two's are kept")
	assert.Equal(t, []string{"someone-else"}, configMapNames(t, ns, other))
	assert.Equal(t, 1, simRequestCounts(t, ns, "one")["DELETE /cluster"], "Flink was asked to shut down cleanly once")
	assert.Zero(t, simRequestCounts(t, ns, "two")["DELETE /cluster"])
	reasons := waitEvents(t, ns, "one", "HAShutdownRequested", "HAConfigMapsDeleted")
	assert.NotContains(t, reasons, "HAJobManagersOutlivedDeadline")
	_, err = env.kube.AppsV1().Deployments(ns).Get(ctx, "two-jobmanager", metav1.GetOptions{})
	assert.NoError(t, err, "two's JobManager stays")
}

// TestHACleanupAfterJobSucceeds: a job cluster with high availability whose cleanup policy
// deletes the cluster after the job has its HA ConfigMaps deleted with its JobManager, and is
// not asked to shut down (the job ended; Flink removed its data then).
func TestHACleanupAfterJobSucceeds(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	out, err := kubectl(ctx, "-n", ns, "apply", "-f", filepath.Join(env.root, "deploy", "samples", "ha", "flink-ha-role.yaml"))
	require.NoError(t, err, out)
	obj := fromYAML(t, minimalJobCluster)
	setPath(obj.Object, "spec.serviceAccountName", "flink-ha")
	setPath(obj.Object, "spec.highAvailability", map[string]interface{}{"type": "Kubernetes", "storageDir": "file:///ha"})
	_, err = createStrict(ctx, ns, obj)
	require.NoError(t, err)
	j := waitJob(t, ns, "minimal", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning
	})
	fc := getFC(t, ns, "minimal")
	require.Contains(t, fc.Finalizers, controller.HACleanupFinalizer)
	fakeHAConfigMaps(t, fc)
	simPost(t, ns, "minimal", "jobs/"+j.ID+"/finish", `{}`)
	waitFor(t, 60*time.Second, "the cluster to stop", func() bool {
		return getFC(t, ns, "minimal").Status.State == v1beta1.ClusterStateStopped
	})
	waitFor(t, 10*time.Second, "the HA ConfigMaps to go", func() bool {
		return len(configMapNames(t, ns, desired.HAConfigMapLabels(desired.HAClusterID(fc)))) == 0
	})
	assert.Zero(t, simRequestCounts(t, ns, "minimal")["DELETE /cluster"])
	waitEvents(t, ns, "minimal", "HAConfigMapsDeleted")
}

// eventDelivery bounds how long an event takes from the operator's recorder to the API server:
// the recorder sends events asynchronously, after the status write a test waits for.
const eventDelivery = 10 * time.Second

// waitEvents waits until events with each of the reasons about the FlinkCluster name were
// recorded, and returns the reasons of all its events then (one entry per event).
func waitEvents(t *testing.T, ns, name string, reasons ...string) []string {
	t.Helper()
	var got []string
	waitFor(t, eventDelivery, fmt.Sprintf("events %v", reasons), func() bool {
		got = eventReasons(t, ns, name)
		for _, r := range reasons {
			if !slices.Contains(got, r) {
				return false
			}
		}
		return true
	})
	return got
}

// eventReasons are the reasons of the events about the FlinkCluster name.
func eventReasons(t *testing.T, ns, name string) []string {
	t.Helper()
	events, err := env.kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	require.NoError(t, err)
	var reasons []string
	for _, e := range events.Items {
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

// haJobCluster is the minimal job cluster with high availability and 1 s checkpoints, run by
// the sample Role's ServiceAccount (applied here).
func haJobCluster(t *testing.T, ns string) *unstructured.Unstructured {
	t.Helper()
	out, err := kubectl(context.Background(), "-n", ns, "apply", "-f", filepath.Join(env.root, "deploy", "samples", "ha", "flink-ha-role.yaml"))
	require.NoError(t, err, out)
	obj := fromYAML(t, minimalJobCluster)
	setPath(obj.Object, "spec.serviceAccountName", "flink-ha")
	setPath(obj.Object, "spec.highAvailability", map[string]interface{}{"type": "Kubernetes", "storageDir": "file:///ha"})
	setPath(obj.Object, "spec.flinkProperties", map[string]interface{}{
		"execution.checkpointing.interval": "1 s", "execution.checkpointing.dir": "file:///checkpoints"})
	return obj
}

// runHAJob creates the HA job cluster and waits until Flink runs its job and has completed a
// checkpoint.
func runHAJob(t *testing.T, ns string) *v1beta1.JobStatus {
	t.Helper()
	_, err := createStrict(context.Background(), ns, haJobCluster(t, ns))
	require.NoError(t, err)
	j := waitJob(t, ns, "minimal", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	client := flinkclient.New(flinkclient.Options{Timeout: 5 * time.Second})
	waitFor(t, 10*time.Second, "a completed checkpoint", func() bool {
		cp, err := client.GetCheckpoints(context.Background(), env.simURL+"/clusters/"+ns+"/minimal", j.ID)
		return err == nil && cp.LatestCompleted != nil
	})
	return j
}

// TestHAJobRecoveredByFlink: a JobManager with HA restarts and recovers the job by itself; the
// operator waits (saying why) without resubmitting, then records the recovery, not a restart.
func TestHAJobRecoveredByFlink(t *testing.T) {
	ns := newNamespace(t)
	before := runHAJob(t, ns)
	simPost(t, ns, "minimal", "jobmanager/restart", `{"recoverAfter":"4s"}`)
	waitJobFast(t, ns, "minimal", 4*time.Second, "the operator to wait for Flink's recovery", func(j *v1beta1.JobStatus) bool {
		return strings.Contains(j.Message, "waiting up to 8s for Flink's high-availability services to recover it")
	})
	j := waitJob(t, ns, "minimal", 30*time.Second, "the recovery to be recorded", func(j *v1beta1.JobStatus) bool {
		return j.FlinkRecoveries == 1
	})
	assert.Equal(t, before.ID, j.ID, "the same job")
	assert.Equal(t, v1beta1.JobStateRunning, j.State)
	assert.Zero(t, j.RestartCount, "Flink restarted it, not the operator")
	assert.Empty(t, j.Message)
	require.NotNil(t, j.LastFlinkRecovery)
	assert.Positive(t, j.LastFlinkRecovery.CheckpointID, "from the latest checkpoint")
	assert.Contains(t, j.LastFlinkRecovery.Location, "file:/checkpoints/"+j.ID+"/chk-")
	assert.True(t, j.FlinkStartTime.After(before.FlinkStartTime.Time), "the recovered attempt's start time")
	subs := simState(t, ns, "minimal").Submissions
	require.Len(t, subs, 1, "one submission: the operator never sent a second copy")
	assert.Equal(t, j.ID, subs[0].JobID)
	waitEvents(t, ns, "minimal", "RecoveredByFlink")
}

// TestHAStopAcrossLeaderChange: an update's stop-with-savepoint is in flight when the JobManager
// restarts; the new leader recovers the job without the stop (Flink's operation cache is in
// memory), and the operator stops it again and rolls the update out, submitting only the updated
// job.
func TestHAStopAcrossLeaderChange(t *testing.T) {
	ns := newNamespace(t)
	obj := haJobCluster(t, ns)
	setPath(obj.Object, "spec.job.savepointsDir", "/savepoints/minimal")
	_, err := createStrict(context.Background(), ns, obj)
	require.NoError(t, err)
	first := waitJob(t, ns, "minimal", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	simRequest(t, http.MethodPut, ns, "minimal", "", `{"delays":{"stop":"1h"}}`)
	patchJob(t, ns, "minimal", `{"parallelism":2}`)
	stop := waitJob(t, ns, "minimal", 30*time.Second, "the update's stop to be in flight", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateUpdating && j.Savepoint != nil && j.Savepoint.State == v1beta1.SavepointStateInProgress
	})
	simRequest(t, http.MethodPut, ns, "minimal", "", `{"delays":{"stop":"500ms"}}`)
	simPost(t, ns, "minimal", "jobmanager/restart", `{"recoverAfter":"2s"}`)

	j := waitJob(t, ns, "minimal", 60*time.Second, "the updated job to run", func(j *v1beta1.JobStatus) bool {
		return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	require.NotEmpty(t, j.SavepointHistory)
	assert.Equal(t, v1beta1.SavepointReasonUpdate, j.SavepointHistory[0].Reason)
	assert.NotEqual(t, stop.Savepoint.TriggerID, j.SavepointHistory[0].TriggerID, "the lost stop was triggered again")
	assert.Equal(t, j.SavepointHistory[0].Location, j.FromSavepoint, "resumed from the new leader's savepoint")
	assert.Zero(t, j.RestartCount)
	var ids []string
	for _, s := range simState(t, ns, "minimal").Submissions {
		ids = append(ids, s.JobID)
	}
	assert.Equal(t, []string{first.ID, j.ID}, ids, "the first job once, then the updated one: no second copy")

	// Deleted, the job cluster takes its final savepoint, then its HA cleanup runs, then it goes.
	fc := getFC(t, ns, "minimal")
	fakeHAConfigMaps(t, fc)
	require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Delete(context.Background(), "minimal", metav1.DeleteOptions{}))
	waitFor(t, 60*time.Second, "the FlinkCluster to go", fcGone(ns, "minimal"))
	assert.Empty(t, configMapNames(t, ns, desired.HAConfigMapLabels(desired.HAClusterID(fc))))
	waitEvents(t, ns, "minimal", "FinalSavepoint", "HAShutdownRequested", "HAConfigMapsDeleted")
}

// TestHARecoveryWaitIsBounded: a JobManager with HA that never recovers the job: the operator
// waits --ha-recovery-grace, then the job is Lost with a message that says what to check, and
// nothing was resubmitted.
func TestHARecoveryWaitIsBounded(t *testing.T) {
	ns := newNamespace(t)
	runHAJob(t, ns)
	simPost(t, ns, "minimal", "jobmanager/restart", `{"recoverAfter":"1h"}`)
	start := time.Now()
	j := waitJob(t, ns, "minimal", 30*time.Second, "the job to be lost", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateLost
	})
	// --ha-recovery-grace=8s (main_test.go); the operator may see the job missing a moment
	// before start was taken, never before the restart.
	assert.GreaterOrEqual(t, time.Since(start), 7*time.Second, "not before the grace ran out")
	assert.Contains(t, j.Message, "although high availability is on: Flink did not recover it")
	assert.Len(t, simState(t, ns, "minimal").Submissions, 1, "nothing was resubmitted while waiting")
}
