//go:build flink

package flinkcluster

import (
	"strings"
	"testing"
)

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.Contains(l, "Exception") {
			return strings.TrimSpace(l)
		}
	}
	return strings.SplitN(err.Error(), "\n", 2)[0]
}

// TestConfigFileName proves which configuration file each Flink version
// reads, with Flink's own config loading (BashJavaUtils computes the
// JobManager heap from jobmanager.memory.process.size; 1024m gives
// -Xmx469762048, a config that was not read gives the 1600m default).
func TestConfigFileName(t *testing.T) {
	const heap1024, heap1280 = "-Xmx469762048", "-Xmx738197504"
	for _, v := range Versions() {
		t.Run(v, func(t *testing.T) {
			d := Fetch(t, v)
			heap := func(files map[string]string) (string, error) {
				dir := t.TempDir()
				for name, size := range files {
					if err := WriteConfig(dir, name, map[string]string{"jobmanager.memory.process.size": size}); err != nil {
						t.Fatal(err)
					}
				}
				jvm, _, err := d.ResourceParams(dir, "GET_JM_RESOURCE_PARAMS")
				if err != nil {
					return "", err
				}
				return jvm[0], nil
			}
			onlyLegacy, errLegacy := heap(map[string]string{"flink-conf.yaml": "1024m"})
			onlyNew, errNew := heap(map[string]string{"config.yaml": "1024m"})
			both, errBoth := heap(map[string]string{"flink-conf.yaml": "1024m", "config.yaml": "1280m"})
			t.Logf("flink %s: flink-conf.yaml only: %s %v; config.yaml only: %s %v; both (1024m/1280m): %s %v",
				v, onlyLegacy, firstLine(errLegacy), onlyNew, firstLine(errNew), both, firstLine(errBoth))

			switch {
			case d.Major == 1 && d.Minor < 19:
				// 1.18 knows only flink-conf.yaml: config.yaml alone is an error (the
				// operator writes both files).
				if errNew == nil || !strings.Contains(errNew.Error(), "flink-conf.yaml") {
					t.Errorf("1.18: want an error about the missing flink-conf.yaml, got %s %v", onlyNew, errNew)
				}
				if errLegacy != nil || errBoth != nil || onlyLegacy != heap1024 || both != heap1024 {
					t.Errorf("1.18: want flink-conf.yaml read, got %s %v / %s %v", onlyLegacy, errLegacy, both, errBoth)
				}
				return
			case errNew != nil || onlyNew != heap1024:
				t.Errorf("config.yaml not read: %s %v", onlyNew, errNew)
			}
			switch d.Major {
			case 1:
				// 1.19/1.20: the legacy file is read, and wins over config.yaml.
				if errLegacy != nil || errBoth != nil || onlyLegacy != heap1024 || both != heap1024 {
					t.Errorf("1.x: want flink-conf.yaml read and preferred, got %s %v / %s %v", onlyLegacy, errLegacy, both, errBoth)
				}
			default:
				// 2.x: flink-conf.yaml alone is an error (config.yaml
				// missing); next to config.yaml it is ignored.
				if errLegacy == nil || !strings.Contains(errLegacy.Error(), "config.yaml") {
					t.Errorf("2.x: want an error about the missing config.yaml, got %s %v", onlyLegacy, errLegacy)
				}
				if errBoth != nil || both != heap1280 {
					t.Errorf("2.x: want flink-conf.yaml ignored, got %s %v", both, errBoth)
				}
			}
			if got, want := d.ConfigFileName(), map[int]string{1: "flink-conf.yaml", 2: "config.yaml"}[d.Major]; got != want {
				t.Errorf("ConfigFileName() = %s, want %s", got, want)
			}
		})
	}
}
