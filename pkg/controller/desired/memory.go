package desired

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const mebibyte = 1 << 20

// flinkProcessMemory is the memory handed to the Flink process of one container:
// off-heap = max(offHeapMin, limit × ratio / 100); process = limit − off-heap, or, when
// processRatio is set, process = limit × processRatio / 100. The limit is the container's memory
// limit, or its request when it has no limit. The result is rounded down to whole MiB, which is
// how Flink prints memory sizes.
func flinkProcessMemory(resources corev1.ResourceRequirements, ratio *int32, offHeapMin *resource.Quantity, processRatio *int32) (int64, error) {
	limit, ok := resources.Limits[corev1.ResourceMemory]
	if !ok {
		limit, ok = resources.Requests[corev1.ResourceMemory]
	}
	if !ok {
		return 0, fmt.Errorf("no memory limit or request")
	}
	limitBytes := limit.Value()
	if processRatio != nil {
		process := limitBytes * int64(*processRatio) / 100 / mebibyte
		if process <= 0 {
			return 0, fmt.Errorf("memory %s leaves nothing for Flink at memoryProcessRatio %d", limit.String(), *processRatio)
		}
		return process, nil
	}
	offHeap := limitBytes * int64(deref(ratio, 25)) / 100
	if offHeapMin != nil && offHeapMin.Value() > offHeap {
		offHeap = offHeapMin.Value()
	}
	process := (limitBytes - offHeap) / mebibyte
	if process <= 0 {
		return 0, fmt.Errorf("memory %s leaves nothing for Flink after the off-heap margin of %dMi", limit.String(), offHeap/mebibyte)
	}
	return process, nil
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
