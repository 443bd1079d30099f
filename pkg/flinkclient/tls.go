package flinkclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// TLS is what calls to a JobManager whose REST API serves HTTPS (Flink's
// security.ssl.rest.*) need: the CA to verify it and, for mutual TLS, the
// client certificate to present. Calls take it from their context
// (WithTLS), so one Client serves plain and TLS JobManagers alike.
type TLS struct {
	// Source names where the material comes from (a Secret's
	// namespace/name); Version changes whenever the material does (the
	// Secret's resourceVersion). The Client keeps one connection pool per
	// Source and server name, and replaces it when Version changes.
	Source, Version string
	config          *tls.Config
}

// ParseTLS builds a TLS from PEM: caPEM (required) holds the CA
// certificates the server's certificate must chain to; certPEM and keyPEM
// (both or neither) are the client certificate for mutual TLS. serverName,
// when not empty, is the name the server certificate is verified against
// instead of the URL's host.
func ParseTLS(source, version string, caPEM, certPEM, keyPEM []byte, serverName string) (*TLS, error) {
	pool := x509.NewCertPool()
	if len(caPEM) == 0 || !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("ca.crt holds no PEM certificate")
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	switch {
	case len(certPEM) > 0 && len(keyPEM) > 0:
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls.crt and tls.key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case len(certPEM) > 0:
		return nil, errors.New("tls.crt without tls.key: a client certificate needs its key")
	case len(keyPEM) > 0:
		return nil, errors.New("tls.key without tls.crt: a client key needs its certificate")
	}
	return &TLS{Source: source, Version: version, config: cfg}, nil
}

// ClientConfig is a copy of the TLS client settings, for callers that make
// their own HTTP requests (tests reading endpoints the Interface lacks).
func (t *TLS) ClientConfig() *tls.Config { return t.config.Clone() }

// MutualTLS says whether the client presents a certificate.
func (t *TLS) MutualTLS() bool { return t != nil && len(t.config.Certificates) > 0 }

type tlsContextKey struct{}

// WithTLS returns a context whose calls use t; a nil t leaves ctx as it is
// (plain HTTP, or the system's roots for an https:// URL).
func WithTLS(ctx context.Context, t *TLS) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, tlsContextKey{}, t)
}

// TLSFrom is the TLS of WithTLS, or nil.
func TLSFrom(ctx context.Context) *TLS {
	t, _ := ctx.Value(tlsContextKey{}).(*TLS)
	return t
}

// NewTLSTransport is NewTransport with the client TLS settings c.
func NewTLSTransport(c *tls.Config) *http.Transport {
	t := NewTransport()
	t.TLSClientConfig = c
	return t
}

// tlsClients keeps one http.Client per TLS source and server name:
// connections made with one CA, client certificate or verified name are
// never reused with another.
type tlsClients struct {
	newTransport func(*tls.Config) http.RoundTripper
	redirect     func(*http.Request, []*http.Request) error

	mu      sync.Mutex
	clients map[string]tlsClient
}

type tlsClient struct {
	version string
	client  *http.Client
}

// get returns the client for t, building it when t's source is new or its
// version changed (a renewed certificate). The replaced client's idle
// connections are closed; those in use finish their call.
func (c *tlsClients) get(t *TLS) *http.Client {
	key := t.Source + "|" + t.config.ServerName
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.clients[key]; ok && cur.version == t.Version {
		return cur.client
	} else if ok {
		cur.client.CloseIdleConnections()
	}
	client := &http.Client{Transport: c.newTransport(t.config.Clone()), CheckRedirect: c.redirect}
	c.clients[key] = tlsClient{version: t.Version, client: client}
	return client
}
