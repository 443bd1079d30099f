package desired

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// flinkVersion is the Flink major.minor an image tag names; zero when the tag does not say (a
// custom image), which the builders treat as a current Flink.
type flinkVersion struct{ major, minor int }

// A Flink image tag starts with the version: 1.20, 1.20.1-scala_2.12-java17, 2.1-java21, ...
var versionTag = regexp.MustCompile(`^v?([12])\.(\d+)(?:[.\-_]|$)`)

// clusterFlinkVersion is spec.flinkVersion when set, otherwise the version the image tag names.
func clusterFlinkVersion(fc *v1beta1.FlinkCluster) flinkVersion {
	if fc.Spec.FlinkVersion != "" {
		return parseVersionString(fc.Spec.FlinkVersion)
	}
	return parseFlinkVersion(fc.Spec.Image.Name)
}

// parseFlinkVersion reads the version from the tag of an image reference.
func parseFlinkVersion(image string) flinkVersion {
	return parseVersionString(imageTag(image))
}

// parseVersionString reads major.minor from the start of s (1.20, 1.20.1-java17, v2.1, ...).
func parseVersionString(s string) flinkVersion {
	m := versionTag.FindStringSubmatch(s)
	if m == nil {
		return flinkVersion{}
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return flinkVersion{major, minor}
}

// imageTag returns the tag of an image reference ("" when it has none).
func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	name := image[strings.LastIndexByte(image, '/')+1:]
	_, tag, _ := strings.Cut(name, ":")
	return tag
}

func (v flinkVersion) known() bool { return v.major > 0 }

// hasProcessMemory: Flink 1.10 introduced *.memory.process.size; before it, *.heap.size.
func (v flinkVersion) hasProcessMemory() bool {
	return !v.known() || v.major > 1 || v.minor >= 10
}

// needsModuleOptions: Flink 1.19 introduced env.java.default-opts.all, and its images run on Java
// 11 or newer except the java8 variants, on which --add-opens would stop the JVM from starting.
// A custom image without a version is taken to be a current Flink.
func (v flinkVersion) needsModuleOptions(image string) bool {
	if strings.Contains(imageTag(image), "java8") {
		return false
	}
	return !v.known() || v.major > 1 || v.minor >= 19
}

// OldestSupportedFlink is the oldest Flink the operator is tested with: 1.18, the first release
// for Java 17 (the REST contract suite runs on the newest patch of every minor from it on).
const OldestSupportedFlink = "1.18"

// FlinkVersionSupported reports the cluster's Flink major.minor and whether it is at least
// OldestSupportedFlink; a version neither spec.flinkVersion nor the image tag names counts as
// supported (a custom image is taken to be a current Flink).
func FlinkVersionSupported(fc *v1beta1.FlinkCluster) (string, bool) {
	v := clusterFlinkVersion(fc)
	return FlinkVersion(fc), !v.known() || v.major > 1 || v.minor >= 18
}

// needsModuleOptionsInJavaOpts: Flink 1.18, the first for Java 17, needs the module options too,
// but has only env.java.opts.all to carry them (unless the image runs Java 8).
func (v flinkVersion) needsModuleOptionsInJavaOpts(image string) bool {
	return v.major == 1 && v.minor == 18 && !strings.Contains(imageTag(image), "java8")
}

// FlinkVersion is the Flink major.minor the cluster runs, as spec.flinkVersion or the image tag
// says ("" when neither does).
func FlinkVersion(fc *v1beta1.FlinkCluster) string {
	v := clusterFlinkVersion(fc)
	if !v.known() {
		return ""
	}
	return strconv.Itoa(v.major) + "." + strconv.Itoa(v.minor)
}
