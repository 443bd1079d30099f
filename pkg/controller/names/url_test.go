package names

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedactedURL(t *testing.T) {
	assert.Equal(t, "http://c-jobmanager.ns.svc:8081", RedactedURL("http://c-jobmanager.ns.svc:8081"))
	assert.Equal(t, "https://admin:xxxxx@proxy.example.com/ns/c", RedactedURL("https://admin:s3cret@proxy.example.com/ns/c"))
	assert.Equal(t, "(a JobManager URL that does not parse)", RedactedURL("http://[::1"))
}
