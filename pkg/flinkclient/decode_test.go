package flinkclient

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeJobExceptions(t *testing.T) {
	tests := []struct {
		name string
		body string
		want JobExceptions
	}{
		{
			name: "flink 1.x keeps deprecated root-exception, sorts history newest first, maps location",
			body: sampleExceptions1x,
			want: JobExceptions{
				RootException: "java.lang.RuntimeException: boom\n\tat Foo.bar(Foo.java:1)", Timestamp: 1700000003000,
				HistoryTruncated: true,
				History: []ExceptionEntry{
					{ExceptionName: "java.lang.RuntimeException", Stacktrace: "java.lang.RuntimeException: boom\n\tat Foo.bar(Foo.java:1)",
						Timestamp: 1700000003000, TaskName: "Source: words (2/2)", Endpoint: "10.0.0.8:6122",
						TaskManagerID: "tm-2", FailureLabels: map[string]string{"type": "user"}},
					{ExceptionName: "java.lang.IllegalStateException", Stacktrace: "java.lang.IllegalStateException: old",
						Timestamp: 1700000002000, TaskName: "Map (1/2)", Endpoint: "10.0.0.7:6122",
						TaskManagerID: "tm-1", FailureLabels: map[string]string{}},
				},
			},
		},
		{
			name: "no failure yet",
			body: `{"exceptionHistory":{"entries":[],"truncated":false}}`,
			want: JobExceptions{},
		},
		{
			name: "flink 1.x without failure sends null root-exception",
			body: `{"root-exception":null,"timestamp":null,"all-exceptions":[],"truncated":false,"exceptionHistory":{"entries":[]}}`,
			want: JobExceptions{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeJobExceptions([]byte(tc.body))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeSavepointAndDisposalStatus(t *testing.T) {
	failed := SavepointStatus{State: OperationFailed, Failure: &FailureCause{
		Class:      "java.util.concurrent.CompletionException",
		StackTrace: "java.util.concurrent.CompletionException: Checkpoint Coordinator is suspending.",
	}}
	tests := []struct {
		name         string
		body         string
		savepoint    SavepointStatus
		savepointErr string
		disposal     SavepointStatus
		disposalErr  string
	}{
		{name: "in progress", body: sampleSavepointInProgress,
			savepoint: SavepointStatus{State: OperationInProgress}, disposal: SavepointStatus{State: OperationInProgress}},
		{name: "completed", body: sampleSavepointCompleted,
			savepoint: SavepointStatus{State: OperationCompleted, Location: "s3://bucket/sp/savepoint-a5e0ed-2"},
			disposal:  SavepointStatus{State: OperationCompleted}},
		{name: "failed", body: sampleSavepointFailed, savepoint: failed, disposal: failed},
		{name: "completed without location", body: sampleDisposalCompleted,
			savepointErr: "operation.location", disposal: SavepointStatus{State: OperationCompleted}},
		{name: "completed without operation", body: `{"status":{"id":"COMPLETED"}}`,
			savepointErr: "operation.location", disposal: SavepointStatus{State: OperationCompleted}},
		{name: "unknown status", body: `{"status":{"id":"PAUSED"}}`,
			savepointErr: "PAUSED", disposalErr: "PAUSED"},
		{name: "missing status", body: `{"operation":{"location":"x"}}`,
			savepointErr: `"status"`, disposalErr: `"status"`},
		{name: "null status", body: `{"status":null}`, savepointErr: `"status"`, disposalErr: `"status"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeSavepointStatus([]byte(tc.body))
			if tc.savepointErr != "" {
				assert.ErrorContains(t, err, tc.savepointErr)
			} else if assert.NoError(t, err) {
				assert.Equal(t, tc.savepoint, got)
			}
			got, err = decodeDisposalStatus([]byte(tc.body))
			if tc.disposalErr != "" {
				assert.ErrorContains(t, err, tc.disposalErr)
			} else if assert.NoError(t, err) {
				assert.Equal(t, tc.disposal, got)
			}
		})
	}
}

func TestDecodersRejectIncompleteAnswers(t *testing.T) {
	tests := []struct {
		name   string
		decode func([]byte) error
		body   string
	}{
		{"jobs overview without jobs", errOf(decodeJobsOverview), `{}`},
		{"jobs overview entry without jid", errOf(decodeJobsOverview), `{"jobs":[{"state":"RUNNING"}]}`},
		{"jobs overview null jobs", errOf(decodeJobsOverview), `{"jobs":null}`},
		{"job details without state", errOf(decodeJobDetails), `{"jid":"` + testJobID + `"}`},
		{"checkpoints without counts", errOf(decodeCheckpointStats), `{"latest":{}}`},
		{"trigger without request-id", errOf(decodeTriggerResponse), `{}`},
		{"trigger with path in request-id", errOf(decodeTriggerResponse), `{"request-id":"../../cluster"}`},
		{"array at top level", errOf(decodeClusterOverview), `[]`},
		{"string at top level", errOf(decodeDashboardConfig), `"x"`},
		{"trailing garbage", errOf(decodeClusterOverview), `{} {}`},
		{"huge number", errOf(decodeClusterOverview), `{"taskmanagers":1e400}`},
		{"metrics as an object", errOf(decodeMetrics), `{"numRestarts":"3"}`},
		{"metric without value", errOf(decodeMetrics), `[{"id":"numRestarts"}]`},
		{"metric without id", errOf(decodeMetrics), `[{"value":"3"}]`},
		{"metric value not a string", errOf(decodeMetrics), `[{"id":"numRestarts","value":3}]`},
		{"int overflow", errOf(decodeJobDetails), `{"jid":"x","state":"RUNNING","start-time":9223372036854775808}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Error(t, tc.decode([]byte(tc.body)))
		})
	}
}

func errOf[T any](f func([]byte) (T, error)) func([]byte) error {
	return func(b []byte) error { _, err := f(b); return err }
}

func TestDecodeAcceptsUnknownFieldsAndStates(t *testing.T) {
	got, err := decodeJobsOverview([]byte(`{"jobs":[{"jid":"x","state":"HIBERNATING","future-field":{"a":[1]}}],"more":1}`))
	require.NoError(t, err)
	assert.Equal(t, JobState("HIBERNATING"), got[0].State)
	assert.False(t, got[0].State.IsKnown())

	empty, err := decodeJobsOverview([]byte(`{"jobs":[]}`))
	require.NoError(t, err)
	assert.Empty(t, empty)

	cp, err := decodeCheckpointStats([]byte(`{"counts":{"total":0},"latest":{"completed":null,"savepoint":null,"failed":null,"restored":null}}`))
	require.NoError(t, err)
	assert.Nil(t, cp.LatestCompleted)
	assert.Nil(t, cp.LatestRestored)
}

func TestDecodeErrorBody(t *testing.T) {
	assert.Equal(t, []string{"Checkpointing has not been enabled."}, decodeErrorBody([]byte(sampleCheckpointingDisabled)))
	assert.Nil(t, decodeErrorBody([]byte(`<html>502</html>`)))
	assert.Nil(t, decodeErrorBody([]byte(`{"errors":"nope"}`)))
	assert.Equal(t, []string{"a"}, decodeErrorBody([]byte(`{"errors":[1,null,"",{"x":1},"a"]}`)))

	many := `{"errors":["1","2","3","4","5","6"]}`
	assert.Len(t, decodeErrorBody([]byte(many)), maxFlinkErrors)
	long := `{"errors":["` + strings.Repeat("é", maxFlinkErrorBytes) + `"]}`
	got := decodeErrorBody([]byte(long))
	assert.LessOrEqual(t, len(got[0]), maxFlinkErrorBytes)
	assert.True(t, utf8.ValidString(got[0]))
}

func TestSnippet(t *testing.T) {
	assert.Equal(t, "short", snippet([]byte("short")))
	assert.Equal(t, "a\uFFFDb", snippet([]byte("a\xffb")))

	// A 2-byte rune straddling the limit is dropped, not split.
	body := strings.Repeat("a", snippetLen-1) + "é" + "tail"
	got := snippet([]byte(body))
	assert.Equal(t, strings.Repeat("a", snippetLen-1), got)

	got = snippet([]byte(strings.Repeat("€", 200)))
	assert.True(t, utf8.ValidString(got))
	assert.LessOrEqual(t, len(got), snippetLen)
	assert.Equal(t, []byte{}, truncateUTF8([]byte("abc"), 0))
}

func TestJobState(t *testing.T) {
	terminal := map[JobState]bool{JobStateFailed: true, JobStateCanceled: true, JobStateFinished: true}
	require.Len(t, AllJobStates, 11)
	for _, s := range AllJobStates {
		assert.Equal(t, terminal[s], s.IsGloballyTerminal(), s)
		assert.True(t, s.IsKnown(), s)
	}
	assert.False(t, JobStateSuspended.IsGloballyTerminal(), "SUSPENDED is only locally terminal")
	assert.False(t, JobState("").IsKnown())
}

func TestEpochMillis(t *testing.T) {
	assert.True(t, EpochMillis(-1).Time().IsZero())
	assert.True(t, EpochMillis(0).Time().IsZero())
	assert.Equal(t, time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC), EpochMillis(1700000000000).Time())
}

func TestNewTriggerID(t *testing.T) {
	a, b := NewTriggerID(), NewTriggerID()
	assert.True(t, isFlinkID(a), a)
	assert.NotEqual(t, a, b)
}

// TestDecodeCheckpointHistory: the history's completed entries are kept, newest first, with
// Flink's discarded flag (shapes as Flink 1.20 and 2.3 send them; failed and in-progress entries
// are left out).
func TestDecodeCheckpointHistory(t *testing.T) {
	body := `{"counts":{"restored":0,"total":4,"in_progress":1,"completed":3,"failed":0},"latest":{},
"history":[
{"className":"in_progress","id":9,"status":"IN_PROGRESS","is_savepoint":false,"tasks":{}},
{"className":"completed","id":6,"status":"COMPLETED","is_savepoint":false,"external_path":"file:/cp/j/chk-6","discarded":true,"latest_ack_timestamp":1700000006000,"tasks":{"v":{}}},
{"className":"completed","id":8,"status":"COMPLETED","is_savepoint":false,"external_path":"file:/cp/j/chk-8","discarded":false,"latest_ack_timestamp":1700000008000,"tasks":{}},
{"className":"failed","id":7,"status":"FAILED","is_savepoint":true,"failure_message":"x","tasks":{}},
{"className":"completed","id":5,"status":"COMPLETED","is_savepoint":true,"external_path":"file:/sp/savepoint-1","discarded":false,"tasks":{}}]}`
	stats, err := decodeCheckpointStats([]byte(body))
	require.NoError(t, err)
	var got []string
	for _, c := range stats.RecentCompleted {
		got = append(got, fmt.Sprintf("%d %s savepoint=%t discarded=%t", c.ID, c.ExternalPath, c.IsSavepoint, c.Discarded))
	}
	assert.Equal(t, []string{"8 file:/cp/j/chk-8 savepoint=false discarded=false", "6 file:/cp/j/chk-6 savepoint=false discarded=true",
		"5 file:/sp/savepoint-1 savepoint=true discarded=false"}, got)
}
