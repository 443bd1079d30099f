package flinkclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for Options.
const (
	DefaultTimeout          = 5 * time.Second
	DefaultMaxResponseBytes = 4 << 20 // 4 MiB
)

// Options configures New.
type Options struct {
	// Timeout bounds each call, including reading the body. A shorter
	// deadline on the caller's context wins. Default DefaultTimeout.
	Timeout time.Duration
	// MaxResponseBytes bounds a response body; larger ones are an error.
	// Job details of very large job graphs and failure causes (which carry
	// a serialized Java throwable) are the biggest answers in practice.
	// Default DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Transport replaces the shared transport built by NewTransport, e.g.
	// to add TLS settings or to inject a RoundTripper in tests.
	Transport http.RoundTripper
	// UserAgent is sent with every request; default "flink-operator".
	UserAgent string
	// TLSTransport builds the transport for calls whose context carries a
	// TLS (WithTLS), one per TLS source; default NewTLSTransport.
	TLSTransport func(*tls.Config) http.RoundTripper
}

// Client talks to any number of JobManagers through one connection pool.
// It is safe for concurrent use.
type Client struct {
	http      *http.Client
	tls       *tlsClients
	timeout   time.Duration
	maxBytes  int64
	userAgent string
}

var _ Interface = (*Client)(nil)

// New returns a Client; zero Options fields take their defaults.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport()
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "flink-operator"
	}
	if opts.TLSTransport == nil {
		opts.TLSTransport = func(c *tls.Config) http.RoundTripper { return NewTLSTransport(c) }
	}
	// Flink does not redirect; following one could send a savepoint
	// trigger somewhere else. Surface 3xx instead.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		http: &http.Client{Transport: opts.Transport, CheckRedirect: noRedirect},
		tls: &tlsClients{newTransport: opts.TLSTransport, redirect: noRedirect,
			clients: map[string]tlsClient{}},
		timeout:   opts.Timeout,
		maxBytes:  opts.MaxResponseBytes,
		userAgent: opts.UserAgent,
	}
}

// NewTransport returns the transport New uses by default, tuned for one
// operator polling many JobManagers: few idle connections per host (each
// cluster is polled by one reconcile at a time), a cap on concurrent
// connections per host so a burst of reconciles cannot flood one JobManager,
// and short dial/TLS timeouts so a dead cluster fails fast.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   2,
		MaxConnsPerHost:       8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   3 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// clientFor is the http.Client for a call: the one of the context's TLS, if
// any.
func (c *Client) clientFor(ctx context.Context) *http.Client {
	if t := TLSFrom(ctx); t != nil {
		return c.tls.get(t)
	}
	return c.http
}

// request describes one REST call.
type request struct {
	method string
	path   string // starting with "/"; IDs in it are validated hex
	query  string // raw query, may be empty
	body   any    // marshalled as JSON when non-nil
	// notFound is the error a 404 maps to; nil means "unexpected".
	notFound func(flinkErrors []string) error
}

// response is a 2xx answer.
type response struct {
	url  *url.URL
	code int
	body []byte
}

// do performs r against the JobManager at base and returns a 2xx answer.
// Every failure is mapped to one of the package's errors.
func (c *Client) do(ctx context.Context, base string, r request) (*response, error) {
	u, err := endpoint(base, r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(ctx, r, u)
	if err != nil {
		return nil, err
	}
	resp, err := c.clientFor(ctx).Do(req)
	if err != nil {
		return nil, transportError(ctx, r.method, u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, readErr := readLimited(resp.Body, c.maxBytes)
	if readErr != nil && !errors.Is(readErr, ErrResponseTooLarge) {
		return nil, transportError(ctx, r.method, u, readErr)
	}
	if err := check(r, u, resp.StatusCode, body, readErr); err != nil {
		return nil, err
	}
	return &response{url: u, code: resp.StatusCode, body: body}, nil
}

// endpoint resolves r against the JobManager base URL.
func endpoint(base string, r request) (*url.URL, error) {
	u, err := parseBaseURL(base)
	if err != nil {
		return nil, err
	}
	u = u.JoinPath(r.path)
	u.RawQuery = r.query
	return u, nil
}

func (c *Client) newRequest(ctx context.Context, r request, u *url.URL) (*http.Request, error) {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("%w: encoding request body: %v", ErrInvalidArgument, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// check maps a status code and body to nil (2xx within the size limit) or
// to the error do returns.
func check(r request, u *url.URL, code int, body []byte, sizeErr error) error {
	if code >= 200 && code < 300 && sizeErr == nil {
		return nil
	}
	flinkErrs := decodeErrorBody(body)
	if code == http.StatusNotFound && r.notFound != nil {
		return fmt.Errorf("%w: %s %s: %s", r.notFound(flinkErrs), r.method, u.Redacted(), summary(flinkErrs))
	}
	return &UnexpectedResponseError{
		Method: r.method, URL: u.Redacted(), StatusCode: code,
		Snippet: snippet(body), FlinkErrors: flinkErrs, Err: sizeErr,
	}
}

// readLimited reads at most limit bytes; a longer body yields what was read
// plus ErrResponseTooLarge, so the caller can still report a snippet.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return body, err
	}
	if int64(len(body)) > limit {
		return body[:limit], fmt.Errorf("%w (%d bytes)", ErrResponseTooLarge, limit)
	}
	return body, nil
}

// transportError classifies a failure to get or read a response. ctx is the
// per-call context: its deadline covers both the caller's deadline and the
// client timeout.
func transportError(ctx context.Context, method string, u *url.URL, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // url.Error repeats method and URL
	}
	var nerr net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &nerr) && nerr.Timeout():
		return fmt.Errorf("%w: %s %s: %w", ErrTimeout, method, u.Redacted(), err)
	case errors.Is(ctx.Err(), context.Canceled):
		// The caller gave up; that says nothing about the JobManager.
		return fmt.Errorf("%s %s: %w", method, u.Redacted(), context.Canceled)
	default:
		return fmt.Errorf("%w: %s %s: %w", ErrUnreachable, method, u.Redacted(), err)
	}
}

func summary(flinkErrs []string) string {
	if len(flinkErrs) == 0 {
		return "404 Not Found"
	}
	return firstLine(flinkErrs[0])
}

// jobNotFound maps a 404 on a job-scoped endpoint.
func jobNotFound([]string) error { return ErrJobNotFound }

// triggerNotFound maps a 404 on an operation-status endpoint. For job-scoped
// operations Flink looks the operation up by (job, trigger), so an unknown
// job also shows up as an unknown trigger.
func triggerNotFound([]string) error { return ErrTriggerNotFound }

// checkpointsNotFound tells "checkpointing disabled" (which Flink also
// reports as 404) from an unknown job by Flink's message.
func checkpointsNotFound(flinkErrs []string) error {
	for _, e := range flinkErrs {
		if strings.Contains(e, "Checkpointing has not been enabled") {
			return ErrCheckpointingDisabled
		}
	}
	return ErrJobNotFound
}
