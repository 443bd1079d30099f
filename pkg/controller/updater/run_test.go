package updater

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRun: planned writes run once each, nothing runs for nil plans, and every failure is
// returned, not only the first.
func TestRun(t *testing.T) {
	errA, errB := errors.New("a failed"), errors.New("b failed")
	tests := []struct {
		name    string
		results []error // one write per entry; nil plans are added between them
		want    []error
	}{
		{"nothing planned", nil, nil},
		{"one write", []error{nil}, nil},
		{"one failing write", []error{errA}, []error{errA}},
		{"several writes, two fail", []error{errA, nil, errB}, []error{errA, errB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			planned := []write{nil}
			for _, res := range tt.results {
				planned = append(planned, func(context.Context) error { calls.Add(1); return res }, nil)
			}
			err := run(context.Background(), planned...)
			assert.Equal(t, int32(len(tt.results)), calls.Load(), "each planned write runs once")
			if len(tt.want) == 0 {
				assert.NoError(t, err)
			}
			for _, w := range tt.want {
				assert.ErrorIs(t, err, w)
			}
		})
	}
}
