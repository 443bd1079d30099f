package jarfetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var jar = bytes.Repeat([]byte("PK\x03\x04 a job's classes "), 4096)

func checksumOf(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// responder answers the n-th request (from 1).
type responder func(w http.ResponseWriter, r *http.Request, n int)

func serveJar(w http.ResponseWriter, _ *http.Request, _ int) { _, _ = w.Write(jar) }

func failFirst(status int) responder {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(status)
			return
		}
		serveJar(w, r, n)
	}
}

// truncatedOnce promises the whole JAR, sends half and closes the connection the first time.
func truncatedOnce(w http.ResponseWriter, r *http.Request, n int) {
	if n > 1 {
		serveJar(w, r, n)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(jar)))
	_, _ = w.Write(jar[:len(jar)/2])
	w.(http.Flusher).Flush() // half the body is on the wire before the connection closes
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// stalledOnce sends half the JAR and then nothing until the client gives up, the first time.
func stalledOnce(w http.ResponseWriter, r *http.Request, n int) {
	if n > 1 {
		serveJar(w, r, n)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(jar)))
	_, _ = w.Write(jar[:len(jar)/2])
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// slowButMoving takes 1.5 s in all (60 chunks 25 ms apart), longer than the 1 s stall timeout
// of its test, which must not fire while bytes keep coming.
func slowButMoving(w http.ResponseWriter, _ *http.Request, _ int) {
	chunk := len(jar)/60 + 1
	for i := 0; i < len(jar); i += chunk {
		_, _ = w.Write(jar[i:min(i+chunk, len(jar))])
		w.(http.Flusher).Flush()
		time.Sleep(25 * time.Millisecond)
	}
}

func TestFetch(t *testing.T) {
	tests := []struct {
		name         string
		respond      responder
		checksum     string
		stallTimeout time.Duration
		wantErr      string // "" for success
		wantRequests int
		wantSleeps   []time.Duration
		wantLog      string
	}{
		{name: "no checksum", respond: serveJar, wantRequests: 1},
		{name: "matching checksum", respond: serveJar, checksum: checksumOf(jar), wantRequests: 1},
		{name: "a changed file is not retried", respond: serveJar, checksum: checksumOf([]byte("the JAR the user meant")),
			wantErr: "spec.job.jarFileChecksum says sha256:", wantRequests: 1},
		{name: "503 once", respond: failFirst(http.StatusServiceUnavailable), wantRequests: 2, wantSleeps: []time.Duration{time.Second}},
		{name: "429 once", respond: failFirst(http.StatusTooManyRequests), wantRequests: 2, wantSleeps: []time.Duration{time.Second}},
		{name: "404 is not retried", respond: failFirst(http.StatusNotFound), wantErr: "attempt 1 of 3): HTTP 404 Not Found", wantRequests: 1},
		{name: "403 is not retried", respond: failFirst(http.StatusForbidden), wantErr: "HTTP 403", wantRequests: 1},
		{name: "always 500: three attempts, backoff doubling", wantRequests: 3,
			respond: func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusInternalServerError) },
			wantErr: "attempt 3 of 3): HTTP 500", wantSleeps: []time.Duration{time.Second, 2 * time.Second}},
		{name: "connection closed mid-body", respond: truncatedOnce, checksum: checksumOf(jar), wantRequests: 2, wantSleeps: []time.Duration{time.Second}},
		{name: "stalled body", respond: stalledOnce, checksum: checksumOf(jar), stallTimeout: time.Second,
			wantRequests: 2, wantSleeps: []time.Duration{time.Second}, wantLog: "attempt 1 of 3: no data for 1s; retrying in 1s"},
		{name: "slow but moving body", respond: slowButMoving, checksum: checksumOf(jar), stallTimeout: time.Second, wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.respond(w, r, int(requests.Add(1)))
			}))
			defer srv.Close()
			dir := t.TempDir()
			dest := filepath.Join(dir, "job.jar")
			var sleeps []time.Duration
			var log bytes.Buffer
			err := Fetch(context.Background(), Options{
				URL: srv.URL + "/job.jar", Dest: dest, Checksum: tt.checksum, Attempts: 3,
				StallTimeout: tt.stallTimeout, Backoff: time.Second, Log: &log,
				Sleep: func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil },
			})
			assert.Equal(t, tt.wantRequests, int(requests.Load()), "requests")
			assert.Equal(t, tt.wantSleeps, sleeps, "pauses between attempts")
			assert.Contains(t, log.String(), tt.wantLog)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.NoFileExists(t, dest, "nothing under the final name after a failed fetch")
			} else {
				require.NoError(t, err, "log:\n%s", log.String())
				got, err := os.ReadFile(dest)
				require.NoError(t, err)
				assert.Equal(t, jar, got)
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				assert.Equal(t, "job.jar", e.Name(), "no partial file is left behind")
			}
		})
	}
}

func TestFetchStopsWhenItsDeadlinePasses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var sleeps int
	err := Fetch(ctx, Options{URL: srv.URL, Dest: filepath.Join(t.TempDir(), "job.jar"), Attempts: 10, Backoff: time.Second,
		Sleep: func(ctx context.Context, _ time.Duration) error {
			sleeps++
			cancel() // the deadline passes during the pause
			return ctx.Err()
		}})
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "attempt 1 of 10")
	assert.Equal(t, 1, sleeps, "no attempt after the deadline")
}

func TestFetchRejectsAMalformedChecksum(t *testing.T) {
	for _, c := range []string{"md5:abc", "sha256:xyz", "sha256:" + fmt.Sprintf("%x", sha256.Sum256(nil))[:62]} {
		err := Fetch(context.Background(), Options{URL: "http://127.0.0.1:1/", Dest: filepath.Join(t.TempDir(), "j"), Checksum: c})
		assert.ErrorContains(t, err, "want sha256: and 64 hex digits", c)
	}
}
