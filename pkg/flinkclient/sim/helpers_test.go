package sim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	jobA = "a5e0edd8e66b53f1b89c2041f91b8fd2"
	jobB = "0123456789abcdef0123456789abcdef"
	trig = "fedcba9876543210fedcba9876543210"
)

// testDelays are distinct so that a test advancing the clock shows which
// transition it waits for.
var testDelays = Delays{
	Initialize: 2 * time.Second, Deploy: time.Second, Savepoint: 3 * time.Second,
	Stop: 4 * time.Second, Cancel: 5 * time.Second, Restart: 6 * time.Second, Disposal: 7 * time.Second,
}

type env struct {
	t      *testing.T
	clock  *FakeClock
	srv    *Server
	hs     *httptest.Server
	client *flinkclient.Client
	ctx    context.Context
}

func newEnv(t *testing.T, mutate ...func(*Options)) *env {
	t.Helper()
	clock := NewFakeClock(epoch)
	opts := Options{Clock: clock, Seed: 1, Defaults: ClusterConfig{Delays: testDelays, DefaultSavepointDir: "s3://default/sp"}}
	for _, m := range mutate {
		m(&opts)
	}
	srv := New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &env{t: t, clock: clock, srv: srv, hs: hs, ctx: context.Background(),
		client: flinkclient.New(flinkclient.Options{Timeout: 5 * time.Second})}
}

func (e *env) jm(ns, name string) string { return JobManagerURL(e.hs.URL, ns, name) }

// submit starts a job with the given ID (and extra options) in ns/name.
func (e *env) submit(cluster, jobID string, extra ...string) {
	e.t.Helper()
	args := append([]string{"/opt/flink/bin/flink", "run", "-d", "-D" + PropJobID + "=" + jobID}, extra...)
	args = append(args, "/opt/flink/usrlib/job.jar")
	require.NoError(e.t, e.srv.Submit(cluster, args))
}

func (e *env) state(jm, jobID string) flinkclient.JobState {
	e.t.Helper()
	d, err := e.client.GetJob(e.ctx, jm, jobID)
	require.NoError(e.t, err)
	return d.State
}

// running submits a job and advances past initialization.
func (e *env) running(cluster, jm, jobID string, extra ...string) {
	e.t.Helper()
	e.submit(cluster, jobID, extra...)
	e.clock.Advance(testDelays.Initialize)
	require.Equal(e.t, flinkclient.JobStateRunning, e.state(jm, jobID))
}

func (e *env) savepointStatus(jm, jobID, trigger string) flinkclient.SavepointStatus {
	e.t.Helper()
	st, err := e.client.GetSavepointStatus(e.ctx, jm, jobID, trigger)
	require.NoError(e.t, err)
	return st
}

func newTestServer(tb testing.TB, h http.Handler) *httptest.Server {
	hs := httptest.NewServer(h)
	tb.Cleanup(hs.Close)
	return hs
}
