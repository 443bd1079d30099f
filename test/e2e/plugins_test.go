//go:build e2e && flink

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/test/localnode"
)

// s3Bucket is the fake S3's bucket the job checkpoints to.
const s3Bucket = "flink"

// startFakeS3 serves an in-memory S3 API with one bucket on a loopback port.
func startFakeS3(t *testing.T) (string, gofakes3.Backend) {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(s3Bucket))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fake := gofakes3.New(backend).Server()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := decodeAWSChunked(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fake.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String(), backend
}

// s3Keys lists the keys in the fake bucket under prefix.
func s3Keys(t *testing.T, backend gofakes3.Backend, prefix string) []string {
	t.Helper()
	list, err := backend.ListBucket(s3Bucket, &gofakes3.Prefix{Prefix: prefix, HasPrefix: true}, gofakes3.ListBucketPage{})
	require.NoError(t, err)
	keys := make([]string, 0, len(list.Contents))
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

// TestBuiltInPlugins runs a job whose checkpoints and savepoints go to S3 through Flink's S3
// filesystem, enabled the way the official image's entrypoint does it: ENABLE_BUILT_IN_PLUGINS
// names the jar in the image's opt/ (the local node's distribution gets it from Maven Central,
// as the image has it). The operator does not run that entrypoint; its init container builds the
// plugins directory instead. Without the plugin Flink has no s3:// filesystem and the job could
// not start. With state.storage.fs.memory-threshold 0 the TaskManager writes its state to S3
// itself, so the plugin is proven in both processes.
func TestBuiltInPlugins(t *testing.T) {
	newestOnly(t) // the plugins directory is the operator's, the same for every Flink version
	// Hadoop's login needs a name for uid 9999, which the image has and this machine may not.
	require.NotEmpty(t, localnode.NSSWrapper(), "install libnss-wrapper (.ci/run does): uid 9999 needs the name the image gives it")
	plugin := "flink-s3-fs-hadoop"
	_, err := script("hack/fetch-flink-opt.sh", env.version, plugin)
	require.NoError(t, err)
	endpoint, backend := startFakeS3(t)
	ns, dir := newNamespace(t, "plugins")
	const name = "s3"
	out := filepath.Join(dir, "counts.txt")
	job := counterJob(fmt.Sprintf(`"--out", "%s", "--rate", "20", "--keys", "4", "--checkpoint-ms", "%d"`, out, checkpointMS),
		fmt.Sprintf("    parallelism: 1\n    savepointsDir: s3://%s/%s/savepoints\n    autoSavepointSeconds: 15", s3Bucket, ns))
	props := fmt.Sprintf(`    s3.endpoint: %s
    s3.path.style.access: "true"
    s3.endpoint.region: us-east-1
    s3.access-key: test
    s3.secret-key: test
    state.storage.fs.memory-threshold: "0"
    execution.checkpointing.dir: s3://%s/%s/checkpoints
%s`, endpoint, s3Bucket, ns, intervalProperty)
	manifest := flinkCluster(ns, name, 1, fmt.Sprintf(`  envVars:
  - name: ENABLE_BUILT_IN_PLUGINS
    value: %s-%s.jar
%s%s%s`, plugin, env.version, job, streamingProperties, props))
	apply(t, manifest)

	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)
	jobID := jobOf(fc).ID
	waitCounts(t, out, 4, 3, time.Minute)

	checkpoints := ns + "/checkpoints/" + jobID + "/"
	var keys []string
	require.Eventually(t, func() bool {
		keys = s3Keys(t, backend, checkpoints)
		return containsSuffix(keys, "/_metadata") && len(keys) > 1
	}, 2*time.Minute, time.Second, "a completed checkpoint with the TaskManager's state files in s3://%s/%s", s3Bucket, checkpoints)
	t.Logf("checkpoint objects: %v", keys)

	fc = waitFor(t, ns, name, time.Minute, "a savepoint in S3", func(fc *v1beta1.FlinkCluster) bool {
		return strings.HasPrefix(jobOf(fc).SavepointLocation, "s3://"+s3Bucket+"/"+ns+"/savepoints/")
	})
	location := strings.TrimPrefix(jobOf(fc).SavepointLocation, "s3://"+s3Bucket+"/")
	assert.Contains(t, s3Keys(t, backend, location), location+"/_metadata", "the savepoint's metadata is in the bucket")

	initLog, err := kubectl("logs", "-n", ns, "deploy/"+name+"-taskmanager", "-c", "enable-built-in-plugins")
	require.NoError(t, err)
	assert.Contains(t, initLog, "enabled plugin "+plugin+"-"+env.version+".jar")
}

func containsSuffix(keys []string, suffix string) bool {
	for _, k := range keys {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

// decodeAWSChunked replaces a body in the AWS SDK's signed chunk encoding (which the SDK uses for
// multipart upload parts, as Flink's S3 filesystem writes checkpoint metadata) with its payload,
// which gofakes3 does not decode: it would store the chunk headers and answer an ETag that the
// SDK rejects, retrying the upload forever. Signatures are not checked, as gofakes3 checks none.
func decodeAWSChunked(r *http.Request) error {
	if r.Header.Get("X-Amz-Content-Sha256") != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" {
		return nil
	}
	in := bufio.NewReader(r.Body)
	var payload bytes.Buffer
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return fmt.Errorf("aws-chunked header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil {
			return fmt.Errorf("aws-chunked size %q: %w", sizeHex, err)
		}
		if size == 0 {
			break
		}
		if _, err := io.CopyN(&payload, in, size); err != nil {
			return fmt.Errorf("aws-chunked data: %w", err)
		}
		if _, err := in.Discard(2); err != nil { // the chunk's CRLF
			return err
		}
	}
	r.Body = io.NopCloser(&payload)
	r.ContentLength = int64(payload.Len())
	r.Header.Set("Content-Length", strconv.Itoa(payload.Len()))
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	r.Header.Del("X-Amz-Decoded-Content-Length")
	r.Header.Del("Content-Encoding")
	return nil
}
