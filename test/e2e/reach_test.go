//go:build e2e && flink

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/test/flinkcluster"
	"github.com/flink-operator/flink-operator/test/localnode"
)

// reachableArea makes sure the Flink processes, which run as uid 9999 like the operator's
// restricted pods, can reach what they read and write: the distribution, the test job and the
// work directory. A checkout under a directory only root may enter (a private temporary folder,
// a home directory) keeps them out; then the suite works from copies under the system's temporary
// directory and says so. Nothing about the pods changes: they still run as uid 9999.
func reachableArea() error {
	uid := uint32(v1beta1.FlinkUID)
	blocked := localnode.CheckReachable(env.work, uid)
	if blocked == nil {
		return nil
	}
	base, err := reachableBase(uid)
	if err != nil {
		return fmt.Errorf("%v, and no temporary directory is reachable either: %w", blocked, err)
	}
	fmt.Fprintf(os.Stderr, "e2e: %v\ne2e: working from copies under %s instead (docs/e2e.md)\n", blocked, base)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(base, 0o755); err != nil {
		return err
	}
	env.reachBase = base
	env.work = filepath.Join(base, "work")
	if err := os.RemoveAll(env.work); err != nil {
		return err
	}
	if err := os.MkdirAll(env.work, 0o755); err != nil {
		return err
	}
	home, err := copyOnce(env.dist.Home, filepath.Join(base, "flink", env.version))
	if err != nil {
		return err
	}
	env.dist.Home = home
	jar, err := copyOnce(env.jobJar, filepath.Join(base, "jobs", env.version, filepath.Base(env.jobJar)))
	if err != nil {
		return err
	}
	env.jobJar = jar
	return localnode.CheckReachable(env.work, uid)
}

// copyOnce copies src (a file or a directory tree) to dst unless an earlier run completed that
// copy; hard links where the filesystem allows them.
func copyOnce(src, dst string) (string, error) {
	done := dst + ".complete"
	if _, err := os.Stat(done); err == nil {
		return dst, nil
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	if err := exec.Command("cp", "-al", src, dst).Run(); err != nil {
		_ = os.RemoveAll(dst)
		if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
			return "", fmt.Errorf("copying %s: %v: %s", src, err, out)
		}
	}
	return dst, os.WriteFile(done, nil, 0o644)
}

// reachableBase is flink-operator-e2e in the first temporary directory uid can reach.
func reachableBase(uid uint32) (string, error) {
	var last error
	for _, dir := range []string{os.TempDir(), "/tmp", "/var/tmp"} {
		if last = localnode.CheckReachable(dir, uid); last == nil {
			return filepath.Join(dir, "flink-operator-e2e"), nil
		}
	}
	return "", last
}

// otherVersion makes Flink version available to the local node besides the suite's own (fetched
// and the test job built for it, both cached in bin/, copied where uid 9999 reaches them when the
// suite works from copies) and returns the path of the test job built against it.
func otherVersion(t *testing.T, version string) string {
	t.Helper()
	home, err := script("hack/fetch-flink.sh", version)
	require.NoError(t, err)
	jar, err := script("test/flink-job/build.sh", version)
	require.NoError(t, err)
	if env.reachBase != "" {
		home, err = copyOnce(home, filepath.Join(env.reachBase, "flink", version))
		require.NoError(t, err)
		jar, err = copyOnce(jar, filepath.Join(env.reachBase, "jobs", version, filepath.Base(jar)))
		require.NoError(t, err)
	}
	major, minor := versionParts(version)
	env.othersMu.Lock()
	defer env.othersMu.Unlock()
	if env.others == nil {
		env.others = map[string]flinkcluster.Dist{}
	}
	env.others[version] = flinkcluster.Dist{Version: version, Home: home, Major: major, Minor: minor}
	return jar
}
