//go:build flink

package localnode

import (
	"os"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImageUserForAnUnknownUID: a process running as uid 9999, which this machine does not name,
// sees the image's user flink through nss_wrapper, with the container's own LD_PRELOAD kept; a
// uid the machine knows (root) gets nothing.
func TestImageUserForAnUnknownUID(t *testing.T) {
	if NSSWrapper() == "" {
		t.Fatal("libnss-wrapper is not installed (.ci/run installs it)")
	}
	if _, err := user.LookupId("9999"); err == nil {
		t.Skip("this machine names uid 9999 itself, so the node adds nothing for it")
	}
	r := &podRunner{dir: t.TempDir()}
	var rw rewrites
	env, err := r.imageUserEnv(&identity{uid: 0}, "", &rw)
	require.NoError(t, err)
	assert.Empty(t, env, "root has a name here")

	env, err = r.imageUserEnv(&identity{uid: imageUID, gid: imageUID}, "/lib/jemalloc.so", &rw)
	require.NoError(t, err)
	passwd := filepath.Join(r.dir, "passwd-9999-9999")
	assert.Equal(t, []string{"LD_PRELOAD=" + NSSWrapper() + ":/lib/jemalloc.so", "NSS_WRAPPER_PASSWD=" + passwd,
		"NSS_WRAPPER_GROUP=" + filepath.Join(r.dir, "group-9999-9999")}, env)
	data, err := os.ReadFile(passwd)
	require.NoError(t, err)
	assert.Contains(t, string(data), "flink:x:9999:9999::/opt/flink:/bin/bash\n")
}
