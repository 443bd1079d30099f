package flinkclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiCall describes one Interface method for the table-driven tests below.
type apiCall struct {
	name     string
	method   string
	path     string
	query    string
	reqBody  string // expected JSON request body; "" for none
	respCode int
	respBody string // a valid answer
	want     any    // what invoke must return for respBody
	notFound error  // sentinel a 404 maps to; nil means *UnexpectedResponseError
	decodes  bool   // whether a 2xx body is decoded (false for cancel)
	invoke   func(ctx context.Context, c Interface, jm string) (any, error)
}

func allCalls() []apiCall {
	jobPath := "/jobs/" + testJobID
	return []apiCall{
		{
			name: "GetOverview", method: http.MethodGet, path: "/overview",
			respCode: 200, respBody: sampleOverview, decodes: true,
			want: ClusterOverview{TaskManagers: 2, SlotsTotal: 4, SlotsAvailable: 1, JobsRunning: 1,
				JobsFinished: 3, JobsCancelled: 1, FlinkVersion: "1.20.1", FlinkCommit: "c3a0e62"},
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) { return c.GetOverview(ctx, jm) },
		},
		{
			name: "GetConfig", method: http.MethodGet, path: "/config",
			respCode: 200, respBody: sampleConfig, decodes: true,
			want:   DashboardConfig{FlinkVersion: "2.0.0", FlinkRevision: "3f2e1a9 @ 2025-03-14T10:00:00+01:00"},
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) { return c.GetConfig(ctx, jm) },
		},
		{
			name: "ListJobs", method: http.MethodGet, path: "/jobs/overview",
			respCode: 200, respBody: sampleJobsOverview, decodes: true,
			want: []JobOverview{{ID: testJobID, Name: "wordcount", State: JobStateRunning, StartTime: 1700000000000,
				EndTime: -1, DurationMillis: 5000, LastModification: 1700000001000}},
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) { return c.ListJobs(ctx, jm) },
		},
		{
			name: "GetJob", method: http.MethodGet, path: jobPath,
			respCode: 200, respBody: sampleJobDetails, decodes: true, notFound: ErrJobNotFound,
			want: wantJobDetails(),
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return c.GetJob(ctx, jm, testJobID)
			},
		},
		{
			name: "GetJobExceptions", method: http.MethodGet, path: jobPath + "/exceptions",
			respCode: 200, respBody: sampleExceptions2x, decodes: true, notFound: ErrJobNotFound,
			want: JobExceptions{RootException: "java.lang.RuntimeException: boom", Timestamp: 1700000003000,
				History: []ExceptionEntry{{ExceptionName: "java.lang.RuntimeException",
					Stacktrace: "java.lang.RuntimeException: boom", Timestamp: 1700000003000,
					TaskName: "Source: words (2/2)", Endpoint: "10.0.0.8:6122", TaskManagerID: "tm-2",
					FailureLabels: map[string]string{}}}},
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return c.GetJobExceptions(ctx, jm, testJobID)
			},
		},
		{
			name: "GetCheckpoints", method: http.MethodGet, path: jobPath + "/checkpoints",
			respCode: 200, respBody: sampleCheckpoints, decodes: true, notFound: ErrJobNotFound,
			want: wantCheckpoints(),
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return c.GetCheckpoints(ctx, jm, testJobID)
			},
		},
		{
			name: "TriggerSavepoint", method: http.MethodPost, path: jobPath + "/savepoints",
			reqBody:  `{"target-directory":"s3://bucket/sp","cancel-job":true,"formatType":"NATIVE","triggerId":"0123456789abcdef0123456789abcdef"}`,
			respCode: 202, respBody: sampleTrigger, decodes: true, notFound: ErrJobNotFound,
			want: testTriggerID,
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return c.TriggerSavepoint(ctx, jm, testJobID, SavepointRequest{TargetDirectory: "s3://bucket/sp",
					CancelJob: true, FormatType: SavepointFormatNative, TriggerID: testTriggerID})
			},
		},
		{
			name: "StopWithSavepoint", method: http.MethodPost, path: jobPath + "/stop",
			reqBody:  `{"targetDirectory":"s3://bucket/sp","drain":true,"formatType":"CANONICAL","triggerId":"0123456789abcdef0123456789abcdef"}`,
			respCode: 202, respBody: sampleTrigger, decodes: true, notFound: ErrJobNotFound,
			want: testTriggerID,
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return c.StopWithSavepoint(ctx, jm, testJobID, StopRequest{TargetDirectory: "s3://bucket/sp",
					Drain: true, FormatType: SavepointFormatCanonical, TriggerID: testTriggerID})
			},
		},
		{
			name: "GetSavepointStatus", method: http.MethodGet, path: jobPath + "/savepoints/" + testTriggerID,
			respCode: 200, respBody: sampleSavepointCompleted, decodes: true, notFound: ErrTriggerNotFound,
			want: SavepointStatus{State: OperationCompleted, Location: "s3://bucket/sp/savepoint-a5e0ed-2"},
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return c.GetSavepointStatus(ctx, jm, testJobID, testTriggerID)
			},
		},
		{
			name: "GetJobMetrics", method: http.MethodGet, path: jobPath + "/metrics", query: "get=numRestarts,numberOfCompletedCheckpoints",
			respCode: 200, respBody: `[{"id":"numRestarts","value":"3"},{"id":"numberOfCompletedCheckpoints","value":"12"}]`, decodes: true,
			notFound: ErrJobNotFound,
			want:     map[string]string{"numRestarts": "3", "numberOfCompletedCheckpoints": "12"},
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return c.GetJobMetrics(ctx, jm, testJobID, "numRestarts", "numberOfCompletedCheckpoints")
			},
		},
		{
			name: "DisposeSavepoint", method: http.MethodPost, path: "/savepoint-disposal",
			reqBody:  `{"savepoint-path":"s3://bucket/sp/savepoint-a5e0ed-1"}`,
			respCode: 200, respBody: sampleTrigger, decodes: true,
			want: testTriggerID,
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return c.DisposeSavepoint(ctx, jm, "s3://bucket/sp/savepoint-a5e0ed-1")
			},
		},
		{
			name: "GetDisposalStatus", method: http.MethodGet, path: "/savepoint-disposal/" + testTriggerID,
			respCode: 200, respBody: sampleDisposalCompleted, decodes: true, notFound: ErrTriggerNotFound,
			want: SavepointStatus{State: OperationCompleted},
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return c.GetDisposalStatus(ctx, jm, testTriggerID)
			},
		},
		{
			name: "CancelJob", method: http.MethodPatch, path: jobPath, query: "mode=cancel",
			respCode: 202, respBody: `{}`, notFound: ErrJobNotFound,
			want: nil,
			invoke: func(ctx context.Context, c Interface, jm string) (any, error) {
				return nil, c.CancelJob(ctx, jm, testJobID)
			},
		},
	}
}

