//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// idleWindow is how long idle clusters are watched; the operator under test polls Flink every
// second (--flink-poll-interval=1s).
const (
	idleWindow   = 60 * time.Second
	pollInterval = time.Second
	// healthInterval and restartWindow are the operators' --health-check-interval and
	// --unhealthy-restart-window here.
	healthInterval = 5 * time.Second
	restartWindow  = 20 * time.Second
)

// writeCounter reads the API server's own request metrics: writes (POST, PUT, PATCH, DELETE) to
// the kinds the operator writes. Deployment and Job status writes belong to their controllers
// and are left out.
var requestLine = regexp.MustCompile(`^apiserver_request_total\{(.*)\} (\d+)`)

func apiWrites(t *testing.T) map[string]int {
	t.Helper()
	body, err := env.kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	require.NoError(t, err)
	counts := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := requestLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		labels := parseLabels(m[1])
		if !isOperatorWrite(labels) {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		counts[labels["verb"]+" "+labels["resource"]+"/"+labels["subresource"]] += n
	}
	return counts
}

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

func isOperatorWrite(l map[string]string) bool {
	switch l["verb"] {
	case "POST", "PUT", "PATCH", "DELETE", "APPLY":
	default:
		return false
	}
	switch l["resource"] {
	case "flinkclusters", "configmaps", "services", "ingresses", "networkpolicies":
		return true
	case "deployments", "jobs":
		return l["subresource"] == ""
	}
	return false
}

func diffCounts(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// simRequests is the number of Flink REST calls the simulator has served for a cluster.
func simRequests(t *testing.T, ns, name string) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/sim/clusters/%s/%s/requests", env.simURL, ns, name))
	require.NoError(t, err)
	defer resp.Body.Close()
	var counts map[string]int
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&counts))
	total := 0
	for _, n := range counts {
		total += n
	}
	return total
}

// waitNamespacesGone waits until earlier tests' namespaces are deleted, so that the namespace
// controller's deletions do not count as writes in the idle window.
func waitNamespacesGone(t *testing.T, keep ...string) {
	t.Helper()
	waitFor(t, 3*time.Minute, "terminating namespaces to go", func() bool {
		list, err := env.kube.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
		require.NoError(t, err)
		for _, ns := range list.Items {
			if ns.Status.Phase == corev1.NamespaceTerminating {
				return false
			}
		}
		return true
	})
}

// TestIdleClustersCostNothing: Running clusters, a session cluster and a job cluster, make zero
// API writes over a minute, and the job's Flink REST calls follow the poll and health check intervals.
func TestIdleClustersCostNothing(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	_, err := createStrict(ctx, ns, fromYAML(t, minimalSessionCluster))
	require.NoError(t, err)
	_, err = createStrict(ctx, ns, fromYAML(t, minimalJobCluster))
	require.NoError(t, err)
	waitFor(t, 90*time.Second, "both clusters Running", func() bool {
		return clusterState(ns, "session")() && clusterState(ns, "minimal")() &&
			jobStatus(t, ns, "minimal").State == v1beta1.JobStateRunning
	})
	waitNamespacesGone(t)
	time.Sleep(3 * time.Second) // the last status writes and their events settle

	writesBefore, pollsBefore := apiWrites(t), simRequests(t, ns, "minimal")
	time.Sleep(idleWindow)
	writes, polls := diffCounts(writesBefore, apiWrites(t)), simRequests(t, ns, "minimal")-pollsBefore

	assert.Empty(t, writes, "idle Running clusters must make no API writes")
	want := int(idleWindow/pollInterval + idleWindow/healthInterval)
	assert.InDelta(t, want, polls, float64(want)/4, "Flink REST calls in %s: one GET /jobs/{id} per poll interval, one GET /jobs/{id}/metrics per health check interval", idleWindow)
	t.Logf("idle %s: API writes %v, Flink REST calls %d (expected about %d)", idleWindow, writes, polls, want)
}
