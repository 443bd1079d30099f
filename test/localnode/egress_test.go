//go:build flink

package localnode

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The API server's node proxy also goes through the egress: only the kubelet endpoint of the
// node's own address may be reached, never another loopback service (etcd, kubectl proxy).
func TestEgressReachesOnlyPodsAndTheKubelet(t *testing.T) {
	n := New(Options{Name: "local-flink"})
	n.kubeletPort = 10250
	for _, tt := range []struct {
		target, want string
	}{
		{"localhost:10250", "localhost:10250"},
		{"127.0.0.1:10250", "127.0.0.1:10250"},
		{"localhost:2379", ""},
		{"127.0.0.1:8001", ""},
		{"127.244.0.1:8081", ""},
		{"10.244.0.9:8081", ""}, // no such pod here
		{"10.0.0.1:70000", ""},
		{"example.com:443", ""},
	} {
		got, err := n.egressTarget(tt.target)
		if tt.want == "" {
			assert.Error(t, err, tt.target)
		} else {
			assert.NoError(t, err, tt.target)
			assert.Equal(t, tt.want, got, tt.target)
		}
	}
}
