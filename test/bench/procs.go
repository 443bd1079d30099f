package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/flink-operator/flink-operator/test/ports"
)

// process is a binary the harness runs; its output goes to a log file.
type process struct {
	name string
	bin  string
	args []string
	env  []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	// started is when the process was started (for the cold-restart timing).
	started time.Time
}

func (p *process) Start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "\n==== %s start %s: %s %v\n", p.name, time.Now().Format(time.RFC3339Nano), p.bin, p.args)
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	// Own process group: a Ctrl-C on the harness reaches it only through Stop.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return err
	}
	p.started = time.Now()
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); f.Close(); close(done) }(p.cmd, p.done)
	return nil
}

// Stop ends the process with SIGTERM (as Kubernetes would) and kills it after 30 s.
func (p *process) Stop() {
	if p == nil || p.cmd == nil || p.done == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Exited reports whether the process has ended.
func (p *process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func freePort() (int, error) {
	p, err := ports.Free(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// run runs a command with its output going to the harness's stderr.
func run(ctx context.Context, env []string, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w", name, args, err)
	}
	return nil
}

// buildBinaries builds the operator (with the pprof overlay, see testdata/operator_pprof.go) and
// the simulator into the output directory.
func buildBinaries(ctx context.Context, cfg *config) error {
	overlay := map[string]map[string]string{"Replace": {
		filepath.Join(cfg.root, "cmd", "flink-operator", "zz_bench_pprof.go"): filepath.Join(cfg.root, "test", "bench", "testdata", "operator_pprof.go"),
	}}
	b, _ := json.Marshal(overlay)
	overlayFile := filepath.Join(cfg.out, "overlay.json")
	if err := os.WriteFile(overlayFile, b, 0o644); err != nil {
		return err
	}
	logf("building the operator (with the pprof overlay) and the simulator")
	if err := run(ctx, nil, cfg.root, "go", "build", "-overlay", overlayFile, "-o", cfg.operatorBin, "./cmd/flink-operator"); err != nil {
		return err
	}
	return run(ctx, nil, cfg.root, "go", "build", "-o", cfg.simBin, "./test/cmd/flink-sim")
}

// clusterEnv is the environment of hack/cluster-up.sh and cluster-down.sh for the bench cluster.
func clusterEnv(cfg *config, nodes int) []string {
	return []string{
		"CLUSTER_NAME=" + cfg.clusterName,
		"KUBECONFIG_OUT=" + cfg.kubeconfig,
		"SCALE=1",
		fmt.Sprintf("NODES=%d", nodes),
		"DISABLE_QPS_LIMITS=1",
		"SERVICE_CIDR=" + serviceCIDR,
		fmt.Sprintf("KCM_API_QPS=%d", kcmQPS),
		fmt.Sprintf("KCM_API_BURST=%d", kcmBurst),
		"SKIP_BUILD=" + map[bool]string{true: "1", false: "0"}[cfg.skipClusterBuild],
	}
}

func clusterUp(ctx context.Context, cfg *config, nodes int) error {
	return run(ctx, clusterEnv(cfg, nodes), cfg.root, filepath.Join(cfg.root, "hack", "cluster-up.sh"))
}

func clusterDown(cfg *config) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, clusterEnv(cfg, 0), cfg.root, filepath.Join(cfg.root, "hack", "cluster-down.sh")); err != nil {
		logf("cluster-down: %v", err)
	}
}

// waitHTTP waits until url answers 200.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (last error %v)", url, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
