package flinkclient

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Sentinel errors; test with errors.Is. Returned errors wrap them with the
// request and, where available, the underlying cause or Flink's message.
var (
	// ErrJobNotFound: a job endpoint answered 404. Flink also answers 404
	// for a path it does not know (e.g. an endpoint missing in an old
	// version); the two cannot be told apart from the status code alone.
	ErrJobNotFound = errors.New("flink job not found")
	// ErrTriggerNotFound: the JobManager does not know the trigger ID of an
	// asynchronous operation (never triggered, expired after
	// rest.async.store-duration, or lost with a JobManager restart).
	ErrTriggerNotFound = errors.New("flink operation trigger not found")
	// ErrCheckpointingDisabled: GET /jobs/{id}/checkpoints answered 404
	// because the job has no checkpointing configured.
	ErrCheckpointingDisabled = errors.New("flink checkpointing not enabled for job")
	// ErrUnreachable: no HTTP response was obtained (DNS failure,
	// connection refused or reset, TLS failure...). For a POST the request
	// may or may not have reached Flink; retry with the same trigger ID.
	ErrUnreachable = errors.New("flink jobmanager unreachable")
	// ErrTimeout: the per-call timeout or the caller's deadline expired.
	ErrTimeout = errors.New("flink jobmanager request timed out")
	// ErrInvalidArgument: the call was rejected before any network I/O
	// (bad base URL, malformed job or trigger ID...).
	ErrInvalidArgument = errors.New("invalid flink client argument")
	// ErrResponseTooLarge is wrapped by an *UnexpectedResponseError when a
	// body exceeds Options.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("flink response body exceeds size limit")
)

// snippetLen bounds how much of a body an error carries: enough to see what
// answered (an HTML proxy page, a Flink error), small enough for logs and
// Kubernetes status fields.
const snippetLen = 256

// UnexpectedResponseError is returned when the JobManager answered but not as
// expected: a non-2xx status that has no more specific mapping, or a 2xx body
// that is oversized or cannot be decoded (then Err says why).
type UnexpectedResponseError struct {
	Method     string
	URL        string // credentials redacted
	StatusCode int
	// Snippet is the first bytes of the body, as valid UTF-8.
	Snippet string
	// FlinkErrors are the messages of Flink's {"errors":[...]} body, if any.
	FlinkErrors []string
	// Err is the decoding or size error for 2xx bodies; nil otherwise.
	Err error
}

func (e *UnexpectedResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unexpected response from flink: %s %s: status %d", e.Method, e.URL, e.StatusCode)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if len(e.FlinkErrors) > 0 {
		fmt.Fprintf(&b, ": %s", firstLine(e.FlinkErrors[0]))
	} else if e.Snippet != "" {
		fmt.Fprintf(&b, ": body %q", e.Snippet)
	}
	return b.String()
}

func (e *UnexpectedResponseError) Unwrap() error { return e.Err }

// snippet returns at most snippetLen bytes of body as valid UTF-8 with passwords in
// URLs redacted, so it is safe to log or store in a status field.
func snippet(body []byte) string {
	body = credentialsInURL.ReplaceAll(body, []byte("${1}:xxxxx@"))
	valid := strings.ToValidUTF8(string(truncateUTF8(body, snippetLen)), "\uFFFD")
	// Replacement characters are 3 bytes and may have grown the text.
	return string(truncateUTF8([]byte(valid), snippetLen))
}

// truncateUTF8 returns at most n bytes of b without splitting a multi-byte
// rune at the cut.
func truncateUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	b = b[:n]
	// Look back at most UTFMax-1 bytes for the start of the last rune.
	i := len(b) - 1
	for i > 0 && i > len(b)-utf8.UTFMax && !utf8.RuneStart(b[i]) {
		i--
	}
	if i >= 0 && !utf8.FullRune(b[i:]) {
		b = b[:i]
	}
	return b
}

// firstLine is Flink's error summary without the Java stack trace that usually
// follows it, made fit to quote (Quote).
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return Quote(s)
}

// credentialsInURL matches the user:password@ part of a URL inside free text.
var credentialsInURL = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/\s@:]*):[^/\s@]*@`)

// Quote makes text from a JobManager fit for logs, events and status: passwords in URLs
// replaced (as url.URL.Redacted does), valid UTF-8, at most snippetLen bytes. A JobManager
// runs the job's own code, so what it answers is untrusted: an exception message can carry a
// storage URL with its credentials, or be megabytes long.
func Quote(s string) string {
	return snippet([]byte(s))
}
