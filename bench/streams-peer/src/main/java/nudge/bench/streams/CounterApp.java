package nudge.bench.streams;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;

/**
 * nudge's reference per-user counter (operators/user-counter.ts) as a Kafka Streams
 * application, for bench/streams-peer.ts. See README.md for the topology and the protocol.
 *
 * stdout carries only JSON lines (one object each, "event" says which) so that the Node
 * side can parse it; Kafka's own logging goes to stderr through slf4j-simple at WARN.
 *
 * Completion is decided outside, by the Node side, from the group's committed offsets:
 * the app runs until told to stop on stdin. Lines it reads:
 *   report  prints {"event":"report",...}: JVM CPU, heap, GC, Streams' own counters
 *   stop    (or end of stdin) closes the streams cleanly and exits 0
 */
public final class CounterApp {
  static final String COUNTS_STORE = "counts";
  static final String CAP_STORE = "cap-window";

  private CounterApp() {}

  /** Command-line options; every name is also what `-h` prints. */
  static final class Options {
    String bootstrap = "127.0.0.1:9092";
    String applicationId = "nudge-streams-peer";
    String stateDir = System.getProperty("java.io.tmpdir") + "/nudge-streams-peer";
    String prefix = "";
    String input;
    String output;
    String guarantee = "exactly_once";
    long commitIntervalMs = 100;
    int threads = 1;
    String capType;
    long capLimit = 3;
    long capWindowMs = Duration.ofHours(24).toMillis();
    String capOutput;
    boolean describe;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (a.equals("-h") || a.equals("--help")) {
          usage(0);
        } else if (a.equals("--describe")) {
          o.describe = true;
          continue;
        }
        if (i + 1 >= args.length) fail("missing value for " + a);
        String v = args[++i];
        switch (a) {
          case "--bootstrap" -> o.bootstrap = v;
          case "--application-id" -> o.applicationId = v;
          case "--state-dir" -> o.stateDir = v;
          case "--prefix" -> o.prefix = v;
          case "--input" -> o.input = v;
          case "--output" -> o.output = v;
          case "--guarantee" -> o.guarantee = v;
          case "--commit-interval-ms" -> o.commitIntervalMs = positive(a, v);
          case "--threads" -> o.threads = (int) positive(a, v);
          case "--cap-type" -> o.capType = v;
          case "--cap-limit" -> o.capLimit = positive(a, v);
          case "--cap-window-ms" -> o.capWindowMs = positive(a, v);
          case "--cap-output" -> o.capOutput = v;
          default -> fail("unknown option " + a);
        }
      }
      if (!o.guarantee.equals("exactly_once") && !o.guarantee.equals("at_least_once")) {
        fail("--guarantee must be exactly_once or at_least_once, got " + o.guarantee);
      }
      // nudge's topic names: <prefix>events in, <prefix>user-counts out.
      if (o.input == null) o.input = o.prefix + "events";
      if (o.output == null) o.output = o.prefix + "user-counts";
      if (o.capOutput == null) o.capOutput = o.prefix + "user-caps";
      return o;
    }

    private static long positive(String name, String v) {
      try {
        long n = Long.parseLong(v);
        if (n > 0) return n;
      } catch (NumberFormatException e) {
        // reported below
      }
      fail(name + " must be a positive integer, got " + v);
      return 0;
    }

    private static void fail(String message) {
      System.err.println("streams-peer: " + message);
      usage(2);
    }

    private static void usage(int code) {
      System.err.println(String.join("\n",
          "usage: java -cp 'streams-peer.jar:lib/*' nudge.bench.streams.CounterApp [options]",
          "  --bootstrap HOST:PORT        brokers (127.0.0.1:9092)",
          "  --application-id ID          Streams application id = consumer group (nudge-streams-peer)",
          "  --state-dir DIR              RocksDB state directory",
          "  --prefix P                   topic prefix: input P+events, output P+user-counts",
          "  --input T / --output T       explicit topics (override the prefix)",
          "  --guarantee G                exactly_once (exactly_once_v2) | at_least_once",
          "  --commit-interval-ms MS      Streams commit interval (100, for both guarantees)",
          "  --threads N                  num.stream.threads (1: the benchmark measures one core)",
          "  --cap-type TYPE              frequency-cap variant: also count TYPE events per user",
          "                               in tumbling windows, output to --cap-output (P+user-caps)",
          "  --cap-limit N                events of TYPE allowed per window (3)",
          "  --cap-window-ms MS           window size (86400000 = 24 h)",
          "  --describe                   print the topology and exit",
          "stdin: 'report' prints figures as a JSON line; 'stop' or EOF closes and exits."));
      System.exit(code);
    }
  }

  /**
   * stream(events) → parse → groupByKey → aggregate {n, byType, …} in RocksDB (changelogged)
   * → toStream → the counts JSON, with the source partition/offset → to(user-counts).
   * Key unchanged all the way, so there is no repartition topic: one sub-topology.
   */
  static Topology topology(Options o) {
    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, Json.Event> events =
        builder.stream(o.input, Consumed.with(Serdes.String(), Serdes.ByteArray())).mapValues(Json::parseEvent);

    events
        // The serde is only declared for type-checking: no repartition, so events are never re-serialized.
        .groupByKey(Grouped.with(Serdes.String(), Json.serde(Json.Event.class)))
        .aggregate(
            Json.Count::new,
            (userId, event, count) -> count.add(event),
            Materialized.<String, Json.Count, KeyValueStore<Bytes, byte[]>>as(COUNTS_STORE)
                .withKeySerde(Serdes.String())
                .withValueSerde(Json.serde(Json.Count.class))
                // nudge emits one output per event; the record cache would merge a user's
                // updates between commits and emit fewer (and change the output semantics).
                .withCachingDisabled())
        .toStream()
        .processValues(CountToOutput::new)
        .to(o.output, Produced.with(Serdes.String(), Serdes.ByteArray()));

    if (o.capType != null) {
      String capType = o.capType;
      long limit = o.capLimit;
      // One windowed count per user, of one event type: nudge's caps are rolling windows over
      // send marks (operators/decisions/caps.ts); tumbling windows are the simple, cheap kind
      // of windowed store Kafka Streams offers, and the cost of a windowed store is the point.
      // Windows follow the record timestamps (the producer's CreateTime).
      events
          .filter((userId, event) -> capType.equals(event.type))
          .groupByKey(Grouped.with(Serdes.String(), Json.serde(Json.Event.class)))
          .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofMillis(o.capWindowMs)))
          .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as(CAP_STORE)
              .withKeySerde(Serdes.String())
              .withValueSerde(Serdes.Long())
              .withCachingDisabled())
          .toStream()
          .map((window, n) -> KeyValue.pair(window.key(),
              Json.write(new Json.CapOutput(window.key(), window.window().start(), n, n > limit))))
          .to(o.capOutput, Produced.with(Serdes.String(), Serdes.ByteArray()));
    }
    return builder.build();
  }

  /**
   * The DSL's mapValues cannot see where a record came from; nudge's output carries the
   * source partition and offset (so a consumer can check nothing was skipped or doubled),
   * hence a fixed-key processor. Without the record cache, the aggregate forwards within
   * the input record's context, so these are the triggering event's coordinates.
   */
  static final class CountToOutput implements FixedKeyProcessor<String, Json.Count, byte[]> {
    private FixedKeyProcessorContext<String, byte[]> context;

    @Override
    public void init(FixedKeyProcessorContext<String, byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<String, Json.Count> record) {
      Json.Count c = record.value();
      RecordMetadata m = context.recordMetadata().orElseThrow(() -> new IllegalStateException("no source record"));
      context.forward(record.withValue(Json.write(new Json.CountOutput(record.key(), c.n, c.type, c.ts, m.partition(), m.offset()))));
    }
  }

  static Properties config(Options o) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, o.applicationId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, o.bootstrap);
    p.put(StreamsConfig.STATE_DIR_CONFIG, o.stateDir);
    // Thread names start with the client id, and the kernel keeps 15 characters of a thread's
    // name: a short one lets the Node side tell the stream thread from the rest in /proc.
    p.put(StreamsConfig.CLIENT_ID_CONFIG, "peer");
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG,
        o.guarantee.equals("exactly_once") ? StreamsConfig.EXACTLY_ONCE_V2 : StreamsConfig.AT_LEAST_ONCE);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, o.threads);
    // nudge commits every batch (≤ 1000 records) under both guarantees; Streams' defaults are
    // 100 ms (EOS) and 30 s (ALOS). One interval for both keeps the two guarantees comparable
    // and keeps "all committed" close to "all processed".
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, o.commitIntervalMs);
    // Belt and braces with withCachingDisabled(): no store may merge updates.
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0L);
    // Everything else is Streams' default (max.poll.records 1000 as nudge's batch, linger.ms
    // 100, RocksDB's default options), so the figures are those of Streams as shipped.
    return p;
  }

  // -------------------------------------------------------------------------
  // Lifecycle and figures

  private static final PrintStream OUT = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private static final AtomicLong startedAtUptime = new AtomicLong(-1);
  private static final AtomicLong runningAtUptime = new AtomicLong(-1);

  /** One JSON object per line; synchronized because the listener, stdin and main threads all print. */
  static synchronized void emit(ObjectNode line) {
    OUT.println(line.toString());
  }

  static ObjectNode line(String event) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("event", event);
    n.put("uptimeMs", ManagementFactory.getRuntimeMXBean().getUptime());
    n.put("processCpuMs", OS.getProcessCpuTime() / 1e6);
    return n;
  }

  public static void main(String[] args) throws Exception {
    // Before any Kafka class asks for a logger: slf4j-simple reads these once.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    Options o = Options.parse(args);
    Topology topology = topology(o);
    if (o.describe) {
      OUT.println(topology.describe());
      return;
    }

    KafkaStreams streams = new KafkaStreams(topology, config(o));
    // Settles with null for a requested stop, or with the reason the app cannot go on.
    CompletableFuture<String> finished = new CompletableFuture<>();
    AtomicBoolean closed = new AtomicBoolean();

    streams.setUncaughtExceptionHandler(e -> {
      finished.complete("stream thread failed: " + e);
      return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.RUNNING && runningAtUptime.get() < 0) {
        runningAtUptime.set(ManagementFactory.getRuntimeMXBean().getUptime());
        emit(line("running"));
      }
      if (now == KafkaStreams.State.ERROR) finished.complete("streams entered ERROR");
    });

    Thread stdin = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        for (String l; (l = in.readLine()) != null; ) {
          switch (l.trim()) {
            case "report" -> emit(report(streams));
            case "stop" -> finished.complete(null);
            default -> {
              // Unknown lines are ignored: the protocol may grow.
            }
          }
        }
      } catch (Exception e) {
        // Same as EOF: the parent is gone or hung up.
      }
      // EOF: the parent closed our stdin or died; never outlive it.
      finished.complete(null);
    }, "stdin");
    stdin.setDaemon(true);
    stdin.start();

    // SIGTERM: close cleanly too (a Ctrl-C on a by-hand run must not leave a lock in the state dir).
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (closed.compareAndSet(false, true)) streams.close(Duration.ofSeconds(30));
    }, "close-on-signal"));

    ObjectNode starting = line("starting");
    startedAtUptime.set(starting.get("uptimeMs").asLong());
    starting.put("guarantee", o.guarantee);
    starting.put("applicationId", o.applicationId);
    emit(starting);
    streams.start();

    String failure = finished.get();
    long c0 = System.nanoTime();
    if (closed.compareAndSet(false, true)) streams.close(Duration.ofSeconds(60));
    ObjectNode end = line(failure == null ? "closed" : "error");
    end.put("closeMs", (System.nanoTime() - c0) / 1e6);
    if (failure != null) end.put("message", failure);
    emit(end);
    System.exit(failure == null ? 0 : 1);
  }

  /** What the JVM says about itself; the Node side measures the same from /proc as a cross-check. */
  static ObjectNode report(KafkaStreams streams) {
    ObjectNode r = line("report");
    r.put("startedAtUptimeMs", startedAtUptime.get());
    r.put("runningAtUptimeMs", runningAtUptime.get());
    r.put("state", streams.state().toString());
    // Where the CPU goes: the stream thread does the processing; the rest is the producer's
    // sender, the consumer's fetcher/heartbeat, GC and JIT.
    double streamThreadCpuMs = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().contains("-StreamThread-")) {
        long ns = THREADS.getThreadCpuTime(t.getId());
        if (ns > 0) streamThreadCpuMs += ns / 1e6;
      }
    }
    r.put("streamThreadCpuMs", streamThreadCpuMs);
    long gcCount = 0;
    long gcMs = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      gcCount += Math.max(0, gc.getCollectionCount());
      gcMs += Math.max(0, gc.getCollectionTime());
    }
    r.put("gcCount", gcCount);
    r.put("gcMs", gcMs);
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    r.put("heapUsedBytes", heap.getUsed());
    r.put("heapCommittedBytes", heap.getCommitted());
    r.put("heapMaxBytes", heap.getMax());
    r.put("availableProcessors", Runtime.getRuntime().availableProcessors());
    // Streams' own thread-level counters: records processed and commits made.
    for (Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
      MetricName m = e.getKey();
      if (!m.group().equals("stream-thread-metrics")) continue;
      if (m.name().equals("process-total") || m.name().equals("commit-total") || m.name().equals("poll-total")) {
        Object v = e.getValue().metricValue();
        if (v instanceof Number num) r.put(m.name().replace("-total", "Total"), r.path(m.name().replace("-total", "Total")).asDouble(0) + num.doubleValue());
      }
    }
    return r;
  }
}
