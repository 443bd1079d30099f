//go:build flink

package flinkcluster

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RunArgs is one `flink run` (CliFrontend run) against the cluster.
type RunArgs struct {
	Jar   string
	Class string // -c; empty: the JAR manifest's Main-Class
	// JobID, when set, is passed as -D $internal.pipeline.job-id=JobID
	// (PipelineOptionsInternal.PIPELINE_FIXED_JOB_ID).
	JobID            string
	Parallelism      int    // -p when > 0
	FromSavepoint    string // -s
	AllowNonRestored bool   // -n
	// Attached runs without -d (the CLI then waits for the job's end).
	Attached bool
	// Dynamic are extra -D key=value options.
	Dynamic map[string]string
	Args    []string // program arguments
}

// RunResult is what the CLI printed and how it exited.
type RunResult struct {
	Output   string
	ExitCode int
	// JobID is parsed from "Job has been submitted with JobID <id>".
	JobID string
	// Args is the CLI argument list (after the main class), for logs.
	Args []string
}

// ErrDuplicateJob is returned by Run when Flink rejected the submission
// because a job with the same ID exists (running or globally terminated).
var ErrDuplicateJob = errors.New("flink rejected the submission: duplicate job ID")

// duplicateRE matches the exception Flink's Dispatcher answers with: 1.x
// DuplicateJobSubmissionException ("Job has already been submitted."), 2.3
// DuplicateApplicationSubmissionException ("Application has already been
// submitted.").
var duplicateRE = regexp.MustCompile(`Duplicate(Job|Application)SubmissionException`)

var submittedRE = regexp.MustCompile(`Job has been submitted with JobID ([0-9a-f]{32})`)

// CLIArgs renders the `flink run` arguments; the options used exist with the
// same meaning in Flink 1.20 and 2.x.
func (c *Cluster) CLIArgs(a RunArgs) []string {
	args := []string{"run"}
	if !a.Attached {
		args = append(args, "-d")
	}
	if c.cfg.RESTTLS == nil {
		args = append(args, "-m", fmt.Sprintf("127.0.0.1:%d", c.RESTPort))
	}
	// Behind TLS the CLI finds the JobManager in the configuration (rest.address, rest.port), as
	// the operator's submitter does: Flink 2's CLI reads -m as a URL whose scheme (http when
	// none is given) decides TLS, so -m host:port would call plain HTTP.
	if a.Class != "" {
		args = append(args, "-c", a.Class)
	}
	if a.Parallelism > 0 {
		args = append(args, "-p", strconv.Itoa(a.Parallelism))
	}
	if a.FromSavepoint != "" {
		args = append(args, "-s", a.FromSavepoint)
	}
	if a.AllowNonRestored {
		args = append(args, "-n")
	}
	if a.JobID != "" {
		args = append(args, "-D", "$internal.pipeline.job-id="+a.JobID)
	}
	keys := make([]string, 0, len(a.Dynamic))
	for k := range a.Dynamic {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-D", k+"="+a.Dynamic[k])
	}
	args = append(args, a.Jar)
	return append(args, a.Args...)
}

// Run runs the CLI (org.apache.flink.client.cli.CliFrontend) with the
// cluster's configuration directory, like bin/flink would. A non-zero exit
// is an error; ErrDuplicateJob when Flink reported a duplicate job ID.
func (c *Cluster) Run(ctx context.Context, a RunArgs) (RunResult, error) {
	return c.CLI(ctx, c.CLIArgs(a)...)
}

// CLI runs CliFrontend with arbitrary arguments and the cluster's
// configuration directory.
func (c *Cluster) CLI(ctx context.Context, cliArgs ...string) (RunResult, error) {
	return c.CLIWithConfDir(ctx, c.ConfDir, cliArgs...)
}

// CLIWithConfDir runs CliFrontend with FLINK_CONF_DIR=confDir (which must
// hold the version's config file and log4j-cli.properties).
func (c *Cluster) CLIWithConfDir(ctx context.Context, confDir string, cliArgs ...string) (RunResult, error) {
	res := RunResult{Args: cliArgs}
	args, err := c.javaArgs("cli", "log4j-cli.properties")
	if err != nil {
		return res, err
	}
	cp, err := c.Dist.Classpath()
	if err != nil {
		return res, err
	}
	args = append(args, "-cp", cp, "org.apache.flink.client.cli.CliFrontend")
	args = append(args, cliArgs...)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", args...)
	cmd.Env = c.Dist.Env(confDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	res.Output = string(out)
	if m := submittedRE.FindStringSubmatch(res.Output); m != nil {
		res.JobID = m[1]
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
		if duplicateRE.MatchString(res.Output) {
			return res, fmt.Errorf("%w (exit code %d)", ErrDuplicateJob, res.ExitCode)
		}
		return res, fmt.Errorf("flink %s: exit code %d:\n%s", strings.Join(cliArgs, " "), res.ExitCode, Summary(res.Output))
	default:
		return res, fmt.Errorf("flink %s: %w", strings.Join(cliArgs, " "), err)
	}
	return res, nil
}

// Summary keeps the lines of CLI output worth reading: everything but stack
// frames.
func Summary(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "at ") || strings.HasPrefix(t, "... ") || t == "" {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 40 {
		keep = keep[:40]
	}
	return strings.Join(keep, "\n")
}
