//go:build flink

// Package flinkcluster runs a real Apache Flink session cluster (one
// JobManager, N TaskManagers) as local JVM processes for tests, from the
// distribution hack/fetch-flink.sh unpacks into bin/flink/VERSION, and submits
// jobs with Flink's own CLI class. See docs/real-flink.md.
//
// Processes are started the way Flink's bin/*.sh scripts would start them
// (those scripts are not in the PyPI package): the memory JVM flags and
// dynamic properties come from Flink's BashJavaUtils, the --add-opens flags
// from the env.java.opts.all defaults the distribution ships. Every process
// runs in its own process group, is killed by t.Cleanup, and also dies with
// the test binary (Pdeathsig), so a timed-out test leaves no JVM behind.
package flinkcluster

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Versions the suite covers by default: the newest patch of every Flink minor
// from 1.18 (the first release for Java 17) to 2.3 that PyPI's
// apache-flink-libraries serves, newest first. FLINK_VERSIONS (comma
// separated) overrides them.
var DefaultVersions = []string{"2.3.0", "2.2.1", "2.1.3", "2.0.2", "1.20.5", "1.19.3", "1.18.1"}

// Versions returns FLINK_VERSIONS or DefaultVersions.
func Versions() []string {
	if v := strings.TrimSpace(os.Getenv("FLINK_VERSIONS")); v != "" {
		return strings.Split(v, ",")
	}
	return DefaultVersions
}

// RepoRoot is the root of this repository (found from this source file).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Dist is an unpacked Flink distribution.
type Dist struct {
	Version string
	Home    string // bin/flink/VERSION: lib/, opt/, plugins/, bin/bash-java-utils.jar
	// Major and Minor are the Flink version's (1 and 18 for 1.18.1).
	Major, Minor int
}

var fetchMu sync.Mutex