func wantJobDetails() JobDetails {
	return JobDetails{
		ID: testJobID, Name: "wordcount", State: JobStateRunning, StartTime: 1700000000000, EndTime: -1,
		DurationMillis: 5000, Now: 1700000005000, MaxParallelism: -1, JobType: "STREAMING",
		Timestamps: map[JobState]EpochMillis{JobStateCreated: 1700000000000, JobStateRunning: 1700000000500, JobStateFailed: 0},
		Vertices: []VertexSummary{{ID: "cbc357ccb763df2852fee8c4fc7d55f2", Name: "Source: words",
			Parallelism: 2, Status: "RUNNING"}},
	}
}

func wantCheckpoints() CheckpointStats {
	return CheckpointStats{
		Counts: CheckpointCounts{Restored: 1, Total: 4, Completed: 3, Failed: 1},
		LatestCompleted: &CompletedCheckpoint{ID: 5, Status: "COMPLETED", CheckpointType: "CHECKPOINT",
			TriggerTimestamp: 1700000004000, LatestAckTimestamp: 1700000004100, StateSize: 1024,
			EndToEndDuration: 100, ExternalPath: "s3://bucket/chk/a5e0/chk-5"},
		LatestSavepoint: &CompletedCheckpoint{ID: 4, Status: "COMPLETED", IsSavepoint: true, CheckpointType: "SAVEPOINT",
			SavepointFormat: "CANONICAL", TriggerTimestamp: 1700000003500, LatestAckTimestamp: 1700000003600,
			StateSize: 2048, EndToEndDuration: 150, ExternalPath: "s3://bucket/sp/savepoint-a5e0ed-1"},
		LatestFailed: &FailedCheckpoint{ID: 3, TriggerTimestamp: 1700000002000, FailureTimestamp: 1700000002500,
			FailureMessage: "Checkpoint expired before completing."},
		LatestRestored: &RestoredCheckpoint{ID: 1, IsSavepoint: true, RestoreTimestamp: 1700000000400,
			ExternalPath: "s3://bucket/sp/savepoint-old"},
	}
}

