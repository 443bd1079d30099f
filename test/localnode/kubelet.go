//go:build flink

package localnode

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// The kubelet API's container-logs endpoint, so that `kubectl logs` (with -c, -f, --previous and
// --tail) works for the pods this node runs as it does on a cluster: the API server proxies the
// request to the node's kubelet endpoint (Node status daemonEndpoints, at the node's Hostname
// address, localhost here). Like any kubelet without --kubelet-certificate-authority on the API
// server, it serves a certificate the API server does not verify; it asks for no client
// certificate (the test cluster's API server has none for kubelets). --timestamps is not
// supported (the lines are returned as written).

// startKubeletAPI listens on a loopback port until ctx ends and records the port for the Node's
// status.
func (n *Node) startKubeletAPI(ctx context.Context) error {
	cert, err := selfSignedCertificate()
	if err != nil {
		return err
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return err
	}
	n.kubeletPort = int32(l.Addr().(*net.TCPAddr).Port)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", n.containerLogs)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return nil
}

func selfSignedCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localnode"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// logRun is one run of a container in its log file: [from, to), to < 0 while it is the last.
type logRun struct {
	path     string
	from, to int64
	// ended is closed when the run's process exited (nil for a run that is over already).
	ended <-chan struct{}
}

// containerLogs answers GET /containerLogs/NS/POD/CONTAINER?follow=&previous=&tailLines=.
func (n *Node) containerLogs(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	run, err := n.logRunOf(req.PathValue("namespace"), req.PathValue("pod"), req.PathValue("container"), q.Get("previous") == "true")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	data, err := readLog(run.path, run.from, run.to)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	offset := run.from + int64(len(data))
	if s := q.Get("tailLines"); s != "" {
		if lines, err := strconv.Atoi(s); err == nil {
			data = lastLines(data, lines)
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(data)
	if q.Get("follow") != "true" || run.ended == nil {
		return
	}
	flusher, _ := w.(http.Flusher)
	for {
		if flusher != nil {
			flusher.Flush()
		}
		ended := false
		select {
		case <-req.Context().Done():
			return
		case <-run.ended:
			ended = true
		case <-time.After(200 * time.Millisecond):
		}
		more, err := readLog(run.path, offset, -1)
		if err != nil {
			return
		}
		_, _ = w.Write(more)
		offset += int64(len(more))
		if ended {
			return // the kubelet ends a follow when the container exits
		}
	}
}

// logRunOf finds the current (or, with previous, the one before) run of a container.
func (n *Node) logRunOf(namespace, pod, container string, previous bool) (logRun, error) {
	n.mu.Lock()
	var r *podRunner
	for _, p := range n.pods {
		if p.pod.Namespace == namespace && p.pod.Name == pod && (r == nil || r.startTime.Before(&p.startTime)) {
			r = p
		}
	}
	n.mu.Unlock()
	if r == nil {
		return logRun{}, fmt.Errorf("pod %s/%s is not on this node", namespace, pod)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range append(append([]*containerState{}, r.init...), r.containers...) {
		if c.spec.Name != container {
			continue
		}
		path := n.ContainerLog(r.dir, container)
		runs := len(c.runStarts)
		switch {
		case previous && runs < 2:
			return logRun{}, fmt.Errorf("previous terminated container %q in pod %q not found", container, pod)
		case previous:
			return logRun{path: path, from: c.runStarts[runs-2], to: c.runStarts[runs-1]}, nil
		case runs == 0:
			return logRun{}, fmt.Errorf("container %q in pod %q is waiting to start", container, pod)
		}
		run := logRun{path: path, from: c.runStarts[runs-1], to: -1}
		select {
		case <-c.done:
		default:
			run.ended = c.done
		}
		return run, nil
	}
	return logRun{}, fmt.Errorf("container %s is not valid for pod %s", container, pod)
}

// readLog reads [from, to) of a log file (to < 0: to its end).
func readLog(path string, from, to int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return nil, err
	}
	if to < 0 {
		return io.ReadAll(f)
	}
	return io.ReadAll(io.LimitReader(f, to-from))
}

// lastLines keeps the last n lines of data.
func lastLines(data []byte, n int) []byte {
	if n < 0 {
		return data
	}
	trimmed := bytes.TrimSuffix(data, []byte("\n"))
	for i, count := len(trimmed)-1, 0; i >= 0; i-- {
		if trimmed[i] == '\n' {
			if count++; count == n {
				return data[i+1:]
			}
		}
	}
	if n == 0 {
		return nil
	}
	return data
}
