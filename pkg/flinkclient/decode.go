package flinkclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// The decoders below are pure functions of the response body so they can be
// fuzzed without a server. They reject anything that is not a JSON object at
// the top level (encoding/json would silently accept "null" and leave a zero
// value that looks like a real answer) and check the fields the operator
// cannot do without; everything else is best effort.

var errNotObject = errors.New("response is not a JSON object")

func decodeObject(data []byte, v any) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errNotObject
	}
	return json.Unmarshal(data, v)
}

func missing(field string) error {
	return fmt.Errorf("response lacks required field %q", field)
}

func decodeClusterOverview(data []byte) (ClusterOverview, error) {
	var o ClusterOverview
	err := decodeObject(data, &o)
	return o, err
}

func decodeDashboardConfig(data []byte) (DashboardConfig, error) {
	var c DashboardConfig
	err := decodeObject(data, &c)
	return c, err
}

func decodeJobsOverview(data []byte) ([]JobOverview, error) {
	var w struct {
		Jobs *[]JobOverview `json:"jobs"`
	}
	if err := decodeObject(data, &w); err != nil {
		return nil, err
	}
	if w.Jobs == nil {
		return nil, missing("jobs")
	}
	for i, j := range *w.Jobs {
		if j.ID == "" || j.State == "" {
			return nil, fmt.Errorf("jobs[%d]: %w", i, missing("jid/state"))
		}
	}
	return *w.Jobs, nil
}

func decodeJobDetails(data []byte) (JobDetails, error) {
	var d JobDetails
	if err := decodeObject(data, &d); err != nil {
		return JobDetails{}, err
	}
	if d.ID == "" || d.State == "" {
		return JobDetails{}, missing("jid/state")
	}
	return d, nil
}

// exceptionsWire covers both shapes: Flink 1.x sends the deprecated
// top-level root-exception/timestamp/truncated next to exceptionHistory,
// Flink 2.x only exceptionHistory. Entries on 1.19 use "location" where 1.20
// sends both and 2.x only "endpoint".
type exceptionsWire struct {
	RootException *string     `json:"root-exception"`
	Timestamp     EpochMillis `json:"timestamp"`
	History       struct {
		Entries []struct {
			ExceptionEntry
			Location string `json:"location"`
		} `json:"entries"`
		Truncated bool `json:"truncated"`
	} `json:"exceptionHistory"`
}

func decodeJobExceptions(data []byte) (JobExceptions, error) {
	var w exceptionsWire
	if err := decodeObject(data, &w); err != nil {
		return JobExceptions{}, err
	}
	out := JobExceptions{HistoryTruncated: w.History.Truncated}
	for _, e := range w.History.Entries {
		if e.Endpoint == "" {
			e.Endpoint = e.Location
		}
		out.History = append(out.History, e.ExceptionEntry)
	}
	// Do not rely on Flink's ordering of entries: newest first by timestamp.
	sort.SliceStable(out.History, func(i, j int) bool {
		return out.History[i].Timestamp > out.History[j].Timestamp
	})
	if w.RootException != nil {
		out.RootException, out.Timestamp = *w.RootException, w.Timestamp
	} else if len(out.History) > 0 {
		out.RootException, out.Timestamp = out.History[0].Stacktrace, out.History[0].Timestamp
	}
	return out, nil
}

type checkpointsWire struct {
	Counts *CheckpointCounts `json:"counts"`
	Latest struct {
		Completed *CompletedCheckpoint `json:"completed"`
		Savepoint *CompletedCheckpoint `json:"savepoint"`
		Failed    *FailedCheckpoint    `json:"failed"`
		Restored  *RestoredCheckpoint  `json:"restored"`
	} `json:"latest"`
	History []CompletedCheckpoint `json:"history"`
}

func decodeCheckpointStats(data []byte) (CheckpointStats, error) {
	var w checkpointsWire
	if err := decodeObject(data, &w); err != nil {
		return CheckpointStats{}, err
	}
	if w.Counts == nil {
		return CheckpointStats{}, missing("counts")
	}
	stats := CheckpointStats{
		Counts:          *w.Counts,
		LatestCompleted: w.Latest.Completed,
		LatestSavepoint: w.Latest.Savepoint,
		LatestFailed:    w.Latest.Failed,
		LatestRestored:  w.Latest.Restored,
	}
	for _, c := range w.History {
		if c.Status == "COMPLETED" {
			stats.RecentCompleted = append(stats.RecentCompleted, c)
		}
	}
	// Do not rely on Flink's ordering: newest first by ID.
	sort.SliceStable(stats.RecentCompleted, func(i, j int) bool { return stats.RecentCompleted[i].ID > stats.RecentCompleted[j].ID })
	return stats, nil
}

