import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Histogram } from 'prom-client';
import { COUNTS_STORE, type UserCount } from '../operators/user-counter.js';
import type { Replica } from '../processor/replica.js';
import { LmdbStore } from '../state/lmdb-store.js';

/** A fresh directory and its disposer; the disposer never throws, so it is safe in `finally`. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    cleanup: () => {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // Leaving a temp dir behind must not hide the error that brought us here.
      }
    },
  };
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw signal.reason instanceof Error ? signal.reason : new Error('benchmark aborted');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Gives V8 a chance to shrink between phases when node runs with --expose-gc; a no-op otherwise. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Peak RSS of one phase. On Linux the kernel's own high-water mark (VmHWM) is reset at
 * the start (writing 5 to /proc/self/clear_refs) and read at the end: exact, and immune
 * to what a sampler cannot see. Sampling every 100 ms stays as the fallback elsewhere,
 * and is weak: the embedded engine keeps the event loop busy with microtasks for a whole
 * backlog, so a timer-driven sampler may not run at all until the phase ends.
 */
export class RssSampler {
  readonly startBytes: number;
  readonly #kernel: boolean;
  readonly #cpu0 = process.cpuUsage();
  readonly #brokerPid: number | undefined;
  readonly #brokerCpu0: number | undefined;
  #peak: number;
  readonly #timer: NodeJS.Timeout;

  /** `brokerPid`: also account the CPU a local broker JVM spends meanwhile (it shares our cores). */
  constructor(options: { intervalMs?: number; brokerPid?: number } = {}) {
    const intervalMs = options.intervalMs ?? 100;
    this.#brokerPid = options.brokerPid;
    this.#brokerCpu0 = options.brokerPid === undefined ? undefined : processCpuMs(options.brokerPid);
    this.#kernel = resetHighWater();
    this.startBytes = process.memoryUsage.rss();
    this.#peak = this.startBytes;
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    // A sampler alone must not keep the process alive after a failure.
    this.#timer.unref();
  }

  end(): PhaseResources {
    this.#sample();
    clearInterval(this.#timer);
    const hwm = this.#kernel ? readHighWater() : undefined;
    const cpu = process.cpuUsage(this.#cpu0);
    const brokerNow = this.#brokerPid === undefined ? undefined : processCpuMs(this.#brokerPid);
    return {
      startBytes: this.startBytes,
      peakBytes: Math.max(this.#peak, hwm ?? 0),
      source: hwm === undefined ? 'sampled' : 'VmHWM',
      cpuMs: (cpu.user + cpu.system) / 1000,
      brokerCpuMs: brokerNow === undefined || this.#brokerCpu0 === undefined ? null : brokerNow - this.#brokerCpu0,
    };
  }

  #sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.#peak) this.#peak = rss;
  }
}

export interface PhaseResources {
  startBytes: number;
  peakBytes: number;
  source: 'VmHWM' | 'sampled';
  /** CPU this process used (user + system) during the phase. */
  cpuMs: number;
  /** CPU the local broker's JVM used meanwhile; null without a local broker (or off Linux). */
  brokerCpuMs: number | null;
}

/** Linux exposes utime/stime in clock ticks of USER_HZ, which is 100 on every mainstream ABI. */
const USER_HZ = 100;

/** user + system CPU of a process from /proc/<pid>/stat, in ms; undefined off Linux or if it is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / USER_HZ : undefined;
  } catch {
    return undefined;
  }
}

function resetHighWater(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return readHighWater() !== undefined;
  } catch {
    return false;
  }
}

function readHighWater(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

export interface CommitTimeline {
  /** ms from the start mark until the replica owned every partition and was ready. */
  readyMs: number;
  /** ms from the start mark until the first batch was committed. */
  firstCommitMs: number;
  /** ms from the start mark until every event was committed. */
  doneMs: number;
  /** Events already committed when readiness was first seen. */
  committedAtReady: number;
}

/**
 * Waits until the replica's own checkpoints cover every input record: the sum over
 * partitions of `task.position(topic)` reaches the partitions' ends. Checkpoints move
 * only after a batch is committed (applyCommitted), so this is "committed", not "seen".
 * Polls every 10 ms: cheap next to a batch, and fine-grained enough for runs of seconds.
 */
export async function waitUntilCommitted(
  replica: Replica,
  topic: string,
  ends: readonly number[],
  startMark: number,
  options: { signal?: AbortSignal; stallMs?: number; fatal?: () => Error | undefined; hint?: string },
): Promise<CommitTimeline> {
  const total = ends.reduce((a, b) => a + b, 0);
  const stallMs = options.stallMs ?? 120_000;
  let readyMs = -1;
  let committedAtReady = 0;
  let firstCommitMs = -1;
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    throwIfAborted(options.signal);
    const fatal = options.fatal?.();
    if (fatal !== undefined) throw fatal;
    const now = performance.now();
    let committed = 0;
    for (const [p, end] of ends.entries()) committed += Math.min(end, replica.tasks.get(p)?.position(topic) ?? 0);
    if (readyMs < 0 && replica.ready && replica.tasks.size === ends.length) {
      readyMs = now - startMark;
      committedAtReady = committed;
    }
    if (committed > 0 && firstCommitMs < 0) firstCommitMs = now - startMark;
    if (committed !== last) {
      last = committed;
      lastChange = now;
    }
    if (committed >= total) {
      if (readyMs < 0) {
        readyMs = now - startMark;
        committedAtReady = committed;
      }
      return { readyMs, firstCommitMs: Math.max(0, firstCommitMs), doneMs: now - startMark, committedAtReady };
    }
    if (now - lastChange > stallMs) {
      const hint = options.hint === undefined ? '' : `; ${options.hint}`;
      throw new Error(`no progress for ${stallMs / 1000} s: ${committed} of ${total} events committed on ${topic} (phase ${replica.phase}, ${replica.tasks.size} tasks)${hint}`);
    }
    await sleep(10);
  }
}

