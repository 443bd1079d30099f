//go:build flink

package flinkcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	"github.com/flink-operator/flink-operator/test/ports"
)

// Config describes a local session cluster.
type Config struct {
	TaskManagers int // default 1
	Slots        int // taskmanager.numberOfTaskSlots, default 4
	JobManagerMB int // jobmanager.memory.process.size, default 1024
	TaskMgrMB    int // taskmanager.memory.process.size, default 1280
	Extra        map[string]string
	// RESTTLS, when set, puts the REST API behind mutual TLS (NewRESTTLS).
	RESTTLS *RESTTLS
	// WorkDir holds conf/, log/, savepoints/ and job output; default a
	// t.TempDir (removed after the test). Set FLINKCLUSTER_KEEP=1 to keep
	// the work dir under bin/flink-runs/ for debugging.
	WorkDir string
}

// Cluster is a running local Flink session cluster.
type Cluster struct {
	t        testing.TB
	Dist     Dist
	Dir      string
	ConfDir  string
	LogDir   string
	RESTPort int
	// SavepointDir is state.savepoints.dir (a local path).
	SavepointDir string

	rest *flinkclient.Client

	mu  sync.Mutex
	jm  *Process
	tms []*Process
	n   int // TaskManagers started so far (for log names)
	cfg Config
}