func decodeCheckpointConfig(data []byte) (CheckpointConfig, error) {
	var w struct {
		Interval        int64                   `json:"interval"`
		Externalization *ExternalizedCheckpoint `json:"externalization"`
	}
	if err := decodeObject(data, &w); err != nil {
		return CheckpointConfig{}, err
	}
	if w.Externalization == nil {
		return CheckpointConfig{}, missing("externalization")
	}
	return CheckpointConfig{Interval: w.Interval, Externalization: *w.Externalization}, nil
}

// decodeTriggerResponse returns the "request-id" of a TriggerResponse. It
// must be a Flink ID because the caller puts it into the status URL.
func decodeTriggerResponse(data []byte) (string, error) {
	var w struct {
		RequestID string `json:"request-id"`
	}
	if err := decodeObject(data, &w); err != nil {
		return "", err
	}
	if !isFlinkID(w.RequestID) {
		return "", fmt.Errorf("response request-id %q is not 32 hex characters", w.RequestID)
	}
	return w.RequestID, nil
}

type operationWire struct {
	Status *struct {
		ID string `json:"id"`
	} `json:"status"`
	Operation *struct {
		Location     string        `json:"location"`
		FailureCause *FailureCause `json:"failure-cause"`
	} `json:"operation"`
}

// decodeOperation maps Flink's AsynchronousOperationResult onto
// SavepointStatus. Flink has only IN_PROGRESS and COMPLETED; a COMPLETED
// operation with a failure-cause is a failure.
func decodeOperation(data []byte) (SavepointStatus, error) {
	var w operationWire
	if err := decodeObject(data, &w); err != nil {
		return SavepointStatus{}, err
	}
	if w.Status == nil {
		return SavepointStatus{}, missing("status")
	}
	switch w.Status.ID {
	case "IN_PROGRESS":
		return SavepointStatus{State: OperationInProgress}, nil
	case "COMPLETED":
	default:
		return SavepointStatus{}, fmt.Errorf("unknown operation status %q", w.Status.ID)
	}
	if w.Operation == nil {
		return SavepointStatus{State: OperationCompleted}, nil
	}
	if fc := w.Operation.FailureCause; fc != nil {
		return SavepointStatus{State: OperationFailed, Failure: fc}, nil
	}
	return SavepointStatus{State: OperationCompleted, Location: w.Operation.Location}, nil
}

// decodeSavepointStatus additionally requires a location for a successful
// savepoint: "completed" without a path would leave the operator with nothing
// to restore from, so it is treated as a malformed answer.
func decodeSavepointStatus(data []byte) (SavepointStatus, error) {
	s, err := decodeOperation(data)
	if err == nil && s.State == OperationCompleted && s.Location == "" {
		return SavepointStatus{}, missing("operation.location")
	}
	return s, err
}

// decodeDisposalStatus: a disposal has no location; COMPLETED without a
// failure-cause means the savepoint was deleted.
func decodeDisposalStatus(data []byte) (SavepointStatus, error) {
	s, err := decodeOperation(data)
	s.Location = ""
	return s, err
}

// Bounds on what decodeErrorBody keeps: Flink error messages often embed a
// full Java stack trace per entry.
const (
	maxFlinkErrors     = 4
	maxFlinkErrorBytes = 1024
)

// decodeErrorBody extracts the messages of Flink's ErrorResponseBody
// ({"errors":["..."]}). It returns nil for anything else (an HTML page from a
// proxy, a truncated body...), as it is only used to enrich errors.
func decodeErrorBody(data []byte) []string {
	var w struct {
		Errors []json.RawMessage `json:"errors"`
	}
	if decodeObject(data, &w) != nil {
		return nil
	}
	var out []string
	for _, raw := range w.Errors {
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			continue
		}
		out = append(out, snippetN(s, maxFlinkErrorBytes))
		if len(out) == maxFlinkErrors {
			break
		}
	}
	return out
}

// snippetN truncates s to at most n bytes without splitting a rune.
func snippetN(s string, n int) string {
	return string(truncateUTF8([]byte(s), n))
}

// decodeMetrics reads a metrics answer: a JSON array of {"id": name, "value": value}.
func decodeMetrics(data []byte) (map[string]string, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, errors.New("response is not a JSON array")
	}
	var w []struct {
		ID    *string `json:"id"`
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(w))
	for i, m := range w {
		if m.ID == nil || m.Value == nil {
			return nil, fmt.Errorf("[%d]: %w", i, missing("id/value"))
		}
		out[*m.ID] = *m.Value
	}
	return out, nil
}
