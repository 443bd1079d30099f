//go:build flink

package flinkcluster

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// configDumpSource prints the configuration Flink's own GlobalConfiguration loads from a
// directory, one "CONF <key> <value>" line per entry with key and value in base64, so that any
// byte survives.
const configDumpSource = `import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;

public class ConfigDump {
    public static void main(String[] args) {
        Configuration conf = GlobalConfiguration.loadConfiguration(args[0]);
        Base64.Encoder b64 = Base64.getEncoder();
        for (Map.Entry<String, String> e : new TreeMap<>(conf.toMap()).entrySet()) {
            System.out.println("CONF " + b64.encodeToString(e.getKey().getBytes(StandardCharsets.UTF_8)) + " "
                + b64.encodeToString(e.getValue().getBytes(StandardCharsets.UTF_8)));
        }
    }
}
`

// LoadConfig returns the configuration Flink's own parser (GlobalConfiguration, as every Flink
// process uses it) reads from confDir: flink-conf.yaml's legacy parser for 1.x, config.yaml's
// YAML parser for 2.x. The small Java program is compiled against the distribution each call
// (a second or two).
func (d Dist) LoadConfig(confDir string) (map[string]string, error) {
	dist, err := filepath.Glob(filepath.Join(d.Home, "lib", "flink-dist*.jar"))
	if err != nil || len(dist) != 1 {
		return nil, fmt.Errorf("flink-dist jar in %s/lib: %v %v", d.Home, dist, err)
	}
	classes, err := os.MkdirTemp("", "configdump-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(classes)
	src := filepath.Join(classes, "ConfigDump.java")
	if err := os.WriteFile(src, []byte(configDumpSource), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command("javac", "-cp", dist[0], "-d", classes, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("javac ConfigDump: %v\n%s", err, out)
	}
	classpath := classes + string(os.PathListSeparator) + filepath.Join(d.Home, "lib", "*")
	c := exec.Command("java", "-cp", classpath, "ConfigDump", confDir)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("ConfigDump: %v\n%s", err, stderr.String())
	}
	conf := map[string]string{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "CONF" {
			continue
		}
		k, err1 := base64.StdEncoding.DecodeString(f[1])
		v, err2 := base64.StdEncoding.DecodeString(f[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ConfigDump line %q: %v %v", sc.Text(), err1, err2)
		}
		conf[string(k)] = string(v)
	}
	return conf, sc.Err()
}