// recorded is what the test server saw.
type recorded struct {
	mu                  sync.Mutex
	method, path, query string
	body, contentType   string
}

func (r *recorded) get() recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorded{method: r.method, path: r.path, query: r.query, body: r.body, contentType: r.contentType}
}

// serve starts a server answering every request with code and body.
func serve(t *testing.T, code int, body string) (string, *recorded) {
	t.Helper()
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.method, rec.path, rec.query = r.Method, r.URL.Path, r.URL.RawQuery
		rec.body, rec.contentType = string(b), r.Header.Get("Content-Type")
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, rec
}

func TestCallsSuccess(t *testing.T) {
	for _, tc := range allCalls() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			jm, rec := serve(t, tc.respCode, tc.respBody)
			got, err := tc.invoke(context.Background(), New(Options{}), jm)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)

			seen := rec.get()
			assert.Equal(t, tc.method, seen.method)
			assert.Equal(t, tc.path, seen.path)
			assert.Equal(t, tc.query, seen.query)
			if tc.reqBody == "" {
				assert.Empty(t, seen.body)
				return
			}
			assert.JSONEq(t, tc.reqBody, seen.body)
			assert.Equal(t, "application/json", seen.contentType)
		})
	}
}

func TestCallsNotFound(t *testing.T) {
	for _, tc := range allCalls() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			jm, _ := serve(t, http.StatusNotFound, sampleFlinkError)
			_, err := tc.invoke(context.Background(), New(Options{}), jm)
			require.Error(t, err)
			if tc.notFound != nil {
				assert.ErrorIs(t, err, tc.notFound)
				assert.Contains(t, err.Error(), "NotFoundException: Job a5e0edd8e66b53f1b89c2041f91b8fd2 not found")
				assert.NotContains(t, err.Error(), "AbstractExecutionGraphHandler", "stack trace must be cut")
				return
			}
			var ue *UnexpectedResponseError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, http.StatusNotFound, ue.StatusCode)
		})
	}
}

func TestCallsServerError(t *testing.T) {
	for _, tc := range allCalls() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			jm, _ := serve(t, http.StatusInternalServerError, sampleInternalError)
			_, err := tc.invoke(context.Background(), New(Options{}), jm)
			var ue *UnexpectedResponseError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, http.StatusInternalServerError, ue.StatusCode)
			assert.Equal(t, tc.method, ue.Method)
			assert.Len(t, ue.Snippet, snippetLen)
			assert.True(t, strings.HasPrefix(sampleInternalError, ue.Snippet))
			assert.Equal(t, "Internal server error.", ue.FlinkErrors[0])
			assert.NoError(t, ue.Err)
			assert.NotErrorIs(t, err, ErrJobNotFound)
		})
	}
}

