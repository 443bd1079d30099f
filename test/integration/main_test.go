//go:build integration

// Package integration runs the operator's API and plumbing against a real Kubernetes control
// plane (kube-apiserver, controller-manager, scheduler, etcd) with kwok nodes. TestMain starts
// the local cluster with hack/cluster-up.sh and removes it afterwards; set IT_KUBECONFIG to use a
// running cluster instead (it is left as it is) and IT_KEEP_CLUSTER=1 to keep the one started.
package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned"
	"github.com/flink-operator/flink-operator/test/ports"
)

// clusterName is the local cluster the suite starts; IT_CLUSTER_NAME changes it so that two
// checkouts can run the suite side by side.
var clusterName = envOr("IT_CLUSTER_NAME", "flink-operator-it")

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// env is the shared test environment: clients of the local cluster.
var env struct {
	root       string
	kubeconfig string
	config     *rest.Config
	kube       kubernetes.Interface
	flink      versioned.Interface
	dynamic    dynamic.Interface
	apiext     apiextensionsclient.Interface
	simURL     string
	operator   *process
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	env.root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	started, err := startCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: starting the local cluster:", err)
		return 1
	}
	if started && os.Getenv("IT_KEEP_CLUSTER") != "1" {
		defer stopCluster()
	}
	if err := connect(); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := installOperatorManifests(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "integration: installing deploy/:", err)
		return 1
	}
	stopSim, err := startSimulator()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: starting the simulated JobManager:", err)
		return 1
	}
	defer stopSim()
	stop, err := startOperator()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: starting the operator:", err)
		return 1
	}
	defer stop()
	return m.Run()
}

// startCluster starts the local cluster unless IT_KUBECONFIG names one; it reports whether it
// started one (and so must stop it).
func startCluster() (bool, error) {
	if kc := os.Getenv("IT_KUBECONFIG"); kc != "" {
		env.kubeconfig = kc
		return false, nil
	}
	env.kubeconfig = filepath.Join(env.root, "bin", clusterName+".kubeconfig")
	cmd := exec.Command(filepath.Join(env.root, "hack", "cluster-up.sh"))
	cmd.Env = append(os.Environ(), "CLUSTER_NAME="+clusterName, "KUBECONFIG_OUT="+env.kubeconfig,
		"AUDIT_POLICY="+filepath.Join(env.root, "test", "integration", "testdata", "audit-policy.yaml"),
		// The sharding test runs 200 session clusters: room for their pods, and a
		// controller-manager that is not held to 20 requests a second (which alone made their
		// Deployments take 90 s to become available).
		"NODES=6", "KCM_API_QPS=100", "KCM_API_BURST=200")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return true, cmd.Run()
}

func stopCluster() {
	cmd := exec.Command(filepath.Join(env.root, "hack", "cluster-down.sh"))
	cmd.Env = append(os.Environ(), "CLUSTER_NAME="+clusterName)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: stopping the local cluster:", err)
	}
}

func connect() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", env.kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", env.kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	env.config = cfg
	env.kube = kubernetes.NewForConfigOrDie(cfg)
	env.flink = versioned.NewForConfigOrDie(cfg)
	env.dynamic = dynamic.NewForConfigOrDie(cfg)
	env.apiext = apiextensionsclient.NewForConfigOrDie(cfg)
	return nil
}

// kubectl runs bin/kubectl against the test cluster.
func kubectl(ctx context.Context, args ...string) (string, error) {
	full := append([]string{"--kubeconfig", env.kubeconfig}, args...)
	out, err := exec.CommandContext(ctx, filepath.Join(env.root, "bin", "kubectl"), full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %v: %w: %s", args, err, out)
	}
	return string(out), nil
}

// installOperatorManifests applies deploy/ exactly as the README tells users to (server-side:
// the CRD is too large for the annotation a client-side apply writes), and waits for
// the CRD to be served.
func installOperatorManifests(ctx context.Context) error {
	if _, err := kubectl(ctx, "apply", "--server-side", "-k", filepath.Join(env.root, "deploy")); err != nil {
		return err
	}
	// kubectl wait --for condition=Established fails at once, instead of waiting, while the new
	// CRD has no status.conditions yet (seen on a loaded machine), so poll the condition.
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := kubectl(ctx, "get", "crd/flinkclusters.flinkoperator.k8s.io",
			"-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}`)
		if err == nil && strings.TrimSpace(out) == "True" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the FlinkCluster CRD is not Established after a minute (last: %q, %v)", out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startSimulator runs the simulated JobManager (one process for every FlinkCluster) and its
// submitter watcher, logging to bin/it-sim.log.
func startSimulator() (func(), error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	env.simURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	sim, err := newProcess("./test/cmd/flink-sim", "it-sim",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--kubeconfig", env.kubeconfig,
		"--initialize-delay=500ms", "--savepoint-delay=500ms", "--stop-delay=500ms", "--cancel-delay=200ms", "--restart-delay=500ms")
	if err != nil {
		return nil, err
	}
	if err := sim.Start(); err != nil {
		return nil, err
	}
	return sim.Stop, nil
}

// operatorImage is the image the suite's operator says it runs (--jar-fetcher-image).
const operatorImage = "flink-operator:it"

// startOperator runs the operator binary against the test cluster, reaching JobManagers through
// the simulator, with short intervals so lifecycles take seconds; it logs to bin/it-operator.log.
// Tests may kill and restart it through env.operator.
func startOperator() (func(), error) {
	op, err := newProcess("./cmd/flink-operator", "it-operator",
		"--kubeconfig", env.kubeconfig, "--health-probe-bind-address=0", "--metrics-bind-address=0", "-v=2",
		"--jobmanager-url-template="+env.simURL+"/clusters/{{.Namespace}}/{{.Name}}",
		"--flink-poll-interval=1s", "--savepoint-poll-interval=300ms", "--job-lost-grace=3s", "--ha-recovery-grace=8s", "--checkpoint-record-interval=3s",
		"--restart-backoff=1s", "--max-restart-backoff=2s", "--operator-namespace=flink-operator-system", "--jar-fetcher-image="+operatorImage,
		"--health-check-interval="+healthInterval.String(), "--unhealthy-restart-window="+restartWindow.String())
	if err != nil {
		return nil, err
	}
	env.operator = op
	if err := op.Start(); err != nil {
		return nil, err
	}
	return op.Stop, nil
}

func freePort() (int, error) {
	p, err := ports.Free(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// process is a binary the suite runs, restartable; its output goes to bin/NAME.log.
type process struct {
	bin  string
	args []string
	log  *os.File
	cmd  *exec.Cmd
	done chan struct{}
}

// newProcess builds a main package into bin/NAME.
func newProcess(pkg, name string, args ...string) (*process, error) {
	bin := filepath.Join(env.root, "bin", name)
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Dir = env.root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(env.root, "bin", name+".log"))
	if err != nil {
		return nil, err
	}
	return &process{bin: bin, args: args, log: logFile}, nil
}

// Start starts the process.
func (p *process) Start() error {
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(p.cmd, p.done)
	return nil
}

// Kill ends the process at once (SIGKILL: no graceful shutdown, as in a crash) and waits.
func (p *process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Exited waits up to timeout for the process to end on its own and reports whether it did, with
// its exit code.
func (p *process) Exited(timeout time.Duration) (bool, int) {
	select {
	case <-p.done:
		return true, p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return false, 0
	}
}

// Stop ends the process with SIGTERM, as Kubernetes would, killing it after 20 s.
func (p *process) Stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.Kill()
	}
}
