package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/fake"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func counter() *v1beta1.FlinkCluster {
	return &v1beta1.FlinkCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "counter"},
		Spec:       v1beta1.FlinkClusterSpec{Job: &v1beta1.JobSpec{SavepointsDir: ptr.To("/sp"), RestoreGeneration: 1}},
		Status: v1beta1.FlinkClusterStatus{State: v1beta1.ClusterStateRunning, Components: v1beta1.FlinkClusterComponentsStatus{
			Job: &v1beta1.JobStatus{State: v1beta1.JobStateRunning, FlinkJobState: "RUNNING", ID: "j2", Attempt: 2, RestartCount: 1,
				SavepointGeneration: 3, SavepointLocation: "/sp/savepoint-3", LastSavepointTime: &metav1.Time{Time: t0.Add(-2 * time.Minute)},
				RestoreGeneration: 2}},
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready", Message: "all children are ready"}}},
	}
}

func newPlugin(objects ...runtime.Object) (*plugin, *fake.Clientset, *bytes.Buffer) {
	client := fake.NewSimpleClientset(objects...)
	out := &bytes.Buffer{}
	return &plugin{client: client, namespace: "ns", out: out, server: "https://127.0.0.1:6443", poll: time.Millisecond,
		timeout: time.Minute, now: func() time.Time { return t0 }}, client, out
}

// patches are the merge patches the plugin sent, as JSON.
func patches(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			out = append(out, string(p.GetPatch()))
		}
	}
	return out
}

func TestCommandsPatchTheSpec(t *testing.T) {
	tests := []struct {
		command []string
		patch   string
		says    string
	}{
		{[]string{"cancel", "counter"}, `{"spec":{"job":{"cancelRequested":true}}}`, "cancel requested"},
		{[]string{"suspend", "counter"}, `{"spec":{"job":{"state":"Suspended"}}}`, "kubectl flink resume counter"},
		{[]string{"resume", "counter"}, `{"spec":{"job":{"state":"Running"}}}`, "resume requested"},
		{[]string{"restore", "counter", "/sp/savepoint-1"}, `{"spec":{"job":{"fromSavepoint":"/sp/savepoint-1","restoreGeneration":3}}}`, "restore 3 requested"},
	}
	for _, tt := range tests {
		t.Run(tt.command[0], func(t *testing.T) {
			p, client, out := newPlugin(counter())
			require.NoError(t, p.run(context.Background(), tt.command[0], tt.command[1:]))
			require.Len(t, patches(client), 1)
			assert.JSONEq(t, tt.patch, patches(client)[0])
			assert.Contains(t, out.String(), tt.says)
		})
	}
}

func TestRestoreGoesAboveAPendingRequest(t *testing.T) {
	fc := counter()
	fc.Spec.Job.RestoreGeneration = 5
	p, client, _ := newPlugin(fc)
	require.NoError(t, p.run(context.Background(), "restore", []string{"counter", "/sp/x"}))
	assert.JSONEq(t, `{"spec":{"job":{"fromSavepoint":"/sp/x","restoreGeneration":6}}}`, patches(client)[0])
}

func TestWrongUse(t *testing.T) {
	session := counter()
	session.Spec.Job = nil
	p, client, _ := newPlugin(session)
	err := p.run(context.Background(), "cancel", []string{"counter"})
	assert.ErrorContains(t, err, "ns/counter is a session cluster")
	assert.Empty(t, patches(client))
	assert.ErrorIs(t, p.run(context.Background(), "restore", []string{"counter"}), errUsage, "no path")
	assert.ErrorIs(t, p.run(context.Background(), "frobnicate", []string{"counter"}), errUsage)
	assert.ErrorContains(t, p.run(context.Background(), "status", []string{"missing"}), "not found")
	noDir := counter()
	noDir.Spec.Job.SavepointsDir = nil
	p, client, _ = newPlugin(noDir)
	assert.ErrorContains(t, p.run(context.Background(), "savepoint", []string{"counter"}), "no spec.job.savepointsDir")
	assert.Empty(t, patches(client))
}

// operatorTakes plays the operator: after polls reads of the cluster, status counts the
// savepoint; failures are reported first.
func operatorTakes(client *fake.Clientset, polls int, failures int32) {
	reads := 0
	client.PrependReactor("get", "flinkclusters", func(a k8stesting.Action) (bool, runtime.Object, error) {
		reads++
		obj, err := client.Tracker().Get(a.GetResource(), "ns", "counter")
		if err != nil {
			return true, nil, err
		}
		fc := obj.(*v1beta1.FlinkCluster).DeepCopy()
		job := fc.Status.Components.Job
		if reads > 1 && failures > 0 {
			job.UserSavepointFailures = failures
			job.Savepoint = &v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonUser, State: v1beta1.SavepointStateFailed, Message: "Not all required tasks are currently running."}
		}
		if reads > polls {
			job.SavepointGeneration, job.SavepointLocation = 4, "/sp/savepoint-4"
		}
		return true, fc, nil
	})
}

