package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/controller/desired"
)

func TestFetchJarCommand(t *testing.T) {
	assert.Equal(t, desired.FetchJarCommand, fetchJarCommand, "the builders and the binary agree on the subcommand")
	jar := []byte("PK a job")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(jar) }))
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "job.jar")
	sum := fmt.Sprintf("sha256:%x", sha256.Sum256(jar))

	var stderr bytes.Buffer
	require.Equal(t, 0, runFetchJar([]string{"--url", srv.URL, "--dest", dest, "--checksum", sum}, &stderr), stderr.String())
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Equal(t, jar, got)

	stderr.Reset()
	wrong := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("another build")))
	assert.Equal(t, 1, runFetchJar([]string{"--url", srv.URL, "--dest", dest + "2", "--checksum", wrong}, &stderr))
	assert.Contains(t, stderr.String(), "spec.job.jarFileChecksum says "+wrong)

	stderr.Reset()
	assert.Equal(t, 2, runFetchJar([]string{"--dest", dest}, &stderr), "--url is required")
	assert.Contains(t, stderr.String(), "--url and --dest are required")
}
