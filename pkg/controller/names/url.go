package names

import (
	"bytes"
	"fmt"
	"net/url"
	"text/template"
)

// DefaultJobManagerURLTemplate reaches a JobManager through its Service's cluster DNS name.
const DefaultJobManagerURLTemplate = "http://{{.Service}}.{{.Namespace}}.svc:{{.Port}}"

// JobManagerURLData is what a JobManager URL template may use.
type JobManagerURLData struct {
	Name      string // the FlinkCluster's name
	Namespace string
	Service   string // the JobManager Service's name
	Port      int32  // the JobManager's UI/REST port
}

// JobManagerURLs turns a FlinkCluster into the base URL of its JobManager's REST API. The
// template lets an operator outside the cluster reach JobManagers through port-forwards, a proxy
// or the simulated JobManager.
type JobManagerURLs struct {
	tmpl *template.Template
}

// NewJobManagerURLs parses the template (text/template over JobManagerURLData).
func NewJobManagerURLs(tmpl string) (*JobManagerURLs, error) {
	t, err := template.New("jobmanager-url").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("parsing the JobManager URL template %q: %w", tmpl, err)
	}
	u := &JobManagerURLs{tmpl: t}
	if _, err := u.URL("name", "namespace", 8081); err != nil {
		return nil, err
	}
	return u, nil
}

// URL is the JobManager base URL of the FlinkCluster namespace/name.
func (u *JobManagerURLs) URL(name, namespace string, port int32) (string, error) {
	var b bytes.Buffer
	data := JobManagerURLData{Name: name, Namespace: namespace, Service: JobManagerService(name), Port: port}
	if err := u.tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("expanding the JobManager URL template: %w", err)
	}
	return b.String(), nil
}

// RedactedURL is u with any password replaced, for status and events (as the Flink client's
// errors show URLs); text that is not a URL is not shown at all.
func RedactedURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "(a JobManager URL that does not parse)"
	}
	return parsed.Redacted()
}
