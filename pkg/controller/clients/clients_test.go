package clients

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
)

// TestNewSharesOneRateLimiterPerAPI: the Kubernetes groups draw on one token bucket together, as
// client-go's clientset did, and the FlinkCluster API on its own, as its clientset did; so
// --kube-api-qps means what it meant before the groups got their own clients.
func TestNewSharesOneRateLimiterPerAPI(t *testing.T) {
	k, f, err := New(&rest.Config{Host: "https://127.0.0.1:6443", QPS: 200, Burst: 400})
	require.NoError(t, err)
	kube, flink := k.(*kube), f.(*flink)
	limiter := kube.core.RESTClient().GetRateLimiter()
	require.NotNil(t, limiter)
	for _, c := range []rest.Interface{kube.apps.RESTClient(), kube.batch.RESTClient(), kube.networking.RESTClient(),
		kube.policy.RESTClient(), kube.autoscaling.RESTClient(), kube.discovery.RESTClient(),
		kube.coordination.RESTClient(), kube.authorization.RESTClient()} {
		assert.Same(t, limiter, c.GetRateLimiter())
	}
	assert.NotSame(t, limiter, flink.v1beta1.RESTClient().GetRateLimiter())
	assert.Equal(t, float32(200), limiter.QPS())
}

func TestNewRejectsAQPSWithoutBurst(t *testing.T) {
	_, _, err := New(&rest.Config{Host: "https://127.0.0.1:6443", QPS: 200})
	assert.ErrorContains(t, err, "burst")
}
