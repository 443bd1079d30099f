package v1beta1

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestEveryFieldHasAnEffect walks FlinkClusterSpec: every field is covered by exactly one entry
// of SpecFieldEffects (its own or an enclosing one), and every entry names a field.
func TestEveryFieldHasAnEffect(t *testing.T) {
	covered := map[string]bool{}
	var missing, twice []string
	var walk func(reflect.Type, string, bool)
	walk = func(typ reflect.Type, path string, underEntry bool) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		_, has := SpecFieldEffects[path]
		if has {
			covered[path] = true
			if underEntry {
				twice = append(twice, path)
			}
		}
		own := typ.Kind() == reflect.Struct && typ.PkgPath() == reflect.TypeOf(FlinkClusterSpec{}).PkgPath()
		if !own {
			if !has && !underEntry {
				missing = append(missing, path)
			}
			return
		}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" { // inline: its fields are the parent's
				walk(f.Type, path, underEntry)
				continue
			}
			walk(f.Type, path+"."+name, underEntry || has)
		}
	}
	walk(reflect.TypeOf(FlinkClusterSpec{}), "spec", false)
	var unknown []string
	for path := range SpecFieldEffects {
		if !covered[path] {
			unknown = append(unknown, path)
		}
	}
	sort.Strings(unknown)
	if len(missing) > 0 {
		t.Errorf("spec fields without an entry in SpecFieldEffects (decide whether a change restarts the job): %v", missing)
	}
	if len(twice) > 0 {
		t.Errorf("spec fields covered twice in SpecFieldEffects: %v", twice)
	}
	if len(unknown) > 0 {
		t.Errorf("SpecFieldEffects entries that name no spec field: %v", unknown)
	}
}
