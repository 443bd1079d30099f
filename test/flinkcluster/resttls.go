//go:build flink

package flinkcluster

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	"github.com/flink-operator/flink-operator/test/pki"
)

// RESTTLS is a REST API behind mutual TLS: Flink's keystore and truststore, and what the
// operator's client presents and trusts, all from one throwaway CA.
type RESTTLS struct {
	// Conf are the security.ssl.rest.* keys for the cluster's configuration; the CLI reads them
	// too, and presents the keystore's certificate as its own.
	Conf map[string]string
	// Client is the operator side: the CA and a client certificate of its own.
	Client *flinkclient.TLS
}

const storePassword = "flink-test"

// NewRESTTLS writes the stores into dir. Flink reads PKCS#12 stores, which Go's standard library
// cannot write, so keytool (beside the java that runs Flink) makes the server's key and a
// certificate request, the CA signs the request, and keytool imports the chain; the truststore
// holds the CA, so Flink accepts client certificates the CA signed.
func NewRESTTLS(dir string) (*RESTTLS, error) {
	ca, err := pki.NewCA("flink-rest-test-ca")
	if err != nil {
		return nil, err
	}
	keystore, truststore := filepath.Join(dir, "rest.keystore.p12"), filepath.Join(dir, "rest.truststore.p12")
	caFile, csrFile, certFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "rest.csr"), filepath.Join(dir, "rest.crt")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		return nil, err
	}
	store := func(path string) []string {
		return []string{"-keystore", path, "-storetype", "PKCS12", "-storepass", storePassword, "-noprompt"}
	}
	steps := [][]string{
		append([]string{"-genkeypair", "-alias", "rest", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1", "-validity", "2"}, store(keystore)...),
		append([]string{"-certreq", "-alias", "rest", "-file", csrFile}, store(keystore)...),
	}
	if err := keytool(steps...); err != nil {
		return nil, err
	}
	csr, err := os.ReadFile(csrFile)
	if err != nil {
		return nil, err
	}
	// Server and client use: with mutual TLS the CLI presents the keystore's certificate.
	cert, err := ca.SignRequest(csr, pki.Names{CommonName: "127.0.0.1", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, DNS: []string{"localhost"}, Server: true, Client: true})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, cert, 0o600); err != nil {
		return nil, err
	}
	if err := keytool(
		append([]string{"-importcert", "-alias", "ca", "-file", caFile}, store(keystore)...),
		append([]string{"-importcert", "-alias", "rest", "-file", certFile}, store(keystore)...),
		append([]string{"-importcert", "-alias", "ca", "-file", caFile}, store(truststore)...),
	); err != nil {
		return nil, err
	}
	operator, err := ca.Issue(pki.Names{CommonName: "flink-operator", Client: true})
	if err != nil {
		return nil, err
	}
	client, err := flinkclient.ParseTLS("test/rest-tls", "1", ca.PEM, operator.CertPEM, operator.KeyPEM, "")
	if err != nil {
		return nil, err
	}
	return &RESTTLS{Client: client, Conf: map[string]string{
		"security.ssl.rest.enabled":                "true",
		"security.ssl.rest.authentication-enabled": "true",
		"security.ssl.rest.keystore":               keystore,
		"security.ssl.rest.keystore-password":      storePassword,
		"security.ssl.rest.key-password":           storePassword,
		"security.ssl.rest.truststore":             truststore,
		"security.ssl.rest.truststore-password":    storePassword,
		// What the operator writes with restTLS: Flink's default suite is one Go's client does
		// not offer.
		desired.SSLAlgorithmsKey: desired.RESTTLSCipherSuites,
	}}, nil
}

func keytool(steps ...[]string) error {
	bin, err := exec.LookPath("keytool")
	if err != nil {
		if home := os.Getenv("JAVA_HOME"); home != "" {
			bin, err = filepath.Join(home, "bin", "keytool"), nil
		}
	}
	if err != nil {
		return fmt.Errorf("keytool (from the JDK that runs Flink) not found: %w", err)
	}
	for _, args := range steps {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("keytool %s: %w: %s", args[0], err, out)
		}
	}
	return nil
}
