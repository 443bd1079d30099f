package desired

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// Paths inside the Flink containers.
const (
	// ConfDir is where the ConfigMap is mounted; FLINK_CONF_DIR points there, so Flink reads
	// exactly what the operator wrote (the image's entrypoint, which rewrites conf/, is bypassed).
	ConfDir   = "/opt/flink-operator/conf"
	flinkHome = "/opt/flink"
)

// ConfigMap keys.
const (
	FlinkConfV1Key = "flink-conf.yaml" // read by Flink 1.x
	FlinkConfV2Key = "config.yaml"     // read by Flink 2.x
	Log4jKey       = "log4j-console.properties"
	Log4jCLIKey    = "log4j-cli.properties" // the flink CLI's logging, used by the submitter
)

// OperatorOwnedKeys are the Flink configuration keys the operator sets from the spec. The CRD
// rejects them in flinkProperties: the Services and containers are built from the same values,
// so a different value there would make the cluster unreachable.
var OperatorOwnedKeys = []string{
	"jobmanager.rpc.address", "jobmanager.rpc.port", "blob.server.port", "rest.port",
	"rest.address", "taskmanager.rpc.port", "taskmanager.data.port", JobIDOption,
	AsyncOperationStoreKey,
	// Where the processes listen: another host or port there makes the cluster unreachable.
	"jobmanager.bind-host", "taskmanager.bind-host", "rest.bind-address", "rest.bind-port",
	"jobmanager.rpc.bind-port", "taskmanager.rpc.bind-port", "taskmanager.data.bind-port",
}

// AsyncOperationStoreKey is how long Flink's REST API keeps the result of an asynchronous
// operation (a savepoint, a stop) after it ends; Flink's default is 5 minutes. A stop's result
// must outlive any wait of the operator's (the savepoint timeout, an operator restart), so a
// job cluster gets AsyncOperationStoreDuration and the operator refuses a longer
// --savepoint-timeout.
const AsyncOperationStoreKey = "rest.async.store-duration"

// AsyncOperationStoreDuration is the value of AsyncOperationStoreKey on job clusters.
const AsyncOperationStoreDuration = time.Hour

// flinkConfig renders the Flink configuration: the operator's keys, then flinkProperties, which
// win for every key the operator does not own.
func flinkConfig(fc *v1beta1.FlinkCluster, jmMemoryMi, tmMemoryMi int64) map[string]string {
	jm, tm := fc.Spec.JobManager, fc.Spec.TaskManager
	version := clusterFlinkVersion(fc)
	conf := map[string]string{
		"jobmanager.rpc.address": names.JobManagerService(fc.Name),
		"jobmanager.rpc.port":    port(jm.Ports.RPC, 6123),
		"blob.server.port":       port(jm.Ports.Blob, 6124),
		"rest.address":           names.JobManagerService(fc.Name),
		"rest.port":              port(jm.Ports.UI, 8081),
		"taskmanager.rpc.port":   port(tm.Ports.RPC, 6122),
		"taskmanager.data.port":  port(tm.Ports.Data, 6121),
		// Flink's shipped configuration binds to localhost; in a pod the Services must reach it.
		"jobmanager.bind-host":  "0.0.0.0",
		"rest.bind-address":     "0.0.0.0",
		"taskmanager.bind-host": "0.0.0.0",
	}
	if version.hasProcessMemory() {
		conf["jobmanager.memory.process.size"] = fmt.Sprintf("%dm", jmMemoryMi)
		conf["taskmanager.memory.process.size"] = fmt.Sprintf("%dm", tmMemoryMi)
	} else {
		conf["jobmanager.heap.size"] = fmt.Sprintf("%dm", jmMemoryMi)
		conf["taskmanager.heap.size"] = fmt.Sprintf("%dm", tmMemoryMi)
	}
	if version.needsModuleOptions(fc.Spec.Image.Name) {
		conf[DefaultJVMOptionsKey] = jdkModuleOptions
	}
	if fc.Spec.Job != nil {
		conf[AsyncOperationStoreKey] = fmt.Sprintf("%ds", int64(AsyncOperationStoreDuration/time.Second))
	}
	if fc.Spec.Job != nil && fc.Spec.Job.SavepointsDir != nil {
		conf["state.savepoints.dir"] = *fc.Spec.Job.SavepointsDir
	}
	if jm.RESTTLS != nil {
		conf[SSLAlgorithmsKey] = RESTTLSCipherSuites
	}
	for k, v := range fc.Spec.FlinkProperties {
		if !isOperatorOwned(k) && !isHAOwned(fc, k) {
			conf[k] = string(v)
		}
	}
	if version.needsModuleOptionsInJavaOpts(fc.Spec.Image.Name) {
		// Flink 1.18 has no env.java.default-opts.all: its image's own flink-conf.yaml carries
		// the flags in env.java.opts.all, which the operator's configuration replaces. They go
		// first, and a user's env.java.opts.all after them.
		conf[JVMOptionsKey] = strings.TrimSpace(jdkModuleOptions + " " + conf[JVMOptionsKey])
	}
	if fc.Spec.Job.ApplicationMode() {
		for k, v := range applicationKeys {
			conf[k] = v
		}
	}
	haConfig(fc, conf)
	return conf
}

