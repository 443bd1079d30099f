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
	"syscall"
	"testing"
	"time"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned"
)

const clusterName = "flink-operator-it"

// env is the shared test environment: clients of the local cluster.
var env struct {
	root       string
	kubeconfig string
	config     *rest.Config
	kube       kubernetes.Interface
	flink      versioned.Interface
	dynamic    dynamic.Interface
	apiext     apiextensionsclient.Interface
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
	cmd.Env = append(os.Environ(), "CLUSTER_NAME="+clusterName, "KUBECONFIG_OUT="+env.kubeconfig)
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

// installOperatorManifests applies deploy/ exactly as the README tells users to, and waits for
// the CRD to be served.
func installOperatorManifests(ctx context.Context) error {
	if _, err := kubectl(ctx, "apply", "-k", filepath.Join(env.root, "deploy")); err != nil {
		return err
	}
	_, err := kubectl(ctx, "wait", "--for", "condition=Established", "--timeout=60s", "crd/flinkclusters.flinkoperator.k8s.io")
	return err
}

// startOperator builds the operator binary and runs it against the test cluster, logging to
// bin/it-operator.log. The returned function stops it with SIGTERM, as Kubernetes would.
func startOperator() (func(), error) {
	bin := filepath.Join(env.root, "bin", "flink-operator-it")
	build := exec.Command("go", "build", "-o", bin, "./cmd/flink-operator")
	build.Dir = env.root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(env.root, "bin", "it-operator.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--kubeconfig", env.kubeconfig, "--health-probe-bind-address=0", "--metrics-bind-address=0", "-v=2")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = logFile.Close()
	}, nil
}
