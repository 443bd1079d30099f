package sim

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// Configuration keys the simulator reads from -D properties.
const (
	// PropJobID is how a fixed job ID is passed to `flink run`
	// (PipelineOptionsInternal.PIPELINE_FIXED_JOB_ID).
	PropJobID                 = "$internal.pipeline.job-id"
	propParallelism           = "parallelism.default"
	propSavepointPath         = "execution.savepoint.path"
	propIgnoreUnclaimed       = "execution.savepoint.ignore-unclaimed-state"
	propPipelineName          = "pipeline.name"
	propMaxParallelism        = "pipeline.max-parallelism"
	propRuntimeMode           = "execution.runtime-mode"
	propCheckpointInterval    = "execution.checkpointing.interval"
	propCheckpointDir         = "execution.checkpointing.dir"
	propCheckpointDirOld      = "state.checkpoints.dir"
	propNumRetained           = "execution.checkpointing.num-retained"
	propNumRetainedOld        = "state.checkpoints.num-retained"
	propRetention             = "execution.checkpointing.externalized-checkpoint-retention"
	defaultJobName            = "Flink Streaming Job"
	defaultParallelism        = 1
	maxSimulatedParallelism   = 1 << 16
	maxCheckpointIntervalDays = 365
)

// ErrBadCommand is wrapped by every error of ParseRunCommand.
var ErrBadCommand = errors.New("unsupported flink run command line")

// RunCommand is a parsed `flink run` command line.
type RunCommand struct {
	// Detached is -d/--detached (recorded; the simulator always returns at
	// once).
	Detached bool
	// JobManager is -m/--jobmanager host:port (recorded, not used).
	JobManager string
	// Target is -t/--target (recorded, not used).
	Target string
	// Properties are the -D key=value pairs, in the order given (a repeated
	// key keeps the last value).
	Properties map[string]string
	// JobID is the fixed job ID from -D$internal.pipeline.job-id, lower-cased;
	// empty if none was given.
	JobID string
	// Parallelism is -p/--parallelism, else -Dparallelism.default, else 0.
	Parallelism int
	// FromSavepoint is -s/--fromSavepoint, else -Dexecution.savepoint.path.
	FromSavepoint string
	// AllowNonRestoredState is -n/--allowNonRestoredState (or
	// -Dexecution.savepoint.ignore-unclaimed-state=true).
	AllowNonRestoredState bool
	// RestoreMode is -rm/--restoreMode or -cm/--claimMode (recorded).
	RestoreMode string
	// Class is -c/--class.
	Class string
	// Classpaths are the -C/--classpath URLs.
	Classpaths []string
	// JarFile is the program JAR (the first positional argument, or
	// -j/--jarfile).
	JarFile string
	// ProgramArgs follow the JAR.
	ProgramArgs []string
}

// option describes one `flink run` option.
type option struct {
	short, long string
	hasArg      bool
	apply       func(c *RunCommand, v string) error
}

func set(f func(c *RunCommand, v string)) func(*RunCommand, string) error {
	return func(c *RunCommand, v string) error { f(c, v); return nil }
}

var runOptions = []option{
	{"d", "detached", false, set(func(c *RunCommand, _ string) { c.Detached = true })},
	{"m", "jobmanager", true, set(func(c *RunCommand, v string) { c.JobManager = v })},
	{"t", "target", true, set(func(c *RunCommand, v string) { c.Target = v })},
	{"e", "executor", true, set(func(c *RunCommand, v string) { c.Target = v })},
	{"p", "parallelism", true, func(c *RunCommand, v string) error {
		n, err := parsePositive("parallelism", v)
		c.Parallelism = n
		return err
	}},
	{"s", "fromSavepoint", true, set(func(c *RunCommand, v string) { c.FromSavepoint = v })},
	{"n", "allowNonRestoredState", false, set(func(c *RunCommand, _ string) { c.AllowNonRestoredState = true })},
	{"rm", "restoreMode", true, set(func(c *RunCommand, v string) { c.RestoreMode = v })},
	{"cm", "claimMode", true, set(func(c *RunCommand, v string) { c.RestoreMode = v })},
	{"c", "class", true, set(func(c *RunCommand, v string) { c.Class = v })},
	{"C", "classpath", true, set(func(c *RunCommand, v string) { c.Classpaths = append(c.Classpaths, v) })},
	{"j", "jarfile", true, set(func(c *RunCommand, v string) { c.JarFile = v })},
	{"sae", "shutdownOnAttachedExit", false, set(func(*RunCommand, string) {})},
	{"D", "", true, func(c *RunCommand, v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return fmt.Errorf("-D %q: want key=value", v)
		}
		if c.Properties == nil {
			c.Properties = map[string]string{}
		}
		c.Properties[k] = val
		return nil
	}},
}