// DefaultJVMOptionsKey holds the JVM options Flink's scripts give every Flink process before
// env.java.opts.all (Flink 1.19+).
const DefaultJVMOptionsKey = "env.java.default-opts.all"

// JVMOptionsKey holds the JVM options of every Flink process; on Flink 1.18 the module options go
// here.
const JVMOptionsKey = "env.java.opts.all"

// jdkModuleOptions are the flags that Flink's own default configuration (env.java.opts.all in the
// config.yaml inside flink-dist) passes to every JVM so that Flink may reach into JDK internals on
// Java 17 and later. FLINK_CONF_DIR points at the operator's ConfigMap, so the image's defaults
// are never read: without these, `flink run` of a Flink 2.x image on Java 17 fails with "module
// java.base does not opens java.util" (found by the end-to-end tests). They go into
// env.java.default-opts.all, Flink's key for administrator defaults, so that a user's
// env.java.opts.all in flinkProperties adds to them instead of replacing them; a user may still
// override the key itself.
const jdkModuleOptions = "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED" +
	" --add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED" +
	" --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED" +
	" --add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED" +
	" --add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED" +
	" --add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED" +
	" --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED" +
	" --add-opens=java.base/java.lang=ALL-UNNAMED" +
	" --add-opens=java.base/java.net=ALL-UNNAMED" +
	" --add-opens=java.base/java.io=ALL-UNNAMED" +
	" --add-opens=java.base/java.nio=ALL-UNNAMED" +
	" --add-opens=java.base/sun.nio.ch=ALL-UNNAMED" +
	" --add-opens=java.base/java.lang.reflect=ALL-UNNAMED" +
	" --add-opens=java.base/java.text=ALL-UNNAMED" +
	" --add-opens=java.base/java.time=ALL-UNNAMED" +
	" --add-opens=java.base/java.util=ALL-UNNAMED" +
	" --add-opens=java.base/java.util.concurrent=ALL-UNNAMED" +
	" --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED" +
	" --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED"

// plainKey is what a Flink configuration key looks like; the CRD rejects other keys too (this
// also covers FlinkClusters stored before that rule).
var plainKey = regexp.MustCompile(`^[a-zA-Z0-9][-._a-zA-Z0-9]*$`)

// checkFlinkProperties refuses what Flink's parsers would not read back as written: a key that
// is not plain, a value with a line break (it would start another key), and, for Flink 1.x,
// whose flink-conf.yaml parser cuts each line at the first '#' and trims the value with no way
// to escape either, a value with '#' or surrounding whitespace. An image whose tag does not name
// its version may be 1.x, so it is held to the 1.x rule until spec.flinkVersion says otherwise.
func checkFlinkProperties(fc *v1beta1.FlinkCluster) error {
	keys := make([]string, 0, len(fc.Spec.FlinkProperties))
	for k := range fc.Spec.FlinkProperties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	legacy := clusterFlinkVersion(fc).major < 2
	for _, k := range keys {
		v := string(fc.Spec.FlinkProperties[k])
		field := fmt.Sprintf("spec.flinkProperties[%q]", k)
		switch {
		case !plainKey.MatchString(k):
			return fmt.Errorf("%s: a key must be a plain Flink key (letters, digits, '.', '-', '_')", field)
		case strings.ContainsAny(v, "\r\n"):
			return fmt.Errorf("%s: a value must be a single line", field)
		case legacy && strings.Contains(v, "#"):
			return fmt.Errorf("%s: Flink 1.x reads flink-conf.yaml, which ends a value at '#' with no escape; "+
				"remove the '#' (or set spec.flinkVersion if the image runs Flink 2)", field)
		case legacy && strings.TrimSpace(v) != v:
			return fmt.Errorf("%s: Flink 1.x reads flink-conf.yaml, which trims spaces around a value; "+
				"remove them (or set spec.flinkVersion if the image runs Flink 2)", field)
		}
	}
	return nil
}

