package desired

import (
	"reflect"
	"sort"
	"strings"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// JobRevision identifies what a job cluster's job runs with: the spec without the fields whose
// change does not restart the job (v1beta1.SpecFieldEffects: TaskManager replicas scale in
// place; savepoint requests, cancellation and the policies act on the running job; fields read
// only at the first submission or accepted with one value change nothing). It hashes the user's
// spec, not the objects built from it, so an operator upgrade that builds objects differently
// never restarts a running job; fields added to the API must therefore be omitted from JSON while
// unset.
func JobRevision(fc *v1beta1.FlinkCluster) string {
	spec := fc.Spec.DeepCopy()
	root := reflect.ValueOf(spec).Elem()
	for _, index := range nonRestartingFields {
		clearField(root, index)
	}
	return hashOf(spec)
}

// nonRestartingFields are the struct field index paths (below FlinkClusterSpec) of the fields
// that are not RestartsJob, resolved once from their JSON paths.
var nonRestartingFields = func() [][]int {
	var paths []string
	for path, effect := range v1beta1.SpecFieldEffects {
		if effect != v1beta1.RestartsJob {
			paths = append(paths, path)
		}
	}
	sort.Strings(paths)
	out := make([][]int, 0, len(paths))
	for _, path := range paths {
		out = append(out, fieldIndex(reflect.TypeOf(v1beta1.FlinkClusterSpec{}), strings.Split(path, ".")[1:], path))
	}
	return out
}()

// fieldIndex resolves a JSON path to struct field indexes; a path that names no field is a
// programming error (TestEveryFieldHasAnEffect keeps the table true to the types).
func fieldIndex(t reflect.Type, names []string, path string) []int {
	var index []int
	for _, name := range names {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		found := false
		for i := 0; !found && i < t.NumField(); i++ {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag == name {
				index, t, found = append(index, i), t.Field(i).Type, true
			}
		}
		if !found {
			panic("v1beta1.SpecFieldEffects: no field " + path)
		}
	}
	return index
}

// clearField sets the field at index under v to its zero value; a nil pointer on the way means
// the field is unset already.
func clearField(v reflect.Value, index []int) {
	for _, i := range index {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	v.Set(reflect.Zero(v.Type()))
}

// RestoredSpec is a rolled-back spec: stable's fields that restart the job (so that its
// JobRevision is stable's) with every other field from current (replicas, savepoint requests,
// policies and suspension act as the user asks while the rollback is in force).
func RestoredSpec(stable, current *v1beta1.FlinkClusterSpec) *v1beta1.FlinkClusterSpec {
	out := stable.DeepCopy()
	dst, src := reflect.ValueOf(out).Elem(), reflect.ValueOf(current).Elem()
	for _, index := range nonRestartingFields {
		copyField(dst, src, index)
	}
	return out
}

// copyField sets the field at index under dst to its value under src: zero where a nil pointer
// on src's way says it is unset, through structs allocated on dst's way when it is set.
func copyField(dst, src reflect.Value, index []int) {
	for k, i := range index {
		for src.Kind() == reflect.Pointer {
			if src.IsNil() {
				clearField(dst, index[k:])
				return
			}
			src = src.Elem()
		}
		for dst.Kind() == reflect.Pointer {
			if dst.IsNil() {
				dst.Set(reflect.New(dst.Type().Elem()))
			}
			dst = dst.Elem()
		}
		src, dst = src.Field(i), dst.Field(i)
	}
	dst.Set(src)
}
