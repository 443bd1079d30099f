package controller

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func apierrorsConflict() error {
	return apierrors.NewConflict(schema.GroupResource{Group: "flinkoperator.k8s.io", Resource: "flinkclusters"}, "c", nil)
}