// URL is the JobManager REST base URL.
func (c *Cluster) URL() string {
	if c.cfg.RESTTLS != nil {
		return fmt.Sprintf("https://127.0.0.1:%d", c.RESTPort)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", c.RESTPort)
}

// Start writes a configuration, starts a JobManager and cfg.TaskManagers
// TaskManagers, and waits until the REST API reports all TaskManagers. All
// processes are killed in t.Cleanup; when the test failed, the tail of every
// log is printed first.
func Start(t testing.TB, d Dist, cfg Config) *Cluster {
	t.Helper()
	if cfg.TaskManagers == 0 {
		cfg.TaskManagers = 1
	}
	if cfg.Slots == 0 {
		cfg.Slots = 4
	}
	if cfg.JobManagerMB == 0 {
		cfg.JobManagerMB = 1024
	}
	if cfg.TaskMgrMB == 0 {
		cfg.TaskMgrMB = 1280
	}
	dir := cfg.WorkDir
	if dir == "" {
		if os.Getenv("FLINKCLUSTER_KEEP") != "" {
			base := filepath.Join(RepoRoot(), "bin", "flink-runs")
			_ = os.MkdirAll(base, 0o755)
			var err error
			if dir, err = os.MkdirTemp(base, d.Version+"-"); err != nil {
				t.Fatal(err)
			}
		} else {
			dir = t.TempDir()
		}
	}
	c := &Cluster{
		t: t, Dist: d, Dir: dir, cfg: cfg, rest: flinkclient.New(flinkclient.Options{}),
		ConfDir:      filepath.Join(dir, "conf"),
		LogDir:       filepath.Join(dir, "log"),
		SavepointDir: filepath.Join(dir, "savepoints"),
	}
	for _, p := range []string{c.ConfDir, c.LogDir, c.SavepointDir} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(c.cleanup)

	ports := freePorts(t, 2)
	c.RESTPort = ports[0]
	conf := map[string]string{
		"jobmanager.rpc.address":          "127.0.0.1",
		"jobmanager.rpc.port":             strconv.Itoa(ports[1]),
		"jobmanager.bind-host":            "127.0.0.1",
		"jobmanager.memory.process.size":  fmt.Sprintf("%dm", cfg.JobManagerMB),
		"taskmanager.bind-host":           "127.0.0.1",
		"taskmanager.host":                "127.0.0.1",
		"taskmanager.rpc.port":            "0",
		"taskmanager.numberOfTaskSlots":   strconv.Itoa(cfg.Slots),
		"taskmanager.memory.process.size": fmt.Sprintf("%dm", cfg.TaskMgrMB),
		"rest.address":                    "127.0.0.1",
		"rest.bind-address":               "127.0.0.1",
		"rest.port":                       strconv.Itoa(c.RESTPort),
		"blob.server.port":                "0",
		"parallelism.default":             "1",
		"state.savepoints.dir":            "file://" + c.SavepointDir,
		// Notice a killed TaskManager in seconds, not the default 50 s.
		"heartbeat.interval": "1000",
		"heartbeat.timeout":  "5000",
	}
	if cfg.RESTTLS != nil {
		for k, v := range cfg.RESTTLS.Conf {
			conf[k] = v
		}
	}
	for k, v := range cfg.Extra {
		conf[k] = v
	}
	if err := WriteConfig(c.ConfDir, d.ConfigFileName(), conf); err != nil {
		t.Fatal(err)
	}
	if err := writeLog4j(c.ConfDir); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	jm, err := c.startDaemon("jobmanager", "GET_JM_RESOURCE_PARAMS",
		"org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint")
	if err != nil {
		t.Fatal(err)
	}
	c.jm = jm
	for i := 0; i < cfg.TaskManagers; i++ {
		if _, err := c.StartTaskManager(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitTaskManagers(ctx, cfg.TaskManagers); err != nil {
		t.Fatalf("flink %s: %v", d.Version, err)
	}
	t.Logf("flink %s: JobManager %s with %d TaskManager(s) ready in %s (work dir %s)",
		d.Version, c.URL(), cfg.TaskManagers, time.Since(start).Round(100*time.Millisecond), dir)
	return c
}

// WriteConfig writes conf as "key: value" lines: the format of the legacy
// flink-conf.yaml, and valid standard YAML (flat keys) for config.yaml.
// Values must not need YAML quoting.
func WriteConfig(dir, name string, conf map[string]string) error {
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, conf[k])
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
}

// WriteLog4j writes the log4j.properties (daemons) and
// log4j-cli.properties (CLI) that log to the file named by -Dlog.file.
func WriteLog4j(dir string) error { return writeLog4j(dir) }

func writeLog4j(dir string) error {
	const props = `rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
logger.akka.name = akka
logger.akka.level = WARN
`
	for _, n := range []string{"log4j.properties", "log4j-cli.properties"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(props), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// javaArgs are the JVM flags every Flink process gets: the distribution's
// default --add-opens and the log4j settings of bin/config.sh.
func (c *Cluster) javaArgs(logName, log4j string) ([]string, error) {
	opts, err := c.Dist.DefaultJavaOpts()
	if err != nil {
		return nil, err
	}
	lf := filepath.Join(c.ConfDir, log4j)
	return append(opts,
		"-Dlog.file="+filepath.Join(c.LogDir, logName+".log"),
		"-Dlog4j.configuration=file:"+lf,
		"-Dlog4j.configurationFile=file:"+lf,
	), nil
}

func (c *Cluster) startDaemon(name, resourceCmd, mainClass string) (*Process, error) {
	jvm, dyn, err := c.Dist.ResourceParams(c.ConfDir, resourceCmd)
	if err != nil {
		return nil, err
	}
	args, err := c.javaArgs(name, "log4j.properties")
	if err != nil {
		return nil, err
	}
	cp, err := c.Dist.Classpath()
	if err != nil {
		return nil, err
	}
	args = append(args, jvm...)
	args = append(args, "-cp", cp, mainClass, "--configDir", c.ConfDir)
	args = append(args, dyn...)
	return startProcess(name, c.Dist.Env(c.ConfDir), filepath.Join(c.LogDir, name+".out"), args)
}

// StartTaskManager starts one more TaskManager.
func (c *Cluster) StartTaskManager() (*Process, error) {
	c.mu.Lock()
	c.n++
	name := fmt.Sprintf("taskmanager-%d", c.n)
	c.mu.Unlock()
	p, err := c.startDaemon(name, "GET_TM_RESOURCE_PARAMS", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.tms = append(c.tms, p)
	c.mu.Unlock()
	return p, nil
}

// KillTaskManager SIGKILLs the oldest live TaskManager (a crash, not a
// graceful shutdown).
func (c *Cluster) KillTaskManager() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.tms {
		if p.Alive() {
			p.Kill()
			c.tms = append(c.tms[:i:i], c.tms[i+1:]...)
			return nil
		}
	}
	return errors.New("no live TaskManager")
}

// KillJobManager SIGKILLs the JobManager.
func (c *Cluster) KillJobManager() { c.jm.Kill() }

// TaskManagerStdout is the stdout file of every TaskManager started.
func (c *Cluster) TaskManagerStdout() []string {
	m, _ := filepath.Glob(filepath.Join(c.LogDir, "taskmanager-*.out"))
	return m
}

// WaitTaskManagers waits until GET /overview reports n TaskManagers and
// their slots.
func (c *Cluster) WaitTaskManagers(ctx context.Context, n int) error {
	var last string
	for {
		if !c.jm.Alive() {
			return fmt.Errorf("JobManager exited: %s", c.jm.Tail(30))
		}
		// A TaskManager is counted before its slots are: wait for both.
		if ov, err := c.overview(ctx); err == nil {
			last = fmt.Sprintf("%+v", ov)
			if ov.TaskManagers >= n && ov.SlotsTotal >= n*c.cfg.Slots {
				return nil
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d TaskManagers at %s: %v (last: %s)", n, c.URL(), ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// overview is GET /overview, over TLS when the REST API is behind it.
func (c *Cluster) overview(ctx context.Context) (flinkclient.ClusterOverview, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if c.cfg.RESTTLS != nil {
		ctx = flinkclient.WithTLS(ctx, c.cfg.RESTTLS.Client)
	}
	return c.rest.GetOverview(ctx, c.URL())
}

func (c *Cluster) cleanup() {
	c.mu.Lock()
	procs := append([]*Process{c.jm}, c.tms...)
	c.mu.Unlock()
	if c.t.Failed() {
		logs, _ := filepath.Glob(filepath.Join(c.LogDir, "*"))
		for _, l := range logs {
			c.t.Logf("--- tail of %s:\n%s", l, TailFile(l, 25))
		}
	}
	for _, p := range procs {
		if p != nil {
			p.Kill()
		}
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	p, err := ports.Free(n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Process is a JVM started in its own process group.
type Process struct {
	Name    string
	OutFile string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

func startProcess(name string, env []string, outFile string, args []string) (*Process, error) {
	out, err := os.Create(outFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("java", args...)
	cmd.Env = env
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, OutFile: outFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// Alive reports whether the process has not exited.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill SIGKILLs the process group and waits for the process to exit.
func (p *Process) Kill() {
	if p.Alive() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// Tail returns the last n lines of the process's stdout/stderr.
func (p *Process) Tail(n int) string { return TailFile(p.OutFile, n) }

// TailFile returns the last n lines of a file (or the error reading it), for failure reports.
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
