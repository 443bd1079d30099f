package controller

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
	"github.com/flink-operator/flink-operator/test/pki"
)

const jmTLSURL = "https://c-jobmanager.ns.svc:8081"

func restTLSCluster() *v1beta1.FlinkCluster {
	fc := jobCluster()
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"security.ssl.rest.enabled": "true"}
	fc.Spec.JobManager.RESTTLS = &v1beta1.RESTTLSSpec{SecretName: "rest-tls"}
	return fc
}

// Every REST call of a cluster behind TLS, the observer's reads and the updater's savepoint
// trigger alike, goes to https:// with the Secret's TLS; until the Secret can be read the
// operator asks the JobManager nothing and says why.
func TestRESTCallsOverTLS(t *testing.T) {
	f := newFixture(t, restTLSCluster())
	f.sync()
	f.makeAvailable()
	f.sync()
	require.Equal(t, fsm.Submitting, f.job().State)
	assert.Empty(t, f.rest.Calls(), "no Secret: no REST call")
	cond := meta.FindStatusCondition(f.cluster().Status.Conditions, state.ConditionJobManagerReachable)
	require.NotNil(t, cond)
	assert.Equal(t, state.ReasonRESTTLSUnavailable, cond.Reason)
	assert.Contains(t, cond.Message, "Secret ns/rest-tls not found")

	ca, err := pki.NewCA("flink-ca")
	require.NoError(t, err)
	createRESTTLSSecret(t, f, ca)
	f.rest.AddJob(jmTLSURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: flinkclient.JobStateRunning}})
	f.sync()
	assert.Equal(t, fsm.Submitting, f.job().State, "a failed read is retried after its interval, not at every sync")

	f.now = f.now.Add(observer.RESTTLSRetry)
	f.sync()
	require.Equal(t, fsm.Running, f.job().State)
	cond = meta.FindStatusCondition(f.cluster().Status.Conditions, state.ConditionJobManagerReachable)
	require.NotNil(t, cond)
	assert.Equal(t, metav1.ConditionTrue, cond.Status)

	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.SavepointGeneration = 1 })
	f.rest.SetSavepointOutcome(jmTLSURL, f.job().ID, flinkfake.Outcome{Polls: 1, Location: "/savepoints/savepoint-1"})
	f.sync()
	require.Equal(t, fsm.Savepointing, f.job().State)

	calls, triggered := f.rest.Calls(), false
	require.NotEmpty(t, calls)
	for _, c := range calls {
		assert.Equal(t, jmTLSURL, c.BaseURL, "%s %s", c.Method, c.Path)
		assert.Equal(t, "ns/rest-tls@1", c.TLS, "%s %s carries the Secret's TLS", c.Method, c.Path)
		triggered = triggered || (c.Method == "POST" && strings.HasSuffix(c.Path, "/savepoints"))
	}
	assert.True(t, triggered, "the updater's trigger went through the same TLS")
}

func createRESTTLSSecret(t *testing.T, f *fixture, ca *pki.CA) {
	t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "rest-tls", ResourceVersion: "1"},
		Data: map[string][]byte{"ca.crt": ca.PEM}}
	_, err := f.kube.CoreV1().Secrets("ns").Create(t.Context(), secret, metav1.CreateOptions{})
	require.NoError(t, err)
}

// Turning TLS on for a running job is an update: its savepoint goes to the JobManager that runs,
// which serves plain HTTP (the configuration it was started with), and the rebuilt one is
// called over HTTPS. Turning it off again needs restTLS until the old JobManager is gone.
func TestTurningRESTTLSOnAndOffForARunningJob(t *testing.T) {
	f := startedJob(t, jobCluster())
	ca, err := pki.NewCA("flink-ca")
	require.NoError(t, err)
	createRESTTLSSecret(t, f, ca)
	first := f.job().ID
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"security.ssl.rest.enabled": "true"}
		fc.Spec.JobManager.RESTTLS = &v1beta1.RESTTLSSpec{SecretName: "rest-tls"}
	})
	f.rest.SetSavepointOutcome(jmURL, first, flinkfake.Outcome{Location: "/savepoints/update"})
	f.rest.ResetCalls()
	for i := 0; i < 6 && f.job().State != fsm.Deploying; i++ {
		f.sync()
	}
	require.Equal(t, fsm.Deploying, f.job().State, "the update's savepoint was taken over plain HTTP")
	for _, c := range f.rest.Calls() {
		assert.Equal(t, jmURL, c.BaseURL, "%s %s goes to the running JobManager's scheme", c.Method, c.Path)
		assert.Empty(t, c.TLS)
	}
	assert.Equal(t, "true", f.storedConfigMap().Annotations[desired.RESTTLSAnnotation], "the rebuilt configuration serves TLS")

	f.makeAvailable()
	f.sync()
	f.sync()
	f.rest.AddJob(jmTLSURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: flinkclient.JobStateRunning}})
	f.rest.ResetCalls()
	f.sync()
	require.Equal(t, fsm.Running, f.job().State)
	require.NotEmpty(t, f.rest.Calls())
	for _, c := range f.rest.Calls() {
		assert.Equal(t, jmTLSURL, c.BaseURL)
		assert.Equal(t, "ns/rest-tls@1", c.TLS)
	}

	// Off again, restTLS removed in the same edit: the JobManager that runs still serves HTTPS.
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.FlinkProperties, fc.Spec.JobManager.RESTTLS = nil, nil })
	f.sync()
	cond := meta.FindStatusCondition(f.cluster().Status.Conditions, state.ConditionJobManagerReachable)
	require.NotNil(t, cond)
	assert.Equal(t, state.ReasonRESTTLSUnavailable, cond.Reason)
	assert.Contains(t, cond.Message, "keep restTLS until the change has rolled out")
	assert.Equal(t, fsm.Running, f.job().State, "nothing happens to the job while it cannot be asked")
}

// storedConfigMap is the API server's copy of the cluster's ConfigMap.
func (f *fixture) storedConfigMap() *corev1.ConfigMap {
	cm, err := f.kube.CoreV1().ConfigMaps("ns").Get(f.t.Context(), "c-configmap", metav1.GetOptions{})
	require.NoError(f.t, err)
	return cm
}