export interface StateFootprint {
  /** Sum of the partitions' data.mdb file sizes. */
  fileBytes: number;
  /** Sum of live LMDB pages (branch + leaf + overflow) of the partitions' kv databases. */
  usedBytes: number;
  /** Users with a counts entry, and the sum of their counts: must equal the events fed. */
  users: number;
  counted: number;
}

/** Sizes and a full scan of the counts store, under each task's lock so no batch interleaves. */
export async function stateFootprint(replica: Replica): Promise<StateFootprint> {
  const out: StateFootprint = { fileBytes: 0, usedBytes: 0, users: 0, counted: 0 };
  for (const task of replica.tasks.values()) {
    await task.lock.run(async () => {
      const engine = task.state.engine;
      out.fileBytes += await engine.sizeOnDisk();
      if (engine instanceof LmdbStore) out.usedBytes += engine.usedBytes();
      for await (const [, count] of task.state.store<UserCount>(COUNTS_STORE.name).scan()) {
        out.users++;
        out.counted += count.n;
      }
    });
  }
  return out;
}

export interface BatchStats {
  batches: number;
  meanRecords: number;
  /** Quantiles interpolated inside prom-client buckets (as PromQL histogram_quantile does): approximate. */
  p50Ms: number;
  p99Ms: number;
  maxBucketMs: number;
}

/** Batch figures from the replica's own histograms (records batches only, not timer batches). */
export async function batchStats(seconds: Histogram<'kind'>, records: Histogram<'kind'>): Promise<BatchStats> {
  const dur = await histogramOf(seconds, 'records');
  const rec = await histogramOf(records, 'records');
  return {
    batches: dur.count,
    meanRecords: rec.count === 0 ? 0 : rec.sum / rec.count,
    p50Ms: quantile(dur.buckets, dur.count, 0.5) * 1000,
    p99Ms: quantile(dur.buckets, dur.count, 0.99) * 1000,
    maxBucketMs: maxBucket(dur.buckets, dur.count) * 1000,
  };
}

interface HistogramData {
  buckets: Array<{ le: number; cumulative: number }>;
  count: number;
  sum: number;
}

async function histogramOf(h: Histogram<'kind'>, kind: string): Promise<HistogramData> {
  const data = await h.get();
  const out: HistogramData = { buckets: [], count: 0, sum: 0 };
  for (const v of data.values) {
    // prom-client types labels by the declared names only; the bucket bound `le` is added on top.
    const labels = v.labels as Partial<Record<'kind' | 'le', string | number>>;
    if (labels.kind !== kind) continue;
    if (v.metricName?.endsWith('_bucket') === true) {
      const le = labels.le;
      out.buckets.push({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), cumulative: v.value });
    } else if (v.metricName?.endsWith('_count') === true) out.count = v.value;
    else if (v.metricName?.endsWith('_sum') === true) out.sum = v.value;
  }
  out.buckets.sort((a, b) => a.le - b.le);
  return out;
}

function quantile(buckets: HistogramData['buckets'], count: number, q: number): number {
  if (count === 0) return 0;
  const rank = q * count;
  let prevLe = 0;
  let prevCum = 0;
  for (const b of buckets) {
    if (b.cumulative >= rank) {
      // Beyond the last finite bucket nothing is known but its lower bound.
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.cumulative - prevCum;
      return inBucket === 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCum)) / inBucket;
    }
    prevLe = b.le;
    prevCum = b.cumulative;
  }
  return prevLe;
}

/** Upper bound of the highest bucket holding any batch: the worst batch was at most this slow. */
function maxBucket(buckets: HistogramData['buckets'], count: number): number {
  let prevLe = 0;
  for (const b of buckets) {
    if (b.cumulative >= count) return Number.isFinite(b.le) ? b.le : prevLe;
    prevLe = b.le;
  }
  return prevLe;
}

export function rate(count: number, ms: number): number {
  return ms <= 0 ? 0 : (count * 1000) / ms;
}
