package desired

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

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
}

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
	if fc.Spec.Job != nil && fc.Spec.Job.SavepointsDir != nil {
		conf["state.savepoints.dir"] = *fc.Spec.Job.SavepointsDir
	}
	for k, v := range fc.Spec.FlinkProperties {
		if !isOperatorOwned(k) {
			conf[k] = v
		}
	}
	return conf
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
		fmt.Fprintf(&b, "%s: %s\n", k, strconv.Quote(conf[k]))
	}
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
