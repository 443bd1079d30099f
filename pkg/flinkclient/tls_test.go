package flinkclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/test/pki"
)

// tlsJobManager is a JobManager REST API behind TLS, with mutual TLS when clientCA is set.
func tlsJobManager(t *testing.T, ca *pki.CA, names pki.Names, clientCA *pki.CA) *httptest.Server {
	t.Helper()
	leaf, err := ca.Issue(names)
	require.NoError(t, err)
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(sampleOverview))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	if clientCA != nil {
		pool := x509.NewCertPool()
		pool.AddCert(clientCA.Cert)
		srv.TLS.ClientCAs, srv.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func newCA(t *testing.T, name string) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA(name)
	require.NoError(t, err)
	return ca
}

func clientTLS(t *testing.T, version string, trusted *pki.CA, client *pki.CA, serverName string) *TLS {
	t.Helper()
	var cert, key []byte
	if client != nil {
		leaf, err := client.Issue(pki.Names{CommonName: "flink-operator", Client: true})
		require.NoError(t, err)
		cert, key = leaf.CertPEM, leaf.KeyPEM
	}
	c, err := ParseTLS("ns/rest-tls", version, trusted.PEM, cert, key, serverName)
	require.NoError(t, err)
	return c
}

func TestCallsOverTLS(t *testing.T) {
	ca, other := newCA(t, "flink-ca"), newCA(t, "other-ca")
	loopback := pki.Names{CommonName: "jobmanager", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true}
	named := pki.Names{CommonName: "jobmanager", DNS: []string{"jm.flink.svc"}, Server: true}
	tests := []struct {
		name     string
		server   pki.Names
		clientCA *pki.CA // the server requires a client certificate signed by it
		tls      *TLS
		wantErr  error
	}{
		{name: "server TLS, CA trusted", server: loopback, tls: clientTLS(t, "1", ca, nil, "")},
		{name: "mutual TLS", server: loopback, clientCA: ca, tls: clientTLS(t, "1", ca, ca, "")},
		{name: "server name given for a certificate without the URL's host", server: named,
			tls: clientTLS(t, "1", ca, nil, "jm.flink.svc")},
		{name: "no TLS in the context: the system roots do not know the CA", server: loopback,
			wantErr: ErrUnreachable},
		{name: "another CA", server: loopback, tls: clientTLS(t, "1", other, nil, ""), wantErr: ErrUnreachable},
		{name: "mutual TLS without a client certificate", server: loopback, clientCA: ca,
			tls: clientTLS(t, "1", ca, nil, ""), wantErr: ErrUnreachable},
		{name: "client certificate of another CA", server: loopback, clientCA: ca,
			tls: clientTLS(t, "1", ca, other, ""), wantErr: ErrUnreachable},
		{name: "certificate for another name", server: named, tls: clientTLS(t, "1", ca, nil, ""),
			wantErr: ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tlsJobManager(t, ca, tt.server, tt.clientCA)
			c := New(Options{})
			_, err := c.GetOverview(WithTLS(context.Background(), tt.tls), srv.URL)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

// A renewed certificate (a new Secret version) gets a new connection pool; the same version
// keeps its connections, and a plain call never uses a TLS pool.
func TestTLSPoolPerVersion(t *testing.T) {
	ca := newCA(t, "flink-ca")
	srv := tlsJobManager(t, ca, pki.Names{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true}, ca)
	var built atomic.Int32
	c := New(Options{TLSTransport: func(cfg *tls.Config) http.RoundTripper {
		built.Add(1)
		return NewTLSTransport(cfg)
	}})
	v1, v2 := clientTLS(t, "1", ca, ca, ""), clientTLS(t, "2", ca, ca, "")
	for _, step := range []struct {
		tls   *TLS
		built int32
	}{{v1, 1}, {v1, 1}, {v2, 2}, {v2, 2}} {
		_, err := c.GetOverview(WithTLS(context.Background(), step.tls), srv.URL)
		require.NoError(t, err)
		assert.Equal(t, step.built, built.Load(), "transports after a call with version %s", step.tls.Version)
	}
	assert.Same(t, c.http, c.clientFor(context.Background()))
	assert.Same(t, c.http, c.clientFor(WithTLS(context.Background(), nil)))
}

// Two clusters sharing a Secret but verifying different names get pools of their own: the first
// call's name must not decide the second's.
func TestTLSPoolPerServerName(t *testing.T) {
	ca := newCA(t, "flink-ca")
	loopback := tlsJobManager(t, ca, pki.Names{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true}, nil)
	named := tlsJobManager(t, ca, pki.Names{DNS: []string{"jm.flink.svc"}, Server: true}, nil)
	c := New(Options{})
	for _, call := range []struct {
		url        string
		serverName string
	}{{loopback.URL, ""}, {named.URL, "jm.flink.svc"}, {loopback.URL, ""}} {
		_, err := c.GetOverview(WithTLS(context.Background(), clientTLS(t, "1", ca, nil, call.serverName)), call.url)
		require.NoError(t, err, "server name %q", call.serverName)
	}
}

func TestParseTLS(t *testing.T) {
	ca := newCA(t, "flink-ca")
	leaf, err := ca.Issue(pki.Names{CommonName: "client", Client: true})
	require.NoError(t, err)
	other, err := ca.Issue(pki.Names{CommonName: "other", Client: true})
	require.NoError(t, err)
	tests := []struct {
		name            string
		ca, cert, key   []byte
		wantErr, mutual bool
	}{
		{name: "CA only", ca: ca.PEM},
		{name: "CA and client certificate", ca: ca.PEM, cert: leaf.CertPEM, key: leaf.KeyPEM, mutual: true},
		{name: "no CA", cert: leaf.CertPEM, key: leaf.KeyPEM, wantErr: true},
		{name: "CA not PEM", ca: []byte("not a certificate"), wantErr: true},
		{name: "certificate without key", ca: ca.PEM, cert: leaf.CertPEM, wantErr: true},
		{name: "key without certificate", ca: ca.PEM, key: leaf.KeyPEM, wantErr: true},
		{name: "key of another certificate", ca: ca.PEM, cert: leaf.CertPEM, key: other.KeyPEM, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTLS("ns/s", "1", tt.ca, tt.cert, tt.key, "")
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.mutual, got.MutualTLS())
		})
	}
}
