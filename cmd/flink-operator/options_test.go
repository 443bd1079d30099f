package main

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSavepointTimeoutIsBoundedByFlinksResultStore(t *testing.T) {
	for _, tt := range []struct {
		timeout string
		ok      bool
	}{{"10m", true}, {"1h", true}, {"61m", false}} {
		o := defaultOptions()
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		o.bind(fs)
		require.NoError(t, fs.Parse([]string{"--savepoint-timeout=" + tt.timeout}))
		err := o.validate()
		if tt.ok {
			assert.NoError(t, err, tt.timeout)
		} else {
			assert.ErrorContains(t, err, "--savepoint-timeout must be at most 1h0m0s", tt.timeout)
		}
	}
}
