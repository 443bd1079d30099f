//go:build flink

package localnode

import (
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// serveService accepts connections to a Service port on 127.0.0.1 until the node stops, and
// forwards each to one ready endpoint, picked at random per connection as kube-proxy does; with
// no ready endpoint the connection is refused (closed at once).
func (n *Node) serveService(l net.Listener, ns, name string, sp corev1.ServicePort) {
	go func() {
		<-n.ctx.Done()
		l.Close()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go n.forward(conn, ns, name, sp)
	}
}

func (n *Node) forward(client net.Conn, ns, name string, sp corev1.ServicePort) {
	defer client.Close()
	backends := n.readyEndpoints(ns, name, sp)
	if len(backends) == 0 {
		return
	}
	backend, err := net.DialTimeout("tcp", backends[rand.IntN(len(backends))], 2*time.Second)
	if err != nil {
		return
	}
	defer backend.Close()
	tunnel(client, client, backend, n.ctx.Done())
}

// readyEndpoints are the local addresses (localIP:port) of the Service port's ready endpoints,
// read from its EndpointSlices as kube-proxy reads them: an endpoint is used when its ready
// condition is true or unset, and only if this node runs its pod.
func (n *Node) readyEndpoints(ns, name string, sp corev1.ServicePort) []string {
	slices, err := n.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name}))
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range slices {
		number, ok := slicePort(s, sp.Name)
		if !ok {
			continue
		}
		for _, ep := range s.Endpoints {
			if (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) || len(ep.Addresses) == 0 {
				continue
			}
			if addr, ok := n.localAddress(ep.Addresses[0], number); ok {
				out = append(out, addr)
			}
		}
	}
	return out
}

func slicePort(s *discoveryv1.EndpointSlice, name string) (int32, bool) {
	for _, p := range s.Ports {
		if p.Port != nil && (p.Name == nil && name == "" || p.Name != nil && *p.Name == name) {
			return *p.Port, true
		}
	}
	return 0, false
}

// localAddress maps an endpoint (the pod IP the API shows, a container port number) to where
// that pod's process listens here.
func (n *Node) localAddress(podIP string, containerPort int32) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.pods {
		if r.podIP != podIP || r.stopping() {
			continue
		}
		for _, c := range r.pod.Spec.Containers {
			if p, ok := r.containerPort(c, strconv.Itoa(int(containerPort))); ok {
				return net.JoinHostPort(r.localIP, strconv.Itoa(p)), true
			}
		}
	}
	return "", false
}

// localIPFor is the loopback address a pod's processes use for the pod IP the API shows:
// 10.244.a.b listens on 127.244.a.b (all of 127.0.0.0/8 is loopback on Linux).
func localIPFor(podIP string) string { return "127." + podIP[len("10."):] }
