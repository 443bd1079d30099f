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

func TestURLTemplatesAreChecked(t *testing.T) {
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{[]string{"--dashboard-url-template=http://127.0.0.1:8001/api/v1/namespaces/{{.Namespace}}/services/{{.Service}}:ui/proxy/"}, ""},
		{[]string{"--dashboard-url-template="}, ""},
		{[]string{"--dashboard-url-template=http://{{.Nope}}"}, "--dashboard-url-template: "},
		{[]string{"--dashboard-url-template=http://{{.Name"}, "--dashboard-url-template: "},
		{[]string{"--jobmanager-url-template=http://{{.Nope}}"}, "--jobmanager-url-template: "},
	} {
		checkValidation(t, tt.args, tt.err)
	}
}

func TestShardIsALabelValueAndNeedsALease(t *testing.T) {
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{[]string{"--shard=team-a", "--leader-elect", "--leader-election-namespace=op"}, ""},
		{[]string{"--shard=", "--leader-elect", "--leader-election-namespace=op"}, ""},
		{[]string{}, ""},
		{[]string{"--shard=team-a"}, "--shard requires --leader-elect"},
		{[]string{"--shard=team a", "--leader-elect", "--leader-election-namespace=op"}, `--shard "team a" is not a label value`},
	} {
		checkValidation(t, tt.args, tt.err)
	}
}

func TestLeaderElectionTimingsAreChecked(t *testing.T) {
	le := []string{"--leader-elect", "--leader-election-namespace=op"}
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"--leader-election-lease-duration=6s", "--leader-election-renew-deadline=4s", "--leader-election-retry-period=1s"}, ""},
		{[]string{"--leader-election-renew-deadline=15s"}, "renew-deadline must be shorter"},
		{[]string{"--leader-election-lease-duration=500ms", "--leader-election-renew-deadline=400ms", "--leader-election-retry-period=100ms"}, "at least 1s"},
		{[]string{"--leader-election-retry-period=6s"}, "at most half"},
		{[]string{"--leader-election-retry-period=0s"}, "must be positive"},
	} {
		checkValidation(t, append(append([]string{}, le...), tt.args...), tt.err)
	}
}

// checkValidation parses args and validates them: no error when wantErr is empty, else one
// containing it.
func checkValidation(t *testing.T, args []string, wantErr string) {
	t.Helper()
	o := defaultOptions()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.bind(fs)
	require.NoError(t, fs.Parse(args))
	err := o.validate()
	if wantErr == "" {
		assert.NoError(t, err, args)
	} else {
		assert.ErrorContains(t, err, wantErr, args)
	}
}
