package flinkclient

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestQuote(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "java.io.IOException: disk full", "java.io.IOException: disk full"},
		{"password in a URL", "cannot write s3://AKIA123:s3cr3t@bucket/savepoints/x",
			"cannot write s3://AKIA123:xxxxx@bucket/savepoints/x"},
		{"two URLs", "from http://u:p@a to https://v:q@b:8443/x", "from http://u:xxxxx@a to https://v:xxxxx@b:8443/x"},
		{"user without password is kept", "hdfs://flink@namenode/x", "hdfs://flink@namenode/x"},
		{"invalid UTF-8", "bad \xff byte", "bad \uFFFD byte"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Quote(tc.in))
		})
	}
}

func TestQuoteIsBounded(t *testing.T) {
	long := strings.Repeat("é", 1000) // 2 bytes each: the cut must not split one
	q := Quote(long)
	assert.LessOrEqual(t, len(q), snippetLen)
	assert.True(t, utf8.ValidString(q))
	// A password cut off by the bound is still redacted: redaction runs before the cut.
	url := strings.Repeat("x", snippetLen-20) + " s3://key:" + strings.Repeat("s", 100) + "@bucket"
	assert.NotContains(t, Quote(url), "sss")
}

func TestFlinkErrorsInErrorsAreQuoted(t *testing.T) {
	err := &UnexpectedResponseError{Method: "GET", URL: "http://jm/jobs", StatusCode: 500,
		FlinkErrors: []string{"org.apache.flink.Failure: s3://k:secret@b/" + strings.Repeat("y", 10000) + "\n\tat Foo"}}
	msg := err.Error()
	assert.NotContains(t, msg, "secret")
	assert.Less(t, len(msg), 400, "a Flink error of any size is quoted within bounds")
	assert.Equal(t, "org.apache.flink.Failure: s3://k:xxxxx@b", summary([]string{"org.apache.flink.Failure: s3://k:secret@b\n\tat Foo"}))
}
