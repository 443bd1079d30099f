package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// do sends a control API request and returns the status and body.
func (e *env) do(method, path, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.hs.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, string(b)
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	base := "/sim/clusters/ns/c"

	code, body := e.do(http.MethodPut, base, `{"flinkVersion":"2.1.0","defaultSavepointDir":"/sp","delays":{"initialize":"1s","savepoint":"500ms"}}`)
	require.Equal(t, http.StatusOK, code, body)
	cfg := e.srv.Cluster("ns", "c").Config()
	assert.Equal(t, "2.1.0", cfg.FlinkVersion)
	assert.Equal(t, time.Second, cfg.Delays.Initialize)
	assert.Equal(t, testDelays.Cancel, cfg.Delays.Cancel, "absent fields keep their value")
	code, _ = e.do(http.MethodPut, base, `{"delays":{"initialize":"soon"}}`)
	assert.Equal(t, http.StatusBadRequest, code)

	args := `{"args":["flink","run","-d","-D$internal.pipeline.job-id=` + jobA + `","-p","3","job.jar"]}`
	code, body = e.do(http.MethodPost, base+"/submit", args)
	require.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"jobId":"`+jobA+`"}`, body)
	code, body = e.do(http.MethodPost, base+"/submit", args)
	assert.Equal(t, http.StatusConflict, code)
	assert.Contains(t, body, "Job has already been submitted.")
	code, body = e.do(http.MethodPost, base+"/submit", `{"args":["flink","run"]}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "no JAR")

	code, body = e.do(http.MethodPost, "/sim/clock", `{"advance":"1s"}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, epoch.Add(time.Second).Format(time.RFC3339))
	assert.Equal(t, flinkclient.JobStateRunning, e.state(jm, jobA))

	code, _ = e.do(http.MethodPost, base+"/jobs/"+jobA+"/restart", `{"message":"lost TM"}`)
	assert.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, flinkclient.JobStateRestarting, e.state(jm, jobA))
	e.clock.Advance(testDelays.Restart)
	code, _ = e.do(http.MethodPost, base+"/savepoint-failures", `{"count":1,"message":"nope"}`)
	assert.Equal(t, http.StatusNoContent, code)
	id, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
	require.NoError(t, err)
	e.clock.Advance(time.Second)
	assert.Equal(t, flinkclient.OperationFailed, e.savepointStatus(jm, jobA, id).State)

	code, _ = e.do(http.MethodPut, base+"/faults", `{"internalError":true}`)
	assert.Equal(t, http.StatusNoContent, code)
	_, err = e.client.GetOverview(e.ctx, jm)
	var ue *flinkclient.UnexpectedResponseError
	require.ErrorAs(t, err, &ue)
	code, _ = e.do(http.MethodPut, base+"/faults", `{"slow":"-1s"}`)
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = e.do(http.MethodDelete, base+"/faults", "")
	assert.Equal(t, http.StatusNoContent, code)

	code, _ = e.do(http.MethodPost, base+"/jobs/"+jobA+"/fail", ``)
	assert.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, flinkclient.JobStateFailed, e.state(jm, jobA))
	code, _ = e.do(http.MethodPost, base+"/jobs/"+jobB+"/fail", ``)
	assert.Equal(t, http.StatusNotFound, code)

	code, body = e.do(http.MethodGet, base, "")
	require.Equal(t, http.StatusOK, code)
	var state struct {
		Jobs []struct {
			ID          string   `json:"id"`
			State       string   `json:"state"`
			Parallelism int      `json:"parallelism"`
			Restarts    int      `json:"restarts"`
			Args        []string `json:"args"`
		} `json:"jobs"`
		Submissions []struct {
			Error string `json:"error"`
		} `json:"submissions"`
		Requests map[string]int64 `json:"requests"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &state))
	require.Len(t, state.Jobs, 1)
	assert.Equal(t, "FAILED", state.Jobs[0].State)
	assert.Equal(t, 3, state.Jobs[0].Parallelism)
	assert.Equal(t, 1, state.Jobs[0].Restarts)
	assert.Len(t, state.Submissions, 2)
	assert.Equal(t, int64(1), state.Requests["POST /jobs/{jobid}/savepoints"])

	code, body = e.do(http.MethodGet, base+"/requests", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"GET /overview":1`)
	code, _ = e.do(http.MethodDelete, base+"/requests", "")
	assert.Equal(t, http.StatusNoContent, code)
	assert.Zero(t, e.srv.Cluster("ns", "c").TotalRequests())

	code, body = e.do(http.MethodGet, "/sim/clusters", "")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `[{"namespace":"ns","name":"c","jobs":1,"requests":0}]`, body)

	code, _ = e.do(http.MethodPost, base+"/jobmanager/restart", "")
	assert.Equal(t, http.StatusNoContent, code)
	assert.Empty(t, e.srv.Cluster("ns", "c").Jobs())

	code, _ = e.do(http.MethodPost, "/sim/savepoints", `{"path":"/sp/ext"}`)
	assert.Equal(t, http.StatusNoContent, code)
	code, body = e.do(http.MethodGet, "/sim/savepoints", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "/sp/ext")

	code, _ = e.do(http.MethodDelete, base, "")
	assert.Equal(t, http.StatusNoContent, code)
	code, _ = e.do(http.MethodDelete, base, "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = e.do(http.MethodGet, "/sim/nothing", "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = e.do(http.MethodGet, "/sim/healthz", "")
	assert.Equal(t, http.StatusOK, code)
}

func TestControlClockNeedsFakeClock(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Clock = RealClock{} })
	code, _ := e.do(http.MethodPost, "/sim/clock", `{"advance":"1s"}`)
	assert.Equal(t, http.StatusConflict, code)
	code, _ = e.do(http.MethodGet, "/sim/clock", "")
	assert.Equal(t, http.StatusOK, code)
}

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(epoch)
	c.Advance(-time.Second)
	c.Set(epoch.Add(-time.Hour))
	assert.Equal(t, epoch, c.Now(), "time never goes backwards")
	c.Set(epoch.Add(time.Hour))
	c.Advance(time.Second)
	assert.Equal(t, epoch.Add(time.Hour+time.Second), c.Now())
	assert.False(t, RealClock{}.Now().IsZero())
}