// Fetch returns the distribution for version, running hack/fetch-flink.sh
// (cached; instant once fetched).
func Fetch(t testing.TB, version string) Dist {
	t.Helper()
	d, err := FetchDist(version)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// FetchDist is Fetch for code without a testing.TB (the local node's command).
func FetchDist(version string) (Dist, error) {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return Dist{}, fmt.Errorf("Flink version %q: %w", version, err)
	}
	fetchMu.Lock()
	defer fetchMu.Unlock()
	script := filepath.Join(RepoRoot(), "hack", "fetch-flink.sh")
	cmd := exec.Command(script, version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Dist{}, fmt.Errorf("%s %s: %v\n%s", script, version, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return Dist{Version: version, Home: strings.TrimSpace(lines[len(lines)-1]), Major: major, Minor: minor}, nil
}

// imageVersionRE reads the Flink version from an image tag: flink:2.3.0, flink:2.3.0-java17.
var imageVersionRE = regexp.MustCompile(`:(\d+\.\d+\.\d+)(?:-|$)`)

// ImageVersion is the Flink version an image's tag names, if it names one.
func ImageVersion(image string) (string, bool) {
	m := imageVersionRE.FindStringSubmatch(image)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// BuildJob returns the test job JAR for version, building it with Maven
// through test/flink-job/build.sh when it is missing or stale.
func BuildJob(t testing.TB, version string) string {
	t.Helper()
	fetchMu.Lock()
	defer fetchMu.Unlock()
	return runScript(t, filepath.Join(RepoRoot(), "test", "flink-job", "build.sh"), version)
}

func runScript(t testing.TB, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command(script, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// ConfigFileName is the configuration file the version reads: Flink 2.x only
// reads config.yaml (standard YAML); 1.19 and 1.20 read the legacy
// flink-conf.yaml when it exists and config.yaml otherwise. The suite writes
// flink-conf.yaml for 1.x, the file the operator targets for 1.x images.
func (d Dist) ConfigFileName() string {
	if d.Major >= 2 {
		return "config.yaml"
	}
	return "flink-conf.yaml"
}

// Classpath is lib/*.jar sorted, with flink-dist last, as bin/config.sh's
// constructFlinkClassPath builds it.
func (d Dist) Classpath() (string, error) {
	jars, err := filepath.Glob(filepath.Join(d.Home, "lib", "*.jar"))
	if err != nil {
		return "", err
	}
	sort.Strings(jars)
	var cp []string
	var dist string
	for _, j := range jars {
		if strings.HasPrefix(filepath.Base(j), "flink-dist") {
			dist = j
			continue
		}
		cp = append(cp, j)
	}
	if dist == "" {
		return "", fmt.Errorf("no flink-dist jar in %s/lib", d.Home)
	}
	return strings.Join(append(cp, dist), string(os.PathListSeparator)), nil
}

var (
	defaultOptsRE = regexp.MustCompile(`(?m)^\s+all:\s*(--add-\S.*)$`)
	// Flink 1.18 bundles the flat flink-conf.yaml, with the flags in env.java.opts.all.
	legacyOptsRE = regexp.MustCompile(`(?m)^env\.java\.opts\.all:\s*(--add-\S.*)$`)
)

// DefaultJavaOpts returns env.java.opts.all of the configuration bundled in
// flink-dist (the --add-exports/--add-opens flags Flink needs on Java 17):
// config.yaml from 1.19 on, flink-conf.yaml in 1.18.
func (d Dist) DefaultJavaOpts() ([]string, error) {
	dist, err := filepath.Glob(filepath.Join(d.Home, "lib", "flink-dist*.jar"))
	if err != nil || len(dist) != 1 {
		return nil, fmt.Errorf("flink-dist jar in %s/lib: %v %v", d.Home, dist, err)
	}
	zr, err := zip.OpenReader(dist[0])
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	name, re := "config.yaml", defaultOptsRE
	if d.Major == 1 && d.Minor < 19 {
		name, re = "flink-conf.yaml", legacyOptsRE
	}
	f, err := zr.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dist[0], err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	m := re.FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf("%s: no env.java.opts.all in bundled %s", dist[0], name)
	}
	return strings.Fields(string(m[1])), nil
}

// Env is the environment Flink's scripts export for the JVMs.
func (d Dist) Env(confDir string) []string {
	env := os.Environ()
	return append(env,
		"FLINK_HOME="+d.Home,
		"FLINK_CONF_DIR="+confDir,
		"FLINK_LIB_DIR="+filepath.Join(d.Home, "lib"),
		"FLINK_OPT_DIR="+filepath.Join(d.Home, "opt"),
		"FLINK_PLUGINS_DIR="+filepath.Join(d.Home, "plugins"),
		"FLINK_BIN_DIR="+filepath.Join(d.Home, "bin"),
	)
}

// ResourceParams runs BashJavaUtils (what jobmanager.sh / taskmanager.sh do)
// to compute the JVM memory flags and the dynamic -D properties for a
// JobManager (cmd "GET_JM_RESOURCE_PARAMS") or TaskManager
// ("GET_TM_RESOURCE_PARAMS") from the configuration in confDir.
func (d Dist) ResourceParams(confDir, cmd string) (jvm, dynamic []string, err error) {
	dist, err := filepath.Glob(filepath.Join(d.Home, "lib", "flink-dist*.jar"))
	if err != nil || len(dist) != 1 {
		return nil, nil, fmt.Errorf("flink-dist jar in %s/lib: %v %v", d.Home, dist, err)
	}
	// The classpath bin/config.sh uses for BashJavaUtils.
	c := exec.Command("java", "-cp", filepath.Join(d.Home, "bin", "bash-java-utils.jar")+string(os.PathListSeparator)+dist[0],
		"org.apache.flink.runtime.util.bash.BashJavaUtils", cmd, "--configDir", confDir)
	c.Env = d.Env(confDir)
	out, err := c.CombinedOutput()
	if err != nil {
		return nil, nil, fmt.Errorf("BashJavaUtils %s: %v\n%s", cmd, err, out)
	}
	var results []string
	for _, l := range strings.Split(string(out), "\n") {
		if r, ok := strings.CutPrefix(l, "BASH_JAVA_UTILS_EXEC_RESULT:"); ok {
			results = append(results, strings.TrimSpace(r))
		}
	}
	if len(results) < 2 {
		return nil, nil, fmt.Errorf("BashJavaUtils %s: want 2 results, got %d:\n%s", cmd, len(results), out)
	}
	// "-D k=v -D k=v": keep the "-D" "k=v" pairs as separate arguments,
	// which is how the entrypoints' parsers accept them.
	return strings.Fields(results[0]), strings.Fields(results[1]), nil
}
