//go:build flink

package contract

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	"github.com/flink-operator/flink-operator/test/flinkcluster"
)

// TestRealFlink runs the contract suite against a real Flink session cluster
// per version (flinkcluster.Versions(): FLINK_VERSIONS or 2.3.0,1.20.5).
func TestRealFlink(t *testing.T) {
	for _, v := range flinkcluster.Versions() {
		t.Run(v, func(t *testing.T) {
			d := flinkcluster.Fetch(t, v)
			jar := flinkcluster.BuildJob(t, v)
			c := flinkcluster.Start(t, d, flinkcluster.Config{TaskManagers: 1, Slots: 4})
			tg := &realTarget{c: c, jar: jar, outDir: filepath.Join(c.Dir, "out")}
			t.Run("CLIOptions", func(t *testing.T) { testCLIOptions(t, tg) })
			Run(t, tg)
		})
	}
}

// TestRealFlinkRESTTLS runs the contract suite against the newest version of
// flinkcluster.Versions() with its REST API behind mutual TLS (security.ssl.rest.*): the
// client calls https:// with the CA and a client certificate of its own, and the CLI submits
// with the cluster's configuration, as the operator's submitter does. A plain call is refused.
func TestRealFlinkRESTTLS(t *testing.T) {
	v := flinkcluster.Versions()[0]
	d := flinkcluster.Fetch(t, v)
	jar := flinkcluster.BuildJob(t, v)
	tls, err := flinkcluster.NewRESTTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := flinkcluster.Start(t, d, flinkcluster.Config{TaskManagers: 1, Slots: 4, RESTTLS: tls})
	t.Run("WithoutTheClientCertificate", func(t *testing.T) { testTLSRefusals(t, c, tls) })
	Run(t, &tlsTarget{realTarget: realTarget{c: c, jar: jar, outDir: filepath.Join(c.Dir, "out")}, tls: tls.Client})
}

// tlsTarget is a realTarget whose REST API is behind TLS.
type tlsTarget struct {
	realTarget
	tls *flinkclient.TLS
}

func (r *tlsTarget) Name() string          { return "flink-" + r.c.Dist.Version + "-rest-tls" }
func (r *tlsTarget) TLS() *flinkclient.TLS { return r.tls }

