//go:build flink

package localnode

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ServeClusterEgress answers the API server's CONNECT requests on l: hack/cluster-up.sh with
// EGRESS_SOCKET sends the API server's "cluster" traffic (the proxy subresources of pods and
// Services, the kubelet's logs endpoint) here, as a konnectivity server would carry it on a real
// cluster. A pod IP the API shows (10.244.a.b) is connected to where that pod's process listens
// here, so that `kubectl proxy` reaches a JobManager's web UI through the API server's Service
// proxy; the node's own address (localhost) reaches only its kubelet endpoint, for `kubectl
// logs`. It returns when ctx ends.
func (n *Node) ServeClusterEgress(ctx context.Context, l net.Listener) error {
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n.connect(ctx, w, req)
	})}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	err := srv.Serve(l)
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}

func (n *Node) connect(ctx context.Context, w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodConnect {
		http.Error(w, "only CONNECT", http.StatusMethodNotAllowed)
		return
	}
	target, err := n.egressTarget(req.Host)
	if err != nil {
		n.opts.Logf("localnode: egress to %s: %v", req.Host, err)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	backend, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		n.opts.Logf("localnode: egress to %s (%s): %v", req.Host, target, err)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer backend.Close()
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer client.Close()
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	tunnel(client, buf.Reader, backend, ctx.Done())
}

// egressTarget is where a CONNECT to hostPort goes: a pod IP's container port is mapped to the
// pod's local address, and the node's address to its kubelet endpoint. Anything else is refused:
// the API server's node proxy would otherwise reach every service on this machine's loopback
// (etcd, kubectl proxy) past RBAC.
func (n *Node) egressTarget(hostPort string) (string, error) {
	host, portText, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return "", err
	}
	if local, ok := n.localAddress(host, int32(port)); ok {
		return local, nil
	}
	if (host == "localhost" || host == loopback) && int32(port) == n.kubeletPort {
		return hostPort, nil
	}
	return "", fmt.Errorf("no pod on this node listens at %s", hostPort)
}

// tunnel copies both ways until either side ends or stop closes; fromClient reads the client's
// side (with what a CONNECT request's reader already buffered). Either side ending ends both, so
// a client sees the connection drop when its pod dies.
func tunnel(client io.Writer, fromClient io.Reader, backend net.Conn, stop <-chan struct{}) {
	var once sync.Once
	done := make(chan struct{})
	pipe := func(dst io.Writer, src io.Reader) {
		_, _ = io.Copy(dst, src)
		once.Do(func() { close(done) })
	}
	go pipe(backend, fromClient)
	go pipe(client, backend)
	select {
	case <-done:
	case <-stop:
	}
}