func TestCallsMalformedBody(t *testing.T) {
	bodies := map[string]string{
		"truncated":  `{"jid":"a5e0`,
		"html":       `<html><body>502 Bad Gateway</body></html>`,
		"null":       `null`,
		"wrong type": `{"jid":42,"state":["RUNNING"],"jobs":"x","counts":7,"request-id":1,"status":"x","flink-version":{},"exceptionHistory":5}`,
		"empty":      ``,
	}
	for _, tc := range allCalls() {
		if !tc.decodes {
			continue
		}
		for name, body := range bodies {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				jm, _ := serve(t, tc.respCode, body)
				_, err := tc.invoke(context.Background(), New(Options{}), jm)
				var ue *UnexpectedResponseError
				require.ErrorAs(t, err, &ue)
				assert.Equal(t, tc.respCode, ue.StatusCode)
				assert.Error(t, ue.Err, "the decode error must be kept")
				assert.Equal(t, snippet([]byte(body)), ue.Snippet)
			})
		}
	}
}

func TestCallsOversizedBody(t *testing.T) {
	for _, tc := range allCalls() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A valid body padded past the limit: the size check must win.
			body := tc.respBody[:len(tc.respBody)-1] + `,"pad":"` + strings.Repeat("x", 2048) + `"}`
			jm, _ := serve(t, tc.respCode, body)
			c := New(Options{MaxResponseBytes: int64(len(tc.respBody) + 10)})
			_, err := tc.invoke(context.Background(), c, jm)
			assert.ErrorIs(t, err, ErrResponseTooLarge)
			var ue *UnexpectedResponseError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, tc.respCode, ue.StatusCode)
		})
	}
}

// closedAddr returns the base URL of a port nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func TestCallsUnreachable(t *testing.T) {
	for _, tc := range allCalls() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			jm := closedAddr(t)
			start := time.Now()
			_, err := tc.invoke(context.Background(), New(Options{Timeout: 5 * time.Second}), jm)
			assert.ErrorIs(t, err, ErrUnreachable)
			assert.NotErrorIs(t, err, ErrTimeout)
			assert.Less(t, time.Since(start), time.Second, "connection refused must fail fast")
			var opErr *net.OpError
			assert.ErrorAs(t, err, &opErr, "the net error stays inspectable")
		})
	}
}

// slowServer never answers within the client timeout; it returns as soon as
// the client goes away so that Close does not wait (the server only notices
// a disconnect once the request body has been consumed).
func slowServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCallsTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	for _, tc := range allCalls() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			jm := slowServer(t)
			start := time.Now()
			_, err := tc.invoke(context.Background(), New(Options{Timeout: timeout}), jm)
			elapsed := time.Since(start)
			assert.ErrorIs(t, err, ErrTimeout)
			assert.NotErrorIs(t, err, ErrUnreachable)
			assert.GreaterOrEqual(t, elapsed, timeout)
			assert.Less(t, elapsed, timeout+time.Second)
		})
	}
}

func TestTimeoutWhileReadingBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"taskmanagers":`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	_, err := New(Options{Timeout: 100 * time.Millisecond}).GetOverview(context.Background(), srv.URL)
	assert.ErrorIs(t, err, ErrTimeout)
}

func TestCallerDeadlineAndCancel(t *testing.T) {
	jm := slowServer(t)
	c := New(Options{Timeout: time.Minute})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.GetOverview(ctx, jm)
	assert.ErrorIs(t, err, ErrTimeout, "a caller deadline is a timeout too")

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.GetOverview(ctx, jm)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrTimeout)
	assert.NotErrorIs(t, err, ErrUnreachable)
}

func TestCheckpointingDisabled(t *testing.T) {
	jm, _ := serve(t, http.StatusNotFound, sampleCheckpointingDisabled)
	_, err := New(Options{}).GetCheckpoints(context.Background(), jm, testJobID)
	assert.ErrorIs(t, err, ErrCheckpointingDisabled)
	assert.NotErrorIs(t, err, ErrJobNotFound)
}

func TestRedirectNotFollowed(t *testing.T) {
	target, rec := serve(t, 200, sampleTrigger)
	srv := httptest.NewServer(http.RedirectHandler(target+"/elsewhere", http.StatusTemporaryRedirect))
	defer srv.Close()
	_, err := New(Options{}).TriggerSavepoint(context.Background(), srv.URL, testJobID, SavepointRequest{})
	var ue *UnexpectedResponseError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, http.StatusTemporaryRedirect, ue.StatusCode)
	assert.Empty(t, rec.get().method, "redirect target must not be called")
}

func TestBaseURLWithPrefixAndOptionalFields(t *testing.T) {
	for _, suffix := range []string{"/flink", "/flink/"} {
		jm, rec := serve(t, 202, sampleTrigger)
		_, err := New(Options{}).TriggerSavepoint(context.Background(), jm+suffix, testJobID, SavepointRequest{})
		require.NoError(t, err)
		seen := rec.get()
		assert.Equal(t, "/flink/jobs/"+testJobID+"/savepoints", seen.path)
		// Optional fields are omitted so Flink applies its defaults.
		assert.JSONEq(t, `{"cancel-job":false}`, seen.body)
	}
}

// failingTransport fails the test if any request is sent.
type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
	return nil, errors.New("unexpected request")
}

func TestInvalidArgumentsNeverReachNetwork(t *testing.T) {
	c := New(Options{Transport: failingTransport{t}})
	ctx := context.Background()
	const jm = "http://jm:8081"
	cases := map[string]func() error{
		"bad base scheme":  func() error { _, err := c.GetOverview(ctx, "ftp://jm:8081"); return err },
		"base no host":     func() error { _, err := c.GetOverview(ctx, "http://"); return err },
		"base with query":  func() error { _, err := c.GetOverview(ctx, "http://jm:8081?x=1"); return err },
		"base unparseable": func() error { _, err := c.GetOverview(ctx, "http://jm:80:81\x7f"); return err },
		"job path escape":  func() error { _, err := c.GetJob(ctx, jm, "../../overview"); return err },
		"job ID too short": func() error { _, err := c.GetJobExceptions(ctx, jm, "abc"); return err },
		"job ID non hex":   func() error { _, err := c.GetCheckpoints(ctx, jm, strings.Repeat("g", 32)); return err },
		"cancel bad ID":    func() error { return c.CancelJob(ctx, jm, "") },
		"trigger bad ID": func() error {
			_, err := c.TriggerSavepoint(ctx, jm, testJobID, SavepointRequest{TriggerID: "x/y"})
			return err
		},
		"stop bad format": func() error {
			_, err := c.StopWithSavepoint(ctx, jm, testJobID, StopRequest{FormatType: "ZIP"})
			return err
		},
		"status bad trigger": func() error { _, err := c.GetSavepointStatus(ctx, jm, testJobID, "?"); return err },
		"dispose empty path": func() error { _, err := c.DisposeSavepoint(ctx, jm, ""); return err },
		"no metric names":    func() error { _, err := c.GetJobMetrics(ctx, jm, testJobID); return err },
		"metric name with &": func() error { _, err := c.GetJobMetrics(ctx, jm, testJobID, "numRestarts&x=1"); return err },
		"metrics bad job ID": func() error { _, err := c.GetJobMetrics(ctx, jm, "x", "numRestarts"); return err },
		"disposal bad ID":    func() error { _, err := c.GetDisposalStatus(ctx, jm, "%2e%2e"); return err },
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, call(), ErrInvalidArgument)
		})
	}
}

func TestRedactsCredentialsInErrors(t *testing.T) {
	_, err := New(Options{}).GetOverview(context.Background(), strings.Replace(closedAddr(t), "http://", "http://user:secret@", 1))
	require.ErrorIs(t, err, ErrUnreachable)
	assert.NotContains(t, err.Error(), "secret")
}

func TestConnectionReuse(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		_, _ = io.WriteString(w, sampleOverview)
	}))
	srv.Start()
	defer srv.Close()
	c := New(Options{})
	for i := 0; i < 5; i++ {
		_, err := c.GetOverview(context.Background(), srv.URL)
		require.NoError(t, err)
	}
	assert.Len(t, conns, 1, "sequential calls should share one keep-alive connection")
}
