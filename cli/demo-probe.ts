import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { EmbeddedLog } from '../processor/embedded/log.js';
import type { BatchResult } from '../processor/partition-task.js';
import type { Replica } from '../processor/replica.js';

export interface ThroughputSample {
  /** Seconds since the run started (wall clock). */
  t: number;
  decisions: number;
  events: number;
  sends: number;
}

export interface LatencySummary {
  batches: number;
  /** Microseconds at p50, p90, p99, p99.9 and the maximum. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** [percentile, microseconds] points of the CDF, for the chart. */
  cdf: Array<[number, number]>;
}

/** CDF points: dense where the tail is (each decade of 1 − p gets as many points). */
const CDF_PERCENTILES = [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 92, 94, 95, 96, 97, 98, 98.5, 99, 99.25, 99.5, 99.75, 99.9, 99.95, 99.99, 100];

/**
 * Watches a demo run from outside the pipeline: cumulative decisions, events and sends sampled
 * every `intervalMs` of wall-clock time (the throughput chart), and the processing-and-commit
 * time of every batch from the replica's commit notifications in an HDR histogram (exact
 * percentiles to three significant digits, where the Prometheus buckets are too coarse).
 */
export class DemoProbe {
  readonly samples: ThroughputSample[] = [];
  readonly #histograms = new Map<string, Histogram>();
  #timer: NodeJS.Timeout | undefined;

  /** `startedAt`: epoch milliseconds the samples' times count from, shared by every replica of a run. */
  constructor(
    private readonly replica: Replica,
    private readonly log: EmbeddedLog,
    private readonly partitions: number,
    private readonly startedAt: number,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.replica.on('commit', (result: BatchResult) => {
      // Batches that only committed send outcomes are not processing: they would crowd the distribution with no-ops.
      if (result.kind !== 'records' && result.kind !== 'timers') return;
      const micros = Math.max(1, Math.round((performance.now() - result.startedAt) * 1000));
      this.#histogram(result.kind).recordValue(micros);
      this.#histogram('all').recordValue(micros);
    });
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    // A run that fails half-way must not be kept alive by its probe.
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.sample();
  }

  sample(): void {
    const topics = this.replica.topics;
    let events = 0;
    for (const task of this.replica.tasks.values()) events += task.position(topics.input('events')) ?? 0;
    let decisions = 0;
    let sends = 0;
    for (let p = 0; p < this.partitions; p++) {
      decisions += this.log.end(topics.output('decisions'), p);
      sends += this.log.end(topics.output('sends'), p);
    }
    this.samples.push({ t: (performance.timeOrigin + performance.now() - this.startedAt) / 1000, decisions, events, sends });
  }

  /** The batch-latency histograms by kind, compressed: what `latencySummaries` reads, from any thread. */
  encodedHistograms(): Record<string, string> {
    return Object.fromEntries([...this.#histograms].map(([kind, h]) => [kind, encodeIntoCompressedBase64(h)]));
  }

  #histogram(kind: string): Histogram {
    let h = this.#histograms.get(kind);
    if (h === undefined) this.#histograms.set(kind, (h = latencyHistogram()));
    return h;
  }
}

// 1 µs to 10 min at three significant digits.
const latencyHistogram = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

/** Per-batch latency by batch kind (`records`, `timers`) and over all batches (`all`), over every replica's histograms. */
export function latencySummaries(encoded: ReadonlyArray<Record<string, string>>): Record<string, LatencySummary> {
  const merged = new Map<string, Histogram>();
  for (const byKind of encoded) {
    for (const [kind, base64] of Object.entries(byKind)) {
      let h = merged.get(kind);
      if (h === undefined) merged.set(kind, (h = latencyHistogram()));
      const part = decodeFromCompressedBase64(base64);
      h.add(part);
      part.destroy();
    }
  }
  const out: Record<string, LatencySummary> = {};
  for (const [kind, h] of merged) {
    // A percentile is the top of its HDR bucket, which can lie above the exact maximum recorded.
    const at = (p: number) => Math.min(h.getValueAtPercentile(p), h.maxValue);
    out[kind] = {
      batches: h.totalCount,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: h.maxValue,
      cdf: CDF_PERCENTILES.map((p) => [p, at(p)]),
    };
  }
  return out;
}

/**
 * One throughput series from several replicas' cumulative samples, on a grid of `stepSeconds`
 * from the first sample to the last. Each replica's counts are interpolated linearly between
 * its own samples: the replicas sample at different moments, and summing their latest samples
 * instead would put a whole interval of one replica's work into the short gap after another's
 * sample, which the rate chart shows as spikes.
 */
export function mergeThroughput(series: ReadonlyArray<readonly ThroughputSample[]>, stepSeconds = 0.25): ThroughputSample[] {
  const nonEmpty = series.filter((s) => s.length > 0);
  if (nonEmpty.length <= 1) return [...(nonEmpty[0] ?? [])];
  const first = Math.min(...nonEmpty.map((s) => (s[0] as ThroughputSample).t));
  const last = Math.max(...nonEmpty.map((s) => (s[s.length - 1] as ThroughputSample).t));
  const times: number[] = [];
  for (let t = first; t < last; t += stepSeconds) times.push(t);
  times.push(last);
  const at = nonEmpty.map(() => 0);
  return times.map((t) => {
    const sum: ThroughputSample = { t, decisions: 0, events: 0, sends: 0 };
    nonEmpty.forEach((s, i) => {
      let j = at[i] as number;
      while (j + 1 < s.length && (s[j + 1] as ThroughputSample).t <= t) j++;
      at[i] = j;
      const a = s[j] as ThroughputSample;
      const b = s[j + 1];
      // Before a replica's first sample its counts are its first sample's; after its last, its last.
      const f = b === undefined || t <= a.t ? 0 : (t - a.t) / (b.t - a.t);
      const lerp = (x: number, y: number | undefined) => x + f * ((y ?? x) - x);
      sum.decisions += lerp(a.decisions, b?.decisions);
      sum.events += lerp(a.events, b?.events);
      sum.sends += lerp(a.sends, b?.sends);
    });
    return sum;
  });
}

/** Rates between consecutive samples: what the throughput chart plots. */
export function rates(samples: readonly ThroughputSample[]): Array<{ t: number; decisionsPerSec: number; eventsPerSec: number; sendsPerSec: number }> {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as ThroughputSample;
    const b = samples[i] as ThroughputSample;
    const dt = b.t - a.t;
    if (dt <= 0) continue;
    out.push({ t: Math.round(b.t * 1000) / 1000, decisionsPerSec: Math.round((b.decisions - a.decisions) / dt), eventsPerSec: Math.round((b.events - a.events) / dt), sendsPerSec: Math.round((b.sends - a.sends) / dt) });
  }
  return out;
}
