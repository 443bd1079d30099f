package leader

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/client-go/rest"

	leasesclient "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/coordination/v1"
)

// leaseServer is an API server of one Lease whose writes can be made to hang until the client
// gives up: the fake clientset ignores contexts, so only a real HTTP client shows whether an
// attempt's timeout holds.
type leaseServer struct {
	mu    sync.Mutex
	lease coordinationv1.Lease
	hang  atomic.Bool
	// stop ends hanging calls when the test is over: the server notices a client that gave up
	// only once it reads from the connection.
	stop chan struct{}
}

func (s *leaseServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && s.hang.Load() {
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodPut {
		var l coordinationv1.Lease
		if err := json.NewDecoder(r.Body).Decode(&l); err != nil || l.ResourceVersion != s.lease.ResourceVersion {
			http.Error(w, "conflict", http.StatusConflict)
			return
		}
		version, _ := strconv.Atoi(s.lease.ResourceVersion)
		l.ResourceVersion = strconv.Itoa(version + 1)
		s.lease = l
	}
	w.Header().Set("Content-Type", "application/json")
	out := s.lease
	out.APIVersion, out.Kind = "coordination.k8s.io/v1", "Lease"
	_ = json.NewEncoder(w).Encode(out)
}

// TestAHangingRenewalStopsLeadingInTime: when the API server stops answering, the leader stops
// leading within the renew deadline of its last renewal, before a standby may take over (the
// lease duration), however long the hanging call would last.
func TestAHangingRenewalStopsLeadingInTime(t *testing.T) {
	server := &leaseServer{lease: *lease("", "1", 1), stop: make(chan struct{})} // released: taken at once
	http := httptest.NewServer(server)
	defer http.Close()
	defer close(server.stop)
	client, err := leasesclient.NewForConfigAndClient(&rest.Config{Host: http.URL,
		ContentConfig: rest.ContentConfig{ContentType: "application/json", AcceptContentTypes: "application/json"}}, http.Client())
	require.NoError(t, err)
	c := Config{Leases: client, Namespace: "op", Name: "flink-operator", Identity: "a",
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond, Now: time.Now}

	r := start(context.Background(), c)
	await(t, r.leading, "a leads")
	time.Sleep(700 * time.Millisecond) // at least one renewal
	server.hang.Store(true)
	hanging := time.Now()

	assert.ErrorIs(t, await(t, r.result, "Run returns"), ErrLost)
	assert.Less(t, time.Since(hanging), 3*time.Second, "before a standby could take over")
	close(r.drained)
}
