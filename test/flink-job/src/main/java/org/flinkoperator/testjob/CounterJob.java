package org.flinkoperator.testjob;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.PrintSink;
import org.apache.flink.util.Collector;

/**
 * A keyed counter over a generated stream: record i has key "k" + (i % keys);
 * a ValueState per key counts the records seen. Every record produces the line
 * "COUNT key=k3 count=127", printed to stdout and appended to --out, so a test
 * can read the job's state back (and see it continue after a restore).
 *
 * <pre>
 * --name NAME          job name (default "counter")
 * --rate N             records per second over all sources (default 20)
 * --keys N             number of distinct keys (default 4)
 * --out FILE           also append the COUNT lines to FILE
 * --fail-after N       throw after a subtask processed N records (in each attempt)
 * --restarts N         with --fail-after: restart N times (fixed delay), then fail
 * --bounded N          batch mode: process N records, then finish
 * --checkpoint-ms N    enable checkpointing every N ms (default: disabled)
 * --checkpoint-retention R  set execution.checkpointing.externalized-checkpoint-retention
 *                      in the job's code (RETAIN_ON_CANCELLATION, DELETE_ON_CANCELLATION,
 *                      NO_EXTERNALIZED_CHECKPOINTS), overriding the cluster's configuration
 * </pre>
 *
 * Compiles against Flink 1.20 and 2.x (only APIs present in both).
 */
public class CounterJob {

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = parse(argv);
        String name = args.getOrDefault("name", "counter");
        double rate = Double.parseDouble(args.getOrDefault("rate", "20"));
        int keys = Integer.parseInt(args.getOrDefault("keys", "4"));
        String out = args.getOrDefault("out", "");
        long failAfter = Long.parseLong(args.getOrDefault("fail-after", "-1"));
        int restarts = Integer.parseInt(args.getOrDefault("restarts", "0"));
        long bounded = Long.parseLong(args.getOrDefault("bounded", "0"));
        long checkpointMs = Long.parseLong(args.getOrDefault("checkpoint-ms", "0"));
        String retention = args.getOrDefault("checkpoint-retention", "");

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        Configuration conf = new Configuration();
        if (failAfter >= 0) {
            conf.set(key("restart-strategy.type"), restarts > 0 ? "fixed-delay" : "none");
            conf.set(key("restart-strategy.fixed-delay.attempts"), Integer.toString(restarts));
            conf.set(key("restart-strategy.fixed-delay.delay"), "200 ms");
        }
        if (!retention.isEmpty()) {
            conf.set(key("execution.checkpointing.externalized-checkpoint-retention"), retention);
        }
        if (!conf.keySet().isEmpty()) {
            env.configure(conf);
        }
        if (checkpointMs > 0) {
            env.enableCheckpointing(checkpointMs);
        }
        long count = Long.MAX_VALUE;
        if (bounded > 0) {
            env.setRuntimeMode(RuntimeExecutionMode.BATCH);
            count = bounded;
        }

        DataGeneratorSource<String> source = new DataGeneratorSource<>(
                i -> "k" + (i % keys), count, RateLimiterStrategy.perSecond(rate), Types.STRING);

        env.fromSource(source, WatermarkStrategy.noWatermarks(), "generator")
                .uid("generator")
                .keyBy(k -> k)
                .process(new Counter(out, failAfter))
                .uid("counter")
                .name("counter")
                .sinkTo(new PrintSink<>())
                .uid("print")
                .name("print");

        env.execute(name);
    }

    /** Counts records per key in a ValueState and reports every new count. */
    static class Counter extends KeyedProcessFunction<String, String, String> {
        private final String out;
        private final long failAfter;
        private transient ValueState<Long> count;
        private transient FileOutputStream file;
        private transient long seen;

        Counter(String out, long failAfter) {
            this.out = out;
            this.failAfter = failAfter;
        }

        // Set up on the first element rather than in open(): open's signature changed between
        // Flink 1.18 (Configuration) and 2.x (OpenContext), and one source builds for both.
        private void setUp() throws IOException {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
            if (!out.isEmpty()) {
                file = new FileOutputStream(out, true);
            }
        }

        @Override
        public void processElement(String key, Context ctx, Collector<String> collector) throws IOException {
            if (count == null) {
                setUp();
            }
            if (failAfter >= 0 && ++seen > failAfter) {
                throw new IllegalStateException("CounterJob: intentional failure after " + failAfter + " records");
            }
            Long c = count.value();
            long next = (c == null ? 0 : c) + 1;
            count.update(next);
            String line = "COUNT key=" + key + " count=" + next;
            if (file != null) {
                // One unbuffered write per line on an O_APPEND stream: lines of
                // parallel subtasks do not interleave.
                file.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            }
            collector.collect(line);
        }

        @Override
        public void close() throws IOException {
            if (file != null) {
                file.close();
            }
        }
    }

    private static ConfigOption<String> key(String k) {
        return ConfigOptions.key(k).stringType().noDefaultValue();
    }

    private static Map<String, String> parse(String[] argv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < argv.length; i++) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
                throw new IllegalArgumentException("expected --key value pairs, got: " + String.join(" ", argv));
            }
            m.put(argv[i].substring(2), argv[++i]);
        }
        return m;
    }
}
