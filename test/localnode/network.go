//go:build flink

package localnode

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// serviceTable gives every Service port a stable port on 127.0.0.1, standing in for the
// Service's ClusterIP:port, and proxies each connection to it to a ready endpoint of the Service
// as kube-proxy does (see proxy.go). Each pod listens on its own loopback address (localIP), and
// a container port that a Service targets listens on the Service's port number there, so the
// port a client was given (Flink's JobManager reports its blob port, for one) is the same
// through the Service and at the pod.
type serviceTable struct {
	kube kubernetes.Interface
	// backing finds the port of a running pod the Service port targets, for a Service created
	// after its pod started.
	backing func(svc *corev1.Service, sp corev1.ServicePort) (int, bool)
	// serve starts proxying a newly allocated Service port; nil in tests of the table alone.
	serve func(l net.Listener, ns, name string, sp corev1.ServicePort)
	mu    sync.Mutex
	ports map[string]int // namespace/service/port → port on 127.0.0.1
}

func newServiceTable(kube kubernetes.Interface) *serviceTable {
	return &serviceTable{kube: kube, ports: map[string]int{}}
}

func serviceKey(ns, name string, port int32) string { return fmt.Sprintf("%s/%s/%d", ns, name, port) }

// port returns the port on 127.0.0.1 of a Service port, allocating it the first time: the port
// a running pod behind it already listens on, or a free one. Its proxy starts listening at once,
// which also keeps the port from being handed out again.
func (s *serviceTable) port(svc *corev1.Service, sp corev1.ServicePort) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := serviceKey(svc.Namespace, svc.Name, sp.Port)
	if p, ok := s.ports[k]; ok {
		return p, nil
	}
	var l net.Listener
	if p, ok := s.backing(svc, sp); ok {
		// The pod's port, when it is free on 127.0.0.1 (another Service may hold the number).
		l, _ = net.Listen("tcp", net.JoinHostPort(loopback, strconv.Itoa(p)))
	}
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", net.JoinHostPort(loopback, "0")); err != nil {
			return 0, fmt.Errorf("service %s/%s port %d: %w", svc.Namespace, svc.Name, sp.Port, err)
		}
	}
	p := l.Addr().(*net.TCPAddr).Port
	s.ports[k] = p
	if s.serve != nil {
		go s.serve(l, svc.Namespace, svc.Name, sp)
	} else {
		l.Close()
	}
	return p, nil
}

// lookup returns the loopback port of a Service port if one was allocated.
func (s *serviceTable) lookup(ns, name string, port int32) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.ports[serviceKey(ns, name, port)]
	return p, ok
}

