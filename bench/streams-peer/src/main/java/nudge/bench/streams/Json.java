package nudge.bench.streams;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/** The records of the topology and their JSON (Jackson) encoding: the same wire format as nudge's. */
final class Json {
  private Json() {}

  /** Thread-safe once configured; one instance, because building a mapper is costly. */
  static final ObjectMapper MAPPER = new ObjectMapper();

  /**
   * An input event as nudge's producers write it: {"userId","ts","type",...}. Fields the
   * counter does not read are ignored, as nudge's decoder would accept them.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static final class Event {
    public String userId;
    public long ts;
    public String type;
  }

  /**
   * Per-user state, the aggregate stored in RocksDB and its changelog: nudge's UserCount
   * {n, byType, first, last} plus the type and ts of the event that made the latest update.
   * Those two are here only because a DSL aggregate forwards nothing but the aggregate, and
   * nudge's output carries the triggering event's type and ts (about 25 bytes per user).
   */
  @JsonPropertyOrder({"n", "byType", "first", "last", "type", "ts"})
  public static final class Count {
    public long n;
    public Map<String, Long> byType = new HashMap<>();
    public long first;
    public long last;
    public String type;
    public long ts;

    /** The aggregator: operators/user-counter.ts' read-modify-write, on the deserialized value. */
    Count add(Event e) {
      if (n == 0) {
        first = e.ts;
        last = e.ts;
      }
      n++;
      byType.merge(e.type, 1L, Long::sum);
      last = Math.max(last, e.ts);
      type = e.type;
      ts = e.ts;
      return this;
    }
  }

  /** nudge's counts output, field for field and in its order: {userId, count, type, ts, partition, offset}. */
  @JsonPropertyOrder({"userId", "count", "type", "ts", "partition", "offset"})
  public static final class CountOutput {
    public final String userId;
    public final long count;
    public final String type;
    public final long ts;
    public final int partition;
    public final long offset;

    CountOutput(String userId, long count, String type, long ts, int partition, long offset) {
      this.userId = userId;
      this.count = count;
      this.type = type;
      this.ts = ts;
      this.partition = partition;
      this.offset = offset;
    }
  }

  /** The frequency-cap variant's second output: the user's count of capped-type events in the current window. */
  @JsonPropertyOrder({"userId", "windowStart", "count", "capped"})
  public static final class CapOutput {
    public final String userId;
    public final long windowStart;
    public final long count;
    /** True once the count exceeds the limit: this event would have been refused. */
    public final boolean capped;

    CapOutput(String userId, long windowStart, long count, boolean capped) {
      this.userId = userId;
      this.windowStart = windowStart;
      this.count = count;
      this.capped = capped;
    }
  }

  static Event parseEvent(byte[] value) {
    try {
      return MAPPER.readValue(value, Event.class);
    } catch (IOException e) {
      // The benchmark's input is well-formed; a bad record means a broken run, so fail loudly
      // (nudge would dead-letter it, which no benchmark input exercises).
      throw new SerializationException("malformed event: " + e.getMessage(), e);
    }
  }

  static byte[] write(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A Jackson serde for a state store or changelog value. */
  static <T> Serde<T> serde(Class<T> type) {
    Serializer<T> ser = (topic, value) -> value == null ? null : write(value);
    Deserializer<T> de = (topic, bytes) -> {
      if (bytes == null) return null;
      try {
        return MAPPER.readValue(bytes, type);
      } catch (IOException e) {
        throw new SerializationException("cannot decode " + type.getSimpleName() + ": " + e.getMessage(), e);
      }
    };
    return Serdes.serdeFrom(ser, de);
  }
}
