package controller

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func apierrorsConflict() error {
	return apierrors.NewConflict(schema.GroupResource{Group: "flinkoperator.k8s.io", Resource: "flinkclusters"}, "c", nil)
}

func TestOnlyConflicts(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "a", errors.New("stale"))
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "deployments"}, "b", errors.New("no"))
	cases := map[string]struct {
		err  error
		want bool
	}{
		"a conflict":                       {conflict, true},
		"a wrapped conflict":               {fmt.Errorf("create ConfigMap a: %w", conflict), true},
		"conflicts joined":                 {errors.Join(fmt.Errorf("x: %w", conflict), conflict), true},
		"a conflict beside a real failure": {errors.Join(fmt.Errorf("x: %w", conflict), fmt.Errorf("y: %w", forbidden)), false},
		"wrapped join with a real failure": {fmt.Errorf("sync: %w", errors.Join(conflict, forbidden)), false},
		"a plain error":                    {errors.New("boom"), false},
		"a real failure only":              {forbidden, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { assert.Equal(t, tc.want, onlyConflicts(tc.err)) })
	}
}