func TestSavepointWaitsForTheOperator(t *testing.T) {
	p, client, out := newPlugin(counter())
	operatorTakes(client, 4, 1)
	require.NoError(t, p.run(context.Background(), "savepoint", []string{"counter"}))
	assert.JSONEq(t, `{"spec":{"job":{"savepointGeneration":4}}}`, patches(client)[0])
	assert.Equal(t, "flinkcluster/counter: savepoint 4 requested, waiting\n"+
		"attempt 1 failed: Not all required tasks are currently running.\n"+
		"savepoint 4: /sp/savepoint-4\n", out.String())
}

func TestSavepointTimesOut(t *testing.T) {
	p, client, _ := newPlugin(counter())
	operatorTakes(client, 1000, 0)
	clock := t0
	p.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	p.timeout = 10 * time.Second
	err := p.run(context.Background(), "savepoint", []string{"counter"})
	assert.ErrorContains(t, err, "savepoint 4 not taken within 10s (job Running)")
}

func TestStatusIsOneScreen(t *testing.T) {
	fc := counter()
	fc.Status.Components.Job.Rollback = &v1beta1.RollbackStatus{State: v1beta1.RollbackStateRolledBack, Reason: "UpdateFailed", Message: "the job of revision b failed"}
	fc.Status.Components.Job.LatestCheckpoint = &v1beta1.CheckpointRecord{ID: 17, Location: "/chk/17", CompletionTime: &metav1.Time{Time: t0.Add(-40 * time.Second)}}
	p, _, out := newPlugin(fc)
	require.NoError(t, p.run(context.Background(), "status", []string{"counter"}))
	for _, line := range []string{
		"FlinkCluster  ns/counter",
		"Cluster       Running",
		"Job           Running (Flink: RUNNING)",
		"Job ID        j2 (attempt 2)",
		"Restarts      1 by the operator, 0 recoveries by Flink",
		"Savepoint     /sp/savepoint-3 (3 taken, last 2m0s ago)",
		"Checkpoint    17 at /chk/17 (completed 40s ago)",
		"Rollback      RolledBack (UpdateFailed): the job of revision b failed",
		"  Ready       True Ready: all children are ready",
	} {
		assert.Contains(t, out.String(), line+"\n")
	}
}

func TestUI(t *testing.T) {
	fc := counter()
	fc.Status.Components.JobManagerIngress = &v1beta1.IngressStatus{URLs: []string{"https://flink.example.com/counter"}}
	p, _, out := newPlugin(fc)
	require.NoError(t, p.run(context.Background(), "ui", []string{"counter"}))
	assert.Equal(t, "https://flink.example.com/counter\n"+
		"https://127.0.0.1:6443/api/v1/namespaces/ns/services/counter-jobmanager:ui/proxy/\n"+
		"(through the API server; in a browser run `kubectl proxy` and open http://127.0.0.1:8001/api/v1/namespaces/ns/services/counter-jobmanager:ui/proxy/)\n", out.String())

	t.Run("the URL the operator reports comes first", func(t *testing.T) {
		fc.Status.Components.JobManagerService.DashboardURL = "http://127.0.0.1:8001/x/"
		p, _, out := newPlugin(fc)
		require.NoError(t, p.run(context.Background(), "ui", []string{"counter"}))
		assert.True(t, strings.HasPrefix(out.String(), "http://127.0.0.1:8001/x/\nhttps://flink.example.com/counter\n"), out.String())
	})
}

func TestUIWithoutIngress(t *testing.T) {
	p, _, out := newPlugin(counter())
	require.NoError(t, p.run(context.Background(), "ui", []string{"counter"}))
	assert.Equal(t,
		"https://127.0.0.1:6443/api/v1/namespaces/ns/services/counter-jobmanager:ui/proxy/\n"+
			"(through the API server; in a browser run `kubectl proxy` and open http://127.0.0.1:8001/api/v1/namespaces/ns/services/counter-jobmanager:ui/proxy/)\n", out.String())
}

func TestFlagsMayFollowTheArguments(t *testing.T) {
	assert.Equal(t, []string{"-n", "ns", "--timeout=1m", "savepoint", "counter"}, interleaved([]string{"savepoint", "counter", "-n", "ns", "--timeout=1m"}))
	assert.Equal(t, []string{"-h"}, interleaved([]string{"-h"}))
}

func TestUsage(t *testing.T) {
	out := &bytes.Buffer{}
	require.NoError(t, run(context.Background(), []string{"help"}, out))
	assert.Contains(t, out.String(), "kubectl flink [-n NAMESPACE]")
	assert.ErrorIs(t, run(context.Background(), []string{"status"}, out), errUsage)
	assert.ErrorIs(t, run(context.Background(), []string{"--bogus", "status", "x"}, out), errUsage)
}
