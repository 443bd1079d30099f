package flinkclient

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
)

// NewTriggerID returns a random 32-hex-character trigger ID for
// SavepointRequest.TriggerID / StopRequest.TriggerID. Persist it (e.g. in the
// resource status) before triggering, so that a retry after a crash or a
// timeout re-sends the same ID and Flink deduplicates it.
func NewTriggerID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// IsValidID reports whether s has the format of a Flink job ID or trigger ID
// (32 hexadecimal characters). Calls reject other IDs with
// ErrInvalidArgument before any network I/O.
func IsValidID(s string) bool { return isFlinkID(s) }

// isFlinkID reports whether s is a 32-character hexadecimal string, the
// format of Flink JobIDs and TriggerIds. Checking it client-side keeps
// arbitrary text (a "/", "..", "?") out of request paths.
func isFlinkID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func checkID(kind, id string) error {
	if !isFlinkID(id) {
		return fmt.Errorf("%w: %s %q is not 32 hex characters", ErrInvalidArgument, kind, id)
	}
	return nil
}

func checkOptionalID(kind, id string) error {
	if id == "" {
		return nil
	}
	return checkID(kind, id)
}

func checkFormat(f SavepointFormat) error {
	switch f {
	case "", SavepointFormatCanonical, SavepointFormatNative:
		return nil
	}
	return fmt.Errorf("%w: savepoint format %q", ErrInvalidArgument, f)
}

// parseBaseURL validates a JobManager base URL. A path prefix is allowed
// (a JobManager behind a path-routing proxy); query and fragment are not,
// since they would be silently dropped or corrupt request URLs.
func parseBaseURL(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("%w: jobmanager URL: %v", ErrInvalidArgument, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: jobmanager URL %q: scheme must be http or https", ErrInvalidArgument, u.Redacted())
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: jobmanager URL %q: need scheme://host[:port][/prefix]", ErrInvalidArgument, u.Redacted())
	}
	return u, nil
}
