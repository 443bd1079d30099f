//go:build e2e && flink

// Package e2e runs the operator against real Apache Flink: a local control plane (no kwok
// nodes), the operator binary outside the cluster, and test/localnode as the only node, which
// runs the JobManager, TaskManager and submitter pods the operator creates as local Flink
// processes. See docs/e2e.md for what the node rewrites and why.
//
// Environment: E2E_FLINK_VERSION picks the Flink version (default the newest 2.x the suite
// knows); E2E_CLUSTER_NAME the local cluster's name; E2E_KEEP_CLUSTER=1 keeps it afterwards.
package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned"
	"github.com/flink-operator/flink-operator/test/flinkcluster"
	"github.com/flink-operator/flink-operator/test/localnode"
)

var env struct {
	root       string
	work       string // bin/e2e: pod directories, savepoints, job output, logs
	kubeconfig string
	config     *rest.Config
	kube       kubernetes.Interface
	flink      versioned.Interface
	node       *localnode.Node
	proxyURL   string // the local node's Service proxy, which the operator uses as its JobManager URL
	version    string
	dist       flinkcluster.Dist
	jobJar     string
	// reachBase is where reachableArea copied the distribution and the job ("" when not needed).
	reachBase string
	// others are the distributions of other versions a scenario added (otherVersion).
	othersMu sync.Mutex
	others   map[string]flinkcluster.Dist
}

var clusterName = envOr("E2E_CLUSTER_NAME", "flink-operator-e2e")

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	env.root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	env.work = filepath.Join(env.root, "bin", "e2e")
	env.version = envOr("E2E_FLINK_VERSION", flinkcluster.DefaultVersions[0])
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "e2e: %s: %v\n", what, err)
		return 1
	}
	if err := os.RemoveAll(env.work); err != nil {
		return fail("cleaning bin/e2e", err)
	}
	if err := os.MkdirAll(env.work, 0o755); err != nil {
		return fail("creating bin/e2e", err)
	}
	home, err := script("hack/fetch-flink.sh", env.version)
	if err != nil {
		return fail("fetching Flink", err)
	}
	maj, minor := versionParts(env.version)
	env.dist = flinkcluster.Dist{Version: env.version, Home: home, Major: maj, Minor: minor}
	if env.jobJar, err = script("test/flink-job/build.sh", env.version); err != nil {
		return fail("building the test job", err)
	}
	if err := reachableArea(); err != nil {
		return fail("preparing files uid 9999 can reach", err)
	}
	if err := startCluster(); err != nil {
		return fail("starting the local cluster", err)
	}
	if os.Getenv("E2E_KEEP_CLUSTER") != "1" {
		defer stopCluster()
	}
	if err := connect(); err != nil {
		return fail("connecting", err)
	}
	if _, err := script("hack/install-crd.sh"); err != nil {
		return fail("installing the CRD", err)
	}
	stopNode, err := startNode()
	if err != nil {
		return fail("starting the local node", err)
	}
	defer stopNode()
	stopOperator, err := startOperator()
	if err != nil {
		return fail("starting the operator", err)
	}
	defer stopOperator()
	return m.Run()
}

// versionParts is a Flink version's major and minor (1 and 18 for 1.18.1).
func versionParts(version string) (major, minor int) {
	fmt.Sscanf(version, "%d.%d", &major, &minor)
	return major, minor
}