// testTLSRefusals: the JobManager refuses a client without a certificate it trusts, and a
// plain http:// call, so the suite's passing calls did go through mutual TLS.
func testTLSRefusals(t *testing.T, c *flinkcluster.Cluster, tls *flinkcluster.RESTTLS) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := flinkclient.New(flinkclient.Options{})
	_, err := client.GetOverview(flinkclient.WithTLS(ctx, tls.Client), c.URL())
	if err != nil {
		t.Fatalf("GetOverview with the CA and the client certificate: %v", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(filepath.Dir(tls.Conf["security.ssl.rest.truststore"]), "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	serverOnly, err := flinkclient.ParseTLS("test/ca-only", "1", caPEM, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, refused := range []struct {
		name string
		call func() error
		want string // in the error: why it was refused
	}{
		{"CA only, no client certificate", func() error {
			_, err := client.GetOverview(flinkclient.WithTLS(ctx, serverOnly), c.URL())
			return err
		}, "tls: "},
		{"no TLS settings (system roots)", func() error { _, err := client.GetOverview(ctx, c.URL()); return err },
			"x509: certificate signed by unknown authority"},
		{"plain http://", func() error {
			_, err := client.GetOverview(ctx, "http://"+strings.TrimPrefix(c.URL(), "https://"))
			return err
		}, "status 301"},
	} {
		err := refused.call()
		if err == nil || !strings.Contains(err.Error(), refused.want) {
			t.Errorf("%s: %v, want refused with %q", refused.name, err, refused.want)
			continue
		}
		t.Logf("FACT flink-%s-rest-tls: %s: %v", c.Dist.Version, refused.name, err)
	}
}

// realTarget is a Target backed by a local Flink cluster; jobs are submitted
// with Flink's CLI, as the operator's submitter does.
type realTarget struct {
	c      *flinkcluster.Cluster
	jar    string
	outDir string
}

func (r *realTarget) Name() string         { return "flink-" + r.c.Dist.Version }
func (r *realTarget) BaseURL() string      { return r.c.URL() }
func (r *realTarget) FlinkVersion() string { return r.c.Dist.Version }
func (r *realTarget) SavepointDir() string { return r.c.SavepointDir }

func (r *realTarget) SavepointExists(location string) bool {
	p := localPath(location)
	st, err := os.Stat(filepath.Join(p, "_metadata"))
	return err == nil && st.Mode().IsRegular()
}

// localPath turns Flink's "file:/x" or "file:///x" into "/x".
func localPath(location string) string {
	p := strings.TrimPrefix(location, "file:")
	for strings.HasPrefix(p, "//") {
		p = p[1:]
	}
	return p
}

func (r *realTarget) Submit(ctx context.Context, a SubmitArgs) error {
	res, err := r.c.Run(ctx, flinkcluster.RunArgs{
		Jar:              r.jar,
		Class:            "org.flinkoperator.testjob.CounterJob",
		JobID:            a.JobID,
		Parallelism:      a.Parallelism,
		FromSavepoint:    a.FromSavepoint,
		AllowNonRestored: a.AllowNonRestored,
		Args:             a.Args,
	})
	if errors.Is(err, flinkcluster.ErrDuplicateJob) {
		return errors.Join(ErrDuplicateJob, err, errors.New(flinkcluster.Summary(res.Output)))
	}
	if err != nil {
		return err
	}
	if res.JobID != a.JobID && a.JobID != "" {
		return errors.New("CLI reported job ID " + res.JobID + ", want " + a.JobID + ":\n" + res.Output)
	}
	return nil
}

func (r *realTarget) OutputPath(name string) string {
	_ = os.MkdirAll(r.outDir, 0o755)
	return filepath.Join(r.outDir, name+".txt")
}

func (r *realTarget) ReadCounts(_ context.Context, output string) (Counts, error) {
	f, err := os.Open(output)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseCounts(f)
}

func (r *realTarget) KillTaskManager(context.Context) error { return r.c.KillTaskManager() }

// testCLIOptions checks the `flink run` options the operator's submitter
// can rely on in both versions, beyond those Submit uses (-d -m -p -s -n
// -c -D): the long forms, the JobManager address given only as
// -D rest.address/-D rest.port (no address in the configuration), and that
// the old -q/--sysoutLogging option is gone.
func testCLIOptions(t *testing.T, r *realTarget) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := r.c
	conf := t.TempDir()
	if err := flinkcluster.WriteConfig(conf, c.Dist.ConfigFileName(), map[string]string{"parallelism.default": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := flinkcluster.WriteLog4j(conf); err != nil {
		t.Fatal(err)
	}
	id := newID()
	job := CounterJob{Name: "contract-cli", Rate: 10, Keys: 2, Out: r.OutputPath("cli-" + id[:8])}
	args := append([]string{"run", "--detached",
		"-D", "rest.address=127.0.0.1", "-D", "rest.port=" + strconv.Itoa(c.RESTPort),
		"--parallelism", "2", "--class", "org.flinkoperator.testjob.CounterJob",
		"-D", "$internal.pipeline.job-id=" + id, r.jar}, job.Args()...)
	res, err := c.CLIWithConfDir(ctx, conf, args...)
	if err != nil {
		t.Fatalf("flink run with long options and -D rest.address/rest.port: %v", err)
	}
	if res.JobID != id {
		t.Fatalf("CLI reported job %q, want %s:\n%s", res.JobID, id, res.Output)
	}
	t.Logf("FACT %s: `flink run --detached -D rest.address=.. -D rest.port=.. --parallelism --class -D $internal.pipeline.job-id=..` "+
		"with no address in the config: submitted as %s, printed %q", r.Name(), id, strings.TrimSpace(res.Output))
	fc := flinkclient.New(flinkclient.Options{})
	d, err := fc.GetJob(ctx, c.URL(), id)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	for _, v := range d.Vertices {
		if v.Parallelism != 2 {
			t.Errorf("vertex %s parallelism %d, want 2", v.Name, v.Parallelism)
		}
	}
	if err := fc.CancelJob(ctx, c.URL(), id); err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	for d.State != flinkclient.JobStateCanceled {
		time.Sleep(100 * time.Millisecond)
		if d, err = fc.GetJob(ctx, c.URL(), id); err != nil {
			t.Fatalf("GetJob: %v", err)
		}
	}

	for _, opt := range []string{"-q", "--sysoutLogging"} {
		res, err = c.CLI(ctx, "run", "-d", opt, r.jar)
		if err == nil {
			t.Errorf("flink run %s: accepted, want rejected", opt)
			continue
		}
		// Not an option any more: the CLI takes it for the JAR path.
		t.Logf("FACT %s: `flink run -d %s JAR`: exit code %d: %s", r.Name(), opt, res.ExitCode, firstMatching(res.Output, "JAR file does not exist"))
	}
}

func firstMatching(out, substr string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, substr) {
			return strings.TrimSpace(l)
		}
	}
	return firstLines(out, 2)
}
