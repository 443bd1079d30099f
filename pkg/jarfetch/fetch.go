// Package jarfetch downloads a job's JAR over HTTP(S) into a pod's volume before Flink reads it:
// the `flink-operator fetch-jar` command of the init container the operator adds for an
// http:// or https:// spec.job.jarFile. It retries what may pass (network errors, 5xx, 408, 429,
// a stalled body), gives up at once on what will not (other 4xx, a digest that differs), and
// writes the file under its final name only when it is complete and checked.
package jarfetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options says what to fetch, where to, and how patiently.
type Options struct {
	// URL is the http:// or https:// address of the JAR.
	URL string
	// Dest is the file to write; its directory must exist.
	Dest string
	// Checksum is "sha256:HEX" or "" (not checked).
	Checksum string
	// Attempts is how many times the download is tried (at least 1).
	Attempts int
	// StallTimeout fails an attempt that receives no byte for this long: a slow but moving
	// download of a large JAR goes on, a hung connection does not.
	StallTimeout time.Duration
	// Backoff is the pause after the first failed attempt; it doubles after each.
	Backoff time.Duration
	// Client makes the requests (http.DefaultClient when nil).
	Client *http.Client
	// Log receives one line per attempt.
	Log io.Writer
	// Sleep waits between attempts; nil waits on a real timer (tests pass their own).
	Sleep func(context.Context, time.Duration) error
}

// permanent marks an error that another attempt would only repeat.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Fetch downloads o.URL to o.Dest. The context bounds the whole fetch, all attempts included.
func Fetch(ctx context.Context, o Options) error {
	want, err := parseChecksum(o.Checksum)
	if err != nil {
		return err
	}
	if o.Attempts < 1 {
		o.Attempts = 1
	}
	backoff := o.Backoff
	for attempt := 1; ; attempt++ {
		err := fetchOnce(ctx, o, want)
		if err == nil {
			logf(o.Log, "fetched %s to %s", o.URL, o.Dest)
			return nil
		}
		var p permanent
		if errors.As(err, &p) || attempt >= o.Attempts || ctx.Err() != nil {
			return fmt.Errorf("fetching %s (attempt %d of %d): %w", o.URL, attempt, o.Attempts, err)
		}
		logf(o.Log, "attempt %d of %d: %v; retrying in %s", attempt, o.Attempts, err, backoff)
		if err := sleep(ctx, o, backoff); err != nil {
			return fmt.Errorf("fetching %s (attempt %d of %d): %w", o.URL, attempt, o.Attempts, err)
		}
		backoff *= 2
	}
}

func parseChecksum(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	hexDigest, ok := strings.CutPrefix(s, "sha256:")
	sum, err := hex.DecodeString(hexDigest)
	if !ok || err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("checksum %q: want sha256: and 64 hex digits", s)
	}
	return sum, nil
}

// fetchOnce is one attempt: the body goes to a temporary file beside Dest, hashed on the way,
// and is renamed to Dest only when complete and matching.
func fetchOnce(ctx context.Context, o Options, want []byte) (err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	if err != nil {
		return permanent{err}
	}
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	watchdog := newWatchdog(o.StallTimeout, func() {
		cancel(fmt.Errorf("no data for %s", o.StallTimeout))
	})
	defer watchdog.stop()
	resp, err := client.Do(req)
	if err != nil {
		return causeOf(ctx, err)
	}
	defer resp.Body.Close()
	if err := statusError(resp); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.Dest), "."+filepath.Base(o.Dest)+".part-*")
	if err != nil {
		return permanent{err}
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, hash), watchdog.reader(resp.Body))
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return causeOf(ctx, err)
	}
	if got := hash.Sum(nil); want != nil && string(got) != string(want) {
		return permanent{fmt.Errorf("the file served (%d bytes) has sha256:%x, spec.job.jarFileChecksum says sha256:%x", n, got, want)}
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return permanent{err}
	}
	return os.Rename(tmp.Name(), o.Dest)
}

// statusError turns an unsuccessful response into an error; 408, 429 and 5xx may pass.
func statusError(resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	err := fmt.Errorf("HTTP %s", resp.Status)
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return err
	}
	return permanent{err}
}

// causeOf prefers the reason the attempt's context was cancelled (the watchdog's) to the error
// the cancellation caused.
func causeOf(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

func sleep(ctx context.Context, o Options, d time.Duration) error {
	if o.Sleep != nil {
		return o.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
