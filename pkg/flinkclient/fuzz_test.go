package flinkclient

import (
	"sort"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for the response decoders. Seeds live in
// testdata/fuzz/<FuzzName>/ (valid samples, truncated JSON, wrong types, huge
// numbers, nulls, ...). Beyond "never panics", each target checks the
// guarantees callers rely on when a decoder reports success. Run one with:
//
//	go test -run='^$' -fuzz='^FuzzDecodeJobDetails$' -fuzztime=60s ./pkg/flinkclient/

func FuzzDecodeClusterOverview(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeClusterOverview(data)
	})
}

func FuzzDecodeDashboardConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeDashboardConfig(data)
	})
}

func FuzzDecodeJobsOverview(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		jobs, err := decodeJobsOverview(data)
		if err != nil {
			return
		}
		for i, j := range jobs {
			if j.ID == "" || j.State == "" {
				t.Fatalf("jobs[%d] accepted without jid/state: %+v", i, j)
			}
		}
	})
}

func FuzzDecodeJobDetails(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeJobDetails(data)
		if err == nil && (d.ID == "" || d.State == "") {
			t.Fatalf("accepted without jid/state: %+v", d)
		}
		_ = d.State.IsGloballyTerminal()
		_ = d.StartTime.Time()
	})
}

func FuzzDecodeJobExceptions(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeJobExceptions(data)
		if err != nil {
			return
		}
		if !sort.SliceIsSorted(e.History, func(i, j int) bool { return e.History[i].Timestamp > e.History[j].Timestamp }) {
			t.Fatalf("history not newest first: %+v", e.History)
		}
	})
}

func FuzzDecodeCheckpointStats(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeCheckpointStats(data)
	})
}

func FuzzDecodeTriggerResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := decodeTriggerResponse(data)
		if err == nil && !isFlinkID(id) {
			t.Fatalf("accepted request-id %q that is unsafe in a URL path", id)
		}
	})
}

// FuzzDecodeSavepointStatus covers both savepoint and disposal status, which
// share Flink's AsynchronousOperationResult shape.
func FuzzDecodeSavepointStatus(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := decodeSavepointStatus(data); err == nil {
			checkStatus(t, s)
			if s.State == OperationCompleted && s.Location == "" {
				t.Fatalf("completed savepoint without location: %+v", s)
			}
		}
		if s, err := decodeDisposalStatus(data); err == nil {
			checkStatus(t, s)
			if s.Location != "" {
				t.Fatalf("disposal with location: %+v", s)
			}
		}
	})
}

func checkStatus(t *testing.T, s SavepointStatus) {
	t.Helper()
	switch s.State {
	case OperationInProgress, OperationCompleted, OperationFailed:
	default:
		t.Fatalf("unknown state %q", s.State)
	}
	if (s.State == OperationFailed) != (s.Failure != nil) {
		t.Fatalf("failure cause inconsistent with state: %+v", s)
	}
}

// FuzzDecodeErrorBody covers what error paths do with arbitrary bodies:
// extracting Flink messages and building the snippet.
func FuzzDecodeErrorBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs := decodeErrorBody(data)
		if len(msgs) > maxFlinkErrors {
			t.Fatalf("%d messages kept", len(msgs))
		}
		for _, m := range msgs {
			if m == "" || len(m) > maxFlinkErrorBytes || !utf8.ValidString(m) {
				t.Fatalf("bad message %q", m)
			}
			_ = firstLine(m)
		}
		s := snippet(data)
		if len(s) > snippetLen || !utf8.ValidString(s) {
			t.Fatalf("bad snippet %q", s)
		}
	})
}