// serviceForHost finds the Service a DNS name means from a pod in ns: "svc", "svc.ns",
// "svc.ns.svc" or "svc.ns.svc.cluster.local". nil when the name is not a Service.
func (s *serviceTable) serviceForHost(ctx context.Context, ns, host string) *corev1.Service {
	parts := strings.Split(strings.TrimSuffix(host, ".cluster.local"), ".")
	switch {
	case len(parts) == 1:
	case len(parts) == 2 || (len(parts) == 3 && parts[2] == "svc"):
		ns = parts[1]
	default:
		return nil
	}
	svc, err := s.kube.CoreV1().Services(ns).Get(ctx, parts[0], metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return svc
}

// allocatePorts gives every container port of the pod a port on the pod's localIP: the Service's
// port number when a Service selects the pod and targets that port, the container port itself
// otherwise (the pod's own address makes it unique, as a pod's network namespace does).
func (r *podRunner) allocatePorts(ctx context.Context) error {
	services, err := r.node.opts.Kube.CoreV1().Services(r.pod.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, c := range append(append([]corev1.Container{}, r.pod.Spec.InitContainers...), r.pod.Spec.Containers...) {
		for _, p := range c.Ports {
			local, err := r.portFor(services.Items, p)
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.ports[c.Name+"/"+strconv.Itoa(int(p.ContainerPort))] = local
			if p.Name != "" {
				r.ports[c.Name+"/"+p.Name] = local
			}
			r.mu.Unlock()
		}
	}
	return nil
}

func (r *podRunner) portFor(services []corev1.Service, p corev1.ContainerPort) (int, error) {
	for _, svc := range services {
		if len(svc.Spec.Selector) == 0 || !labelsMatch(svc.Spec.Selector, r.pod.Labels) {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			if targets(sp, p) {
				return r.node.services.port(&svc, sp)
			}
		}
	}
	return int(p.ContainerPort), nil
}

// targets reports whether a Service port sends its traffic to a container port.
func targets(sp corev1.ServicePort, p corev1.ContainerPort) bool {
	switch {
	case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
		return sp.TargetPort.StrVal == p.Name
	case sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal == p.ContainerPort
	default:
		return sp.Port == p.ContainerPort
	}
}

// backingPort is the loopback port of a container port that sp targets in a running pod of this
// node that svc selects.
func (n *Node) backingPort(svc *corev1.Service, sp corev1.ServicePort) (int, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.pods {
		if r.pod.Namespace != svc.Namespace || len(svc.Spec.Selector) == 0 || !labelsMatch(svc.Spec.Selector, r.pod.Labels) || r.stopping() {
			continue
		}
		for _, c := range r.pod.Spec.Containers {
			for _, p := range c.Ports {
				if targets(sp, p) {
					if local, ok := r.containerPort(c, strconv.Itoa(int(p.ContainerPort))); ok {
						return local, true
					}
				}
			}
		}
	}
	return 0, false
}

// containerPort is the local port of a container's port (on the pod's localIP), by name or
// number.
func (r *podRunner) containerPort(c corev1.Container, nameOrNumber string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.ports[c.Name+"/"+nameOrNumber]
	return p, ok
}

// servicePort resolves host:port as the pod would through cluster DNS and the Service's
// ClusterIP: the loopback port of that Service port, when host names a Service that has it.
func (r *podRunner) servicePort(ctx context.Context, host string, port int32) (int, bool) {
	svc := r.node.services.serviceForHost(ctx, r.pod.Namespace, host)
	if svc == nil {
		return 0, false
	}
	for _, sp := range svc.Spec.Ports {
		if sp.Port == port {
			p, err := r.node.services.port(svc, sp)
			return p, err == nil
		}
	}
	return 0, false
}

// hostPortRE finds host:port and /dev/tcp/host/port in shell scripts.
var hostPortRE = regexp.MustCompile(`([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)([:/])([0-9]{1,5})\b`)

// rewriteScript replaces every service:port (and /dev/tcp/service/port) in a shell script with
// the loopback address and the Service port's loopback port. Other text is left alone.
func (r *podRunner) rewriteScript(ctx context.Context, script string) (string, []string) {
	var changes []string
	out := hostPortRE.ReplaceAllStringFunc(script, func(m string) string {
		g := hostPortRE.FindStringSubmatch(m)
		port, err := strconv.Atoi(g[6])
		if err != nil {
			return m
		}
		local, ok := r.servicePort(ctx, g[1], int32(port))
		if !ok {
			return m
		}
		repl := loopback + g[5] + strconv.Itoa(local)
		changes = append(changes, fmt.Sprintf("script: %s -> %s", m, repl))
		return repl
	})
	return out, changes
}

// ProxyHandler serves /services/NAMESPACE/SERVICE/PORT/... by forwarding to that Service port
// on 127.0.0.1 (whose proxy picks a ready endpoint): what the operator outside the cluster uses as its JobManager URL
// (--jobmanager-url-template=http://ADDR/services/{{.Namespace}}/{{.Service}}/{{.Port}}), as it
// would use the API server's service proxy or a port-forward against a remote cluster.
func (n *Node) ProxyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		parts := strings.SplitN(strings.TrimPrefix(req.URL.Path, "/services/"), "/", 4)
		if len(parts) < 3 {
			http.Error(w, "want /services/NAMESPACE/SERVICE/PORT/...", http.StatusNotFound)
			return
		}
		port, err := strconv.Atoi(parts[2])
		if err != nil {
			http.Error(w, "bad port", http.StatusNotFound)
			return
		}
		local, ok := n.services.lookup(parts[0], parts[1], int32(port))
		if !ok {
			http.Error(w, "no such service port "+parts[0]+"/"+parts[1], http.StatusServiceUnavailable)
			return
		}
		rest := "/"
		if len(parts) == 4 {
			rest += parts[3]
		}
		target := &url.URL{Scheme: "http", Host: net.JoinHostPort(loopback, strconv.Itoa(local))}
		proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = rest
			pr.Out.URL.RawPath = ""
		}, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// A JobManager that is down or restarting: the node's log, not the test's output.
			n.opts.Logf("localnode: proxy %s: %v", r.URL.Path, err)
			w.WriteHeader(http.StatusBadGateway)
		}}
		proxy.ServeHTTP(w, req)
	})
}