// script runs a repository script and returns the last line it printed.
func script(path string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(env.root, path), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.kubeconfig, "KUBECTL="+filepath.Join(env.root, "bin", "kubectl"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %v: %w", path, args, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// startCluster starts the local control plane with no kwok nodes: the local node is the only
// place the scheduler can put pods.
func startCluster() error {
	env.kubeconfig = filepath.Join(env.root, "bin", clusterName+".kubeconfig")
	cmd := exec.Command(filepath.Join(env.root, "hack", "cluster-up.sh"))
	// kwokctl starts kwok with --manage-all-nodes=true; the later flags win and limit kwok to the
	// nodes kwokctl itself creates (there are none), so it leaves the local node's pods alone.
	cmd.Env = append(os.Environ(), "CLUSTER_NAME="+clusterName, "KUBECONFIG_OUT="+env.kubeconfig, "NODES=0",
		"EXTRA_ARGS=kwok-controller=manage-all-nodes=false kwok-controller=manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		// Which API calls Flink's HA services make (TestHighAvailabilityStandbyTakesOver).
		"AUDIT_POLICY="+filepath.Join(env.root, "test", "e2e", "testdata", "audit-policy.yaml"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func stopCluster() {
	cmd := exec.Command(filepath.Join(env.root, "hack", "cluster-down.sh"))
	cmd.Env = append(os.Environ(), "CLUSTER_NAME="+clusterName)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	_ = cmd.Run()
}

func connect() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", env.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 100
	env.config = cfg
	env.kube = kubernetes.NewForConfigOrDie(cfg)
	env.flink = versioned.NewForConfigOrDie(cfg)
	return nil
}

// distOf is the distribution that stands in for an image: the suite's version, or another one a
// scenario added.
func distOf(image string) (flinkcluster.Dist, error) {
	v, ok := flinkcluster.ImageVersion(image)
	if ok && v == env.version {
		return env.dist, nil
	}
	env.othersMu.Lock()
	defer env.othersMu.Unlock()
	if ok {
		if d, ok := env.others[v]; ok {
			return d, nil
		}
	}
	return flinkcluster.Dist{}, fmt.Errorf("only Flink %s is available locally (image %s)", env.version, image)
}

// startNode runs the local node and its Service proxy; the returned func stops both and waits
// until every process the node started has exited.
func startNode() (func(), error) {
	logFile, err := os.Create(filepath.Join(env.work, "node.log"))
	if err != nil {
		return nil, err
	}
	node := localnode.New(localnode.Options{
		Name: "local-flink", Kube: env.kube, WorkDir: filepath.Join(env.work, "pods"), APIServer: env.config.Host,
		PodNetwork: 246, // not make dev's 244 nor make test-dev's 245: all three may run at once
		Dist:       distOf,
		// The operator's image runs one program, the operator binary: its fetch-jar subcommand.
		Binaries: map[string]localnode.Binary{operatorImage: {Entrypoint: desired.OperatorBinary, Path: operatorBinary()}},
		Logf: func(format string, args ...any) {
			fmt.Fprintf(logFile, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
		},
	})
	env.node = node
	ctx, cancel := context.WithCancel(context.Background())
	if err := node.Register(ctx); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		return nil, err
	}
	env.proxyURL = "http://" + l.Addr().String()
	srv := &http.Server{Handler: node.ProxyHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return func() {
		_ = srv.Close()
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "e2e: local node:", err)
		}
		logFile.Close()
	}, nil
}

// operatorImage is the image the suite's operator says it runs (--jar-fetcher-image); the local
// node runs operatorBinary for it.
const operatorImage = "flink-operator:e2e"

// operatorBinary is where the suite builds the operator: in the work directory, which the pods'
// user can reach (a fetch-jar init container runs it as uid 9999).
func operatorBinary() string { return filepath.Join(env.work, "flink-operator") }

// startOperator runs the operator binary outside the cluster (as `make run` does), reaching
// JobManagers through the local node's Service proxy; it logs to bin/e2e/operator.log.
func startOperator() (func(), error) {
	bin := operatorBinary()
	build := exec.Command("go", "build", "-o", bin, "./cmd/flink-operator")
	build.Dir, build.Stdout, build.Stderr = env.root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(env.work, "operator.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--kubeconfig", env.kubeconfig, "--health-probe-bind-address=0", "--metrics-bind-address=0", "-v=2",
		"--jobmanager-url-template="+env.proxyURL+"/services/{{.Namespace}}/{{.Service}}/{{.Port}}",
		"--flink-poll-interval=2s", "--savepoint-poll-interval=500ms", "--job-lost-grace=10s",
		"--restart-backoff=2s", "--max-restart-backoff=4s", "--jar-fetcher-image="+operatorImage)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
	}, nil
}
