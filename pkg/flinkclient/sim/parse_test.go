package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRunCommand(t *testing.T) {
	const id = "A5E0EDD8E66B53F1B89C2041F91B8FD2"
	tests := []struct {
		name string
		args []string
		want RunCommand
	}{
		{"minimal", []string{"flink", "run", "job.jar"}, RunCommand{JarFile: "job.jar"}},
		{"an application JobManager's entry point", []string{
			"/opt/flink/bin/standalone-job.sh", "start-foreground", "--job-classname", "org.example.Main", "--job-id", id,
			"--jars", "local:///opt/job.jar", "-Dparallelism.default=4", "--fromSavepoint", "/sp/1", "--allowNonRestoredState",
			"--", "--in", "x",
		}, RunCommand{
			Detached: true, Parallelism: 4, FromSavepoint: "/sp/1", AllowNonRestoredState: true, Class: "org.example.Main",
			Properties: map[string]string{PropJobID: id, "parallelism.default": "4"}, JobID: "a5e0edd8e66b53f1b89c2041f91b8fd2",
			JarFile: "/opt/job.jar", ProgramArgs: []string{"--in", "x"},
		}},
		{"short options with separate values", []string{
			"/opt/flink/bin/flink", "run", "-d", "-m", "jm:8081", "-p", "4", "-s", "s3://b/sp-1", "-n",
			"-c", "org.example.Main", "-t", "remote", "-D", PropJobID + "=" + id, "local:///opt/job.jar", "--in", "x",
		}, RunCommand{
			Detached: true, JobManager: "jm:8081", Parallelism: 4, FromSavepoint: "s3://b/sp-1",
			AllowNonRestoredState: true, Class: "org.example.Main", Target: "remote",
			Properties: map[string]string{PropJobID: id}, JobID: "a5e0edd8e66b53f1b89c2041f91b8fd2",
			JarFile: "local:///opt/job.jar", ProgramArgs: []string{"--in", "x"},
		}},
		{"long options, = forms and attached values", []string{
			"flink", "run", "--detached", "--jobmanager=jm:8081", "--parallelism", "3", "--fromSavepoint=/sp",
			"--allowNonRestoredState", "--class", "Main", "--target", "remote",
			"-D" + PropJobID + "=" + id, "-Dpipeline.name=a=b", "-p8", "job.jar", "-p", "9",
		}, RunCommand{
			Detached: true, JobManager: "jm:8081", Parallelism: 8, FromSavepoint: "/sp", AllowNonRestoredState: true,
			Class: "Main", Target: "remote", JobID: "a5e0edd8e66b53f1b89c2041f91b8fd2",
			Properties: map[string]string{PropJobID: id, "pipeline.name": "a=b"},
			JarFile:    "job.jar", ProgramArgs: []string{"-p", "9"},
		}},
		{"properties with CLI equivalents", []string{
			"flink", "run", "-Dparallelism.default=5", "-Dexecution.savepoint.path=/sp/x",
			"-Dexecution.savepoint.ignore-unclaimed-state=true", "-Dexecution.checkpointing.interval=10s", "job.jar",
		}, RunCommand{
			Parallelism: 5, FromSavepoint: "/sp/x", AllowNonRestoredState: true, JarFile: "job.jar",
			Properties: map[string]string{"parallelism.default": "5", "execution.savepoint.path": "/sp/x",
				"execution.savepoint.ignore-unclaimed-state": "true", "execution.checkpointing.interval": "10s"},
		}},
		{"explicit option wins over property", []string{"flink", "run", "-p", "2", "-Dparallelism.default=5", "j.jar"},
			RunCommand{Parallelism: 2, JarFile: "j.jar", Properties: map[string]string{"parallelism.default": "5"}}},
		{"restore mode, classpath, jarfile option", []string{
			"flink", "run", "-rm", "CLAIM", "-C", "file:///a.jar", "--classpath", "file:///b.jar", "-sae", "-j", "job.jar", "arg",
		}, RunCommand{RestoreMode: "CLAIM", Classpaths: []string{"file:///a.jar", "file:///b.jar"}, JarFile: "job.jar",
			ProgramArgs: []string{"arg"}}},
		{"entrypoint and exec prefixes", []string{"/docker-entrypoint.sh", "exec", "flink", "run", "j.jar"}, RunCommand{JarFile: "j.jar"}},
		{"sh -c script", []string{"/bin/sh", "-c", `flink run -d '-D$internal.pipeline.job-id=` + id + `' -p 2 "/opt/my job.jar" a\ b`},
			RunCommand{Detached: true, Parallelism: 2, JobID: "a5e0edd8e66b53f1b89c2041f91b8fd2",
				Properties: map[string]string{PropJobID: id}, JarFile: "/opt/my job.jar", ProgramArgs: []string{"a b"}}},
		{"end of options", []string{"flink", "run", "-d", "--", "-weird.jar", "-x"},
			RunCommand{Detached: true, JarFile: "-weird.jar", ProgramArgs: []string{"-x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRunCommand(tt.args)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseRunCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"empty", nil, "want \"flink run"},
		{"not flink", []string{"java", "-jar", "x.jar"}, "want \"flink run"},
		{"other action", []string{"flink", "cancel", "abc"}, "want \"flink run"},
		{"no jar", []string{"flink", "run", "-d"}, "no JAR"},
		{"unknown short option", []string{"flink", "run", "-x", "j.jar"}, "unknown option -x"},
		{"unknown long option", []string{"flink", "run", "--yarn", "j.jar"}, "unknown option --yarn"},
		{"-q does not exist in 1.20 and 2.x", []string{"flink", "run", "-q", "j.jar"}, "-q is not a flink run option"},
		{"--sysoutLogging neither", []string{"flink", "run", "--sysoutLogging", "j.jar"}, "not a flink run option"},
		{"missing value", []string{"flink", "run", "j.jar", "-p"}, ""}, // -p after the JAR is a program arg: ok
		{"missing value before jar", []string{"flink", "run", "-p"}, "needs a value"},
		{"flag with value", []string{"flink", "run", "--detached=true", "j.jar"}, "takes no value"},
		{"bad parallelism", []string{"flink", "run", "-p", "zero", "j.jar"}, "parallelism"},
		{"zero parallelism", []string{"flink", "run", "-p", "0", "j.jar"}, "parallelism"},
		{"bad property", []string{"flink", "run", "-D", "novalue", "j.jar"}, "key=value"},
		{"bad job id", []string{"flink", "run", "-D" + PropJobID + "=xyz", "j.jar"}, "32 hexadecimal"},
		{"bad checkpoint interval", []string{"flink", "run", "-Dexecution.checkpointing.interval=soon", "j.jar"}, "duration"},
		{"shell pipes", []string{"sh", "-c", "flink run j.jar | tee log"}, "shell syntax"},
		{"shell expansion", []string{"sh", "-c", "flink run -D$internal.pipeline.job-id=1 j.jar"}, "shell syntax"},
		{"unterminated quote", []string{"bash", "-c", "flink run 'j.jar"}, "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRunCommand(tt.args)
			if tt.msg == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBadCommand)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestParseFlinkDuration(t *testing.T) {
	for in, want := range map[string]int64{"500": 500, "10s": 10_000, "10 s": 10_000, "1min": 60_000, "2 h": 7_200_000, "1d": 86_400_000, "250ms": 250} {
		got, err := parseFlinkDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "s", "10 weeks", "99999999999999999999"} {
		_, err := parseFlinkDuration(in)
		assert.Error(t, err, in)
	}
}