func parsePositive(what, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > maxSimulatedParallelism {
		return 0, fmt.Errorf("%s %q: want an integer in [1, %d]", what, v, maxSimulatedParallelism)
	}
	return n, nil
}

func findOption(name string, long bool) *option {
	for i := range runOptions {
		o := &runOptions[i]
		if long && o.long != "" && o.long == name || !long && o.short == name {
			return o
		}
	}
	return nil
}

// ParseRunCommand parses the command line of a job submitter container, or
// of an application-mode JobManager (see parseApplication):
// `flink run [options] <jar> [program args...]`, where the first word may
// be any path ending in "flink" (e.g. /opt/flink/bin/flink). A leading
// "/docker-entrypoint.sh" or "exec" is skipped, and `sh -c '...'` /
// `bash -c '...'` is split into words (quotes and backslashes only, no
// expansions). Options take the forms -x v, -xv, --long v and --long=v;
// properties -Dkey=value and -D key=value. Options are only recognised
// before the JAR; everything after it is a program argument. Any other
// option, or a missing JAR, is an error wrapping ErrBadCommand.
func ParseRunCommand(args []string) (RunCommand, error) {
	var c RunCommand
	words, err := unwrapShell(args)
	if err != nil {
		return c, err
	}
	for len(words) > 0 && (words[0] == "exec" || path.Base(words[0]) == "docker-entrypoint.sh") {
		words = words[1:]
	}
	if len(words) >= 2 && path.Base(words[0]) == "standalone-job.sh" && words[1] == "start-foreground" {
		return parseApplication(words[2:])
	}
	if len(words) < 2 || path.Base(words[0]) != "flink" || words[1] != "run" {
		return c, fmt.Errorf("%w: want \"flink run ...\", got %q", ErrBadCommand, strings.Join(args, " "))
	}
	words = words[2:]
	endOfOptions := false
	for len(words) > 0 {
		w := words[0]
		words = words[1:]
		if w == "--" && !endOfOptions && c.JarFile == "" {
			endOfOptions = true
			continue
		}
		if endOfOptions || c.JarFile != "" || w == "" || w == "-" || w[0] != '-' {
			if c.JarFile == "" {
				c.JarFile = w
			} else {
				c.ProgramArgs = append(c.ProgramArgs, w)
			}
			continue
		}
		opt, value, hasValue, err := lookupOption(w)
		if err != nil {
			return RunCommand{}, err
		}
		if opt.hasArg && !hasValue {
			if len(words) == 0 {
				return RunCommand{}, fmt.Errorf("%w: option %s needs a value", ErrBadCommand, w)
			}
			value, words = words[0], words[1:]
		}
		if !opt.hasArg && hasValue {
			return RunCommand{}, fmt.Errorf("%w: option %s takes no value", ErrBadCommand, w)
		}
		if err := opt.apply(&c, value); err != nil {
			return RunCommand{}, fmt.Errorf("%w: %v", ErrBadCommand, err)
		}
	}
	if c.JarFile == "" {
		return RunCommand{}, fmt.Errorf("%w: no JAR file given", ErrBadCommand)
	}
	if err := c.applyProperties(); err != nil {
		return RunCommand{}, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	return c, nil
}

// lookupOption resolves one option word: "--long", "--long=v", "-x",
// "-xVALUE" (for options with a value) or an exact multi-letter short
// option such as "-sae".
func lookupOption(w string) (*option, string, bool, error) {
	if w == "-q" || w == "--sysoutLogging" {
		// Verified on 1.20.5 and 2.3.0: the CLI takes it for the JAR path
		// and fails with "JAR file does not exist: -q".
		return nil, "", false, fmt.Errorf("%w: %s is not a flink run option in Flink 1.20 or 2.x "+
			"(the CLI takes it for the JAR path and fails)", ErrBadCommand, w)
	}
	if strings.HasPrefix(w, "--") {
		name, value, hasValue := strings.Cut(w[2:], "=")
		if o := findOption(name, true); o != nil {
			return o, value, hasValue, nil
		}
		return nil, "", false, fmt.Errorf("%w: unknown option %s", ErrBadCommand, w)
	}
	name := w[1:]
	if o := findOption(name, false); o != nil {
		return o, "", false, nil
	}
	if o := findOption(name[:1], false); o != nil && o.hasArg {
		return o, name[1:], true, nil
	}
	return nil, "", false, fmt.Errorf("%w: unknown option %s", ErrBadCommand, w)
}

// applyProperties folds the -D properties that have a CLI equivalent into
// the typed fields (an explicit option wins) and validates the job ID.
func (c *RunCommand) applyProperties() error {
	p := c.Properties
	if id, ok := p[PropJobID]; ok {
		if !flinkclient.IsValidID(id) {
			return fmt.Errorf("-D%s=%q: a job ID is 32 hexadecimal characters", PropJobID, id)
		}
		c.JobID = strings.ToLower(id)
	}
	if v, ok := p[propParallelism]; ok && c.Parallelism == 0 {
		n, err := parsePositive(propParallelism, v)
		if err != nil {
			return err
		}
		c.Parallelism = n
	}
	if v, ok := p[propSavepointPath]; ok && c.FromSavepoint == "" {
		c.FromSavepoint = v
	}
	if v, ok := p[propIgnoreUnclaimed]; ok && strings.EqualFold(v, "true") {
		c.AllowNonRestoredState = true
	}
	if v, ok := p[propCheckpointInterval]; ok {
		if _, err := parseFlinkDuration(v); err != nil {
			return fmt.Errorf("-D%s=%q: %v", propCheckpointInterval, v, err)
		}
	}
	return nil
}

// parseFlinkDuration parses Flink's duration syntax: a number with an
// optional unit (ms, s, min, h, d and their long forms), spaces allowed
// between; a bare number is milliseconds.
func parseFlinkDuration(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 15 {
		return 0, errors.New("want a duration such as 10s, 500 ms or 1min")
	}
	n, _ := strconv.ParseInt(s[:i], 10, 64)
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	var ms int64
	switch unit {
	case "", "ms", "milli", "millis", "millisecond", "milliseconds":
		ms = 1
	case "s", "sec", "secs", "second", "seconds":
		ms = 1000
	case "m", "min", "mins", "minute", "minutes":
		ms = 60_000
	case "h", "hour", "hours":
		ms = 3_600_000
	case "d", "day", "days":
		ms = 86_400_000
	default:
		return 0, fmt.Errorf("unknown time unit %q", unit)
	}
	if n > maxCheckpointIntervalDays*86_400_000/ms {
		return 0, errors.New("duration too large")
	}
	return n * ms, nil
}

// unwrapShell turns ["sh", "-c", "flink run ..."] into the words of the
// script; any other command line is returned as is.
func unwrapShell(args []string) ([]string, error) {
	if len(args) >= 3 && (path.Base(args[0]) == "sh" || path.Base(args[0]) == "bash") && args[1] == "-c" {
		return splitWords(args[2])
	}
	return args, nil
}

// splitWords splits a shell script made of one simple command into words,
// honouring single and double quotes and backslash escapes. Anything that
// needs a real shell (pipes, ;, &&, $, backticks, redirections) is rejected.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated ' in %q", ErrBadCommand, s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				} else if s[i] == '$' || s[i] == '`' {
					return nil, fmt.Errorf("%w: shell expansion in %q is not simulated", ErrBadCommand, s)
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("%w: unterminated \" in %q", ErrBadCommand, s)
			}
			inWord = true
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`*?", ch) >= 0:
			return nil, fmt.Errorf("%w: shell syntax %q in %q is not simulated", ErrBadCommand, ch, s)
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// parseApplication parses the options of Flink's standalone application
// entry point (`standalone-job.sh start-foreground ...`): --job-classname,
// --job-id, --jars (a local:// URI is its path), --fromSavepoint,
// --allowNonRestoredState and -D properties, then the program arguments
// after "--" (or from the first word that is no option).
func parseApplication(words []string) (RunCommand, error) {
	c := RunCommand{Detached: true, Properties: map[string]string{}}
	valued := map[string]func(string){
		"--job-classname": func(v string) { c.Class = v },
		"--job-id":        func(v string) { c.Properties[PropJobID] = v },
		"--jars":          func(v string) { c.JarFile = strings.TrimPrefix(v, "local://") },
		"--fromSavepoint": func(v string) { c.FromSavepoint = v },
	}
	for len(words) > 0 {
		w := words[0]
		words = words[1:]
		switch {
		case w == "--":
			c.ProgramArgs, words = append(c.ProgramArgs, words...), nil
		case w == "--allowNonRestoredState":
			c.AllowNonRestoredState = true
		case strings.HasPrefix(w, "-D"):
			k, v, ok := strings.Cut(strings.TrimPrefix(w, "-D"), "=")
			if !ok || k == "" {
				return RunCommand{}, fmt.Errorf("%w: %s: want -Dkey=value", ErrBadCommand, w)
			}
			c.Properties[k] = v
		case valued[w] != nil:
			if len(words) == 0 {
				return RunCommand{}, fmt.Errorf("%w: option %s needs a value", ErrBadCommand, w)
			}
			valued[w](words[0])
			words = words[1:]
		case strings.HasPrefix(w, "-"):
			return RunCommand{}, fmt.Errorf("%w: unknown option %s of the application entry point", ErrBadCommand, w)
		default:
			c.ProgramArgs, words = append(append(c.ProgramArgs, w), words...), nil
		}
	}
	if c.JarFile == "" || c.Class == "" {
		return RunCommand{}, fmt.Errorf("%w: an application needs --jars and --job-classname", ErrBadCommand)
	}
	if err := c.applyProperties(); err != nil {
		return RunCommand{}, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	return c, nil
}
