package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	fcfake "github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/fake"
)

// TestStraysAreListedUntilTheListSucceeds: a shard that starts owning clusters labelled for
// another must hand them over; its cache does not hold them, so only this LIST brings them. One
// that fails is retried.
func TestStraysAreListedUntilTheListSucceeds(t *testing.T) {
	stray := &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "moved",
		Labels: map[string]string{shard.Label: "b", shard.OwnerLabel: "a"}}}
	mine := &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "mine",
		Labels: map[string]string{shard.Label: "a", shard.OwnerLabel: "a"}}}
	flink := fcfake.NewSimpleClientset(stray, mine)
	failures := 1
	flink.PrependReactor("list", "flinkclusters", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failures > 0 {
			failures--
			return true, nil, errors.New("API server unavailable")
		}
		return false, nil, nil
	})
	var mu sync.Mutex
	var keys []string
	opts := defaultOptions()
	opts.shard = "a"
	enqueueStrays(context.Background(), opts, flink, func(k string) { mu.Lock(); keys = append(keys, k); mu.Unlock() })
	assert.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(keys) > 0 }, 10*time.Second, 20*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"ns/moved"}, keys, "only the clusters labelled for another shard")
}