// MaxConfigMapData is how much the cluster's ConfigMap may hold: the API server refuses objects
// over 1 MiB (etcd's request limit), and the metadata needs some room.
const MaxConfigMapData = 1000 * 1024

// checkConfigMapSize refuses a spec whose ConfigMap the API server would refuse, naming the field
// that fills it most: a logConfig file, or flinkProperties (which is in it twice, once per Flink
// configuration file).
func checkConfigMapSize(fc *v1beta1.FlinkCluster, cm *corev1.ConfigMap) error {
	total := 0
	for _, v := range cm.Data {
		total += len(v)
	}
	if total <= MaxConfigMapData {
		return nil
	}
	field, size := "spec.flinkProperties", 0
	for k, v := range fc.Spec.FlinkProperties {
		size += 2 * (len(k) + len(v))
	}
	for name, content := range fc.Spec.LogConfig {
		if len(content) > size {
			field, size = fmt.Sprintf("spec.logConfig[%q]", name), len(content)
		}
	}
	return fmt.Errorf("%s is too large: the cluster's ConfigMap would hold %d bytes, more than the %d the API server accepts (%s takes %d)",
		field, total, MaxConfigMapData, field, size)
}

func isOperatorOwned(key string) bool {
	for _, k := range OperatorOwnedKeys {
		if k == key {
			return true
		}
	}
	return false
}

func port(p *int32, def int32) string {
	return strconv.Itoa(int(deref(p, def)))
}

// renderFlat writes the configuration as flat `key: value` lines, sorted so the ConfigMap (and
// its hash) is stable. Both flink-conf.yaml (1.x) and config.yaml (2.x, standard YAML) accept
// flat keys; values are quoted as YAML strings where YAML would otherwise change them.
func renderFlat(conf map[string]string) string {
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, conf[k])
	}
	return b.String()
}

// renderYAML writes config.yaml for Flink 2.x, whose parser is standard YAML: every value is a
// double-quoted string, which Flink converts to the option's type.
func renderYAML(conf map[string]string) string {
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, yamlQuote(conf[k]))
	}
	return b.String()
}

// yamlQuote writes s as a YAML double-quoted scalar that any YAML 1.1 or 1.2 parser reads back
// as s: backslash, quote, control characters and the characters YAML 1.1 takes for line breaks
// (NEL, LS, PS) are escaped; everything else is written as it is. (Go's strconv.Quote is close,
// but writes invalid UTF-8 as byte escapes, which YAML reads as code points.)
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || r == 0x85:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == 0x2028 || r == 0x2029 || r == 0xfeff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// defaultLog4j logs to the console, which is what `kubectl logs` shows.
const defaultLog4j = `rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
logger.akka.name = akka
logger.akka.level = INFO
logger.pekko.name = org.apache.pekko
logger.pekko.level = INFO
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = WARN
logger.zookeeper.name = org.apache.zookeeper
logger.zookeeper.level = INFO
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = OFF
`

// cliLog4j is the submitter's logging: to the console, or nothing with noLoggingToStdout.
func cliLog4j(fc *v1beta1.FlinkCluster) string {
	level := "INFO"
	if fc.Spec.Job != nil && deref(fc.Spec.Job.NoLoggingToStdout, false) {
		level = "OFF"
	}
	return "rootLogger.level = " + level + `
rootLogger.appenderRef.console.ref = ConsoleAppender
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
`
}
