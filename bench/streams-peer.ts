/**
 * The Kafka Streams peer: nudge's reference per-user counter (operators/user-counter.ts)
 * written as a Kafka Streams 3.9.1 application (bench/streams-peer/, Java, Maven), run on
 * the same broker in the same run as nudge, so that nudge's throughput per core is a ratio
 * to the JVM's reference engine. See bench/streams-peer/README.md.
 *
 * Library (for bench/main.ts or a test; the input topic must already hold the events):
 *   const peer = await runStreamsPeer({ brokers, topic, outTopic, events: 200_000, guarantee: 'exactly_once', partitions: 4 });
 *
 * Standalone (starts its own broker, produces the events as bench/kafka.ts does):
 *   npx tsc -p . && node dist/bench/streams-peer.js --events 200000 --partitions 4 [--nudge]
 *
 * Environment:
 *   NUDGE_STREAMS_PEER_CACHE  build cache (default ~/.cache/nudge/streams-peer)
 *   NUDGE_REPO_ROOT           repo root holding bench/streams-peer/ (default: walk up to package.json)
 *   JAVA_HOME                 if set, $JAVA_HOME/bin/java is used instead of java on PATH
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Admin, Kafka } from 'kafkajs';
import { pino } from 'pino';
import { errorMessage } from '../errors/index.js';
import { createLogger, type Logger } from '../processor/logger.js';
import { TopicNames } from '../processor/topic-names.js';
import { KAFKA_VERSION, startBroker, type KafkaBroker } from '../scripts/kafka-broker.js';
import { DEFAULT_SEED, generateEvents, type BenchEvents } from './events.js';
import { benchKafka, kafkaRunConfig, partitionEnds, produceEvents, runNudgeKafka, type Guarantee, type NudgeKafkaResult } from './kafka.js';
import { processCpuMs, rate, sleep, tempDir, throwIfAborted } from './measure.js';

const MAIN_CLASS = 'nudge.bench.streams.CounterApp';
const JAR = 'streams-peer.jar';
const MARKER_FILE = '.nudge-streams-peer-complete';
const LOG_TAIL_LINES = 40;
/** Committed offsets are polled this often: fine-grained next to a 100 ms commit interval, cheap for the broker. */
const POLL_MS = 20;

export interface StreamsPeerOptions {
  brokers: string;
  /** Input topic, already holding `events` records (nudge's `<prefix>events`). */
  topic: string;
  /** Output topic: created if absent, and must be empty, so that the output count is the peer's alone. */
  outTopic: string;
  events: number;
  guarantee: Guarantee;
  /** Partitions of the input topic, and of the output topic if it is created here. */
  partitions: number;
  log?: (s: string) => void;
  /** JVM heap, fixed (-Xms = -Xmx), in MiB; default 512. */
  heapMb?: number;
  /** Extra JVM options before the class path, e.g. ['-XX:TieredStopAtLevel=1'] to see what JIT costs; none by default. */
  jvmArgs?: string[];
  /** Streams' commit.interval.ms for both guarantees; default 100. */
  commitIntervalMs?: number;
  /** Also run the frequency-cap branch: a windowed count of `type` events per user, output to `outTopic`. */
  cap?: { type: string; outTopic: string; limit?: number; windowMs?: number };
  /** The local broker's JVM, to account the CPU it spends during the window (it shares our cores). */
  brokerPid?: number;
  /** Delete the app's internal topics, its group and any topic created here once measured; default true. */
  cleanup?: boolean;
  /** A run that makes no progress for this long fails; default 120 s. */
  stallMs?: number;
  signal?: AbortSignal;
}

export interface StreamsPeerResult {
  /** events ÷ wallMs: the same window as nudge's `eventsPerSec` (start() until every event is committed). */
  eventsPerSec: number;
  /** From KafkaStreams.start() until the group's committed offsets cover the input topic. */
  wallMs: number;
  /** CPU (user + system) of the JVM over that window, from /proc/<pid>/stat. */
  cpuSeconds: number;
  /** cpuSeconds ÷ wall seconds: cores kept busy on average (1 = one core for the whole window). */
  cpuPerCore: number;
  /** From KafkaStreams.start() until it reported RUNNING (group join, tasks, producer init, restore): nudge's readyMs. */
  startupMs: number;
  /** Throughput per core: events ÷ cpuSeconds, the figure to divide nudge's by. */
  eventsPerCpuSecond: number;
  /** The same after RUNNING: processing alone. */
  steadyEventsPerSec: number;
  /** From spawning `java` until KafkaStreams.start(): JVM boot, class loading, topology build. Outside the window. */
  launchMs: number;
  /** CPU of the JVM from its birth until done: launchMs' CPU (class loading, JIT) included. */
  cpuSecondsTotal: number;
  brokerCpuSeconds: number | null;
  /** Kernel high-water mark of the JVM's RSS (heap + RocksDB + metaspace + code cache). */
  peakRssBytes: number | null;
  closeMs: number | null;
  guarantee: Guarantee;
  applicationId: string;
  build: StreamsPeerBuild;
  /** What the JVM reported about itself at the end of the window (ManagementFactory, Streams metrics). */
  jvm: JvmReport;
  /** JVM CPU during the window by kind of thread (from /proc/<pid>/task), largest first. */
  threads: Array<{ threads: string; cpuSeconds: number }>;
  /** From reading the output topic (read_committed) after the run. */
  verified: { outputs: number; distinctSources: number; countsSum: number; users: number; capOutputs: number | null };
}

export interface JvmReport {
  processCpuMs: number;
  streamThreadCpuMs: number;
  gcCount: number;
  gcMs: number;
  heapUsedBytes: number;
  heapMaxBytes: number;
  processTotal: number;
  commitTotal: number;
  pollTotal: number;
}

export interface StreamsPeerBuild {
  classpath: string;
  dir: string;
  cached: boolean;
  /** Time to make the jars available: the Maven build on a cold cache, the hash check on a warm one. */
  ms: number;
}

// ---------------------------------------------------------------------------
// Build, cached by a hash of the POM and the sources

function findRepoRoot(): string {
  const fromEnv = process.env['NUDGE_REPO_ROOT'];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  // Runs from dist/bench/ after build: walk up rather than hard-code a depth.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`streams-peer: no package.json above ${fileURLToPath(import.meta.url)}; set NUDGE_REPO_ROOT`);
    dir = parent;
  }
}

function cacheRoot(): string {
  const fromEnv = process.env['NUDGE_STREAMS_PEER_CACHE'];
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : join(homedir(), '.cache', 'nudge', 'streams-peer');
}

function javaBin(): string {
  const home = process.env['JAVA_HOME'];
  return home !== undefined && home !== '' ? join(home, 'bin', 'java') : 'java';
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/**
 * The key of a build: the POM and every file under src/, by relative path and content. The
 * sources count as much as the POM: an edited CounterApp.java must not run a stale jar.
 */
async function sourceHash(projectDir: string): Promise<string> {
  const files = [join(projectDir, 'pom.xml'), ...(await filesUnder(join(projectDir, 'src')))].sort();
  const h = createHash('sha256');
  for (const f of files) {
    h.update(relative(projectDir, f)).update('\0');
    h.update(await readFile(f)).update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

function lastLines(text: string, n: number): string {
  return text.replace(/\s+$/, '').split('\n').slice(-n).join('\n');
}

/**
 * Returns the class path of the built peer, building it with Maven on first use (or after the
 * POM or a source changed). The build writes into a staging dir inside the cache, never into
 * the repository, and is renamed into place whole, so a concurrent or interrupted build is
 * never seen half-done.
 */
export async function ensureStreamsPeer(log: (s: string) => void = () => undefined): Promise<StreamsPeerBuild> {
  const t0 = performance.now();
  const project = join(findRepoRoot(), 'bench', 'streams-peer');
  if (!existsSync(join(project, 'pom.xml'))) throw new Error(`streams-peer: ${join(project, 'pom.xml')} not found; set NUDGE_REPO_ROOT`);
  const root = cacheRoot();
  const dir = join(root, await sourceHash(project));
  const classpath = `${join(dir, JAR)}:${join(dir, 'lib')}/*`;
  if (existsSync(join(dir, MARKER_FILE))) return { classpath, dir, cached: true, ms: performance.now() - t0 };

  await mkdir(root, { recursive: true });
  const staging = await mkdtemp(join(root, 'build.tmp-'));
  log(`streams-peer: building ${project} with Maven into ${dir} (first run for these sources only)`);
  try {
    const res = await run('mvn', ['-q', '-B', '-Dstyle.color=never', '-f', join(project, 'pom.xml'), `-Dpeer.build.dir=${staging}`, 'package'], project).catch((err: unknown) => {
      throw new Error(`streams-peer: could not run mvn (is Maven installed?): ${errorMessage(err)}`);
    });
    if (res.code !== 0) throw new Error(`streams-peer: mvn package failed (code ${res.code}):\n${lastLines(res.output, LOG_TAIL_LINES)}`);
    if (!existsSync(join(staging, JAR))) throw new Error(`streams-peer: mvn succeeded but ${JAR} is not in ${staging}`);
    // Only the jar and its libraries are kept: classes/ and Maven's bookkeeping are build litter.
    for (const entry of await readdir(staging)) if (entry !== JAR && entry !== 'lib') await rm(join(staging, entry), { recursive: true, force: true });
    await writeFile(join(staging, MARKER_FILE), `${new Date().toISOString()}\n`);
    // mkdtemp creates 0700; the cache is meant to be shared like ~/.m2.
    await chmod(staging, 0o755);
    await rename(staging, dir).catch((err: unknown) => {
      // Lost a race with a concurrent build of the same sources: theirs is as good as ours.
      if (!existsSync(join(dir, MARKER_FILE))) throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const ms = performance.now() - t0;
  log(`streams-peer: built in ${(ms / 1000).toFixed(1)} s`);
  return { classpath, dir, cached: false, ms };
}

// ---------------------------------------------------------------------------
// One measured run

/** A JSON line from the app's stdout: {"event": ..., "uptimeMs", "processCpuMs", ...}. */
type PeerLine = Record<string, unknown> & { event: string };

function parseLine(line: string): PeerLine | undefined {
  try {
    const v: unknown = JSON.parse(line);
    if (typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)['event'] === 'string') return v as PeerLine;
  } catch {
    // Not one of ours (a library printing to stdout): the caller logs it.
  }
  return undefined;
}

function num(line: PeerLine, field: string): number {
  const v = line[field];
  return typeof v === 'number' ? v : 0;
}

/** Kernel high-water mark of another process's RSS; null off Linux or once it is gone. */
function peakRssOf(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/** Linux reports utime/stime in USER_HZ ticks, 100 on every mainstream ABI (as bench/measure.ts assumes). */
const USER_HZ = 100;

/** CPU ms of every thread of a process by thread id, with the kernel's (15-character) thread name. */
function threadCpuMs(pid: number): Map<number, { name: string; ms: number }> {
  const out = new Map<number, { name: string; ms: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    // Not /proc/<tid>/stat: that one reports the whole thread group.
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    // The name (field 2) sits in parentheses and may hold spaces: fields are counted after the last ')'.
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (Number.isFinite(ticks)) out.set(Number(tid), { name, ms: (ticks * 1000) / USER_HZ });
  }
  return out;
}

/**
 * Where the JVM's CPU went during the window, by thread kind: the stream thread does the
 * processing; the rest is the JIT compilers, GC, the producer's sender, the consumer's
 * heartbeat and RocksDB's background threads. Thread numbers are folded so that kinds add up.
 */
function threadBreakdown(before: Map<number, { name: string; ms: number }>, after: Map<number, { name: string; ms: number }>): Array<{ threads: string; cpuSeconds: number }> {
  const byKind = new Map<string, number>();
  for (const [tid, t] of after) {
    const kind = t.name.replace(/[0-9]+/g, '#');
    byKind.set(kind, (byKind.get(kind) ?? 0) + t.ms - (before.get(tid)?.ms ?? 0));
  }
  return [...byKind.entries()]
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([threads, ms]) => ({ threads, cpuSeconds: ms / 1000 }));
}

// JVMs a crashed caller would otherwise leave running (they also exit when their stdin closes).
const livePeers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of livePeers) c.kill('SIGKILL');
});

/**
 * Runs the peer once over an input topic that already holds `events` records, and measures
 * it. Completion is decided here, from outside the JVM: the sum over partitions of the
 * application's committed offsets (its consumer group) reaches the topic's end offsets. That
 * is "committed", as nudge's own window is, under both guarantees (under exactly-once the
 * offsets become visible with the transaction, outputs included), and it needs nothing from
 * Streams' internals. The JVM's CPU is read from /proc at "starting" and at that moment.
 */
export async function runStreamsPeer(opts: StreamsPeerOptions): Promise<StreamsPeerResult> {
  const log = opts.log ?? (() => undefined);
  const build = await ensureStreamsPeer(log);
  const logger: Logger = createLogger('warn', pino.destination({ dest: 2, sync: true }));
  const kafka = benchKafka(opts.brokers, logger);
  const ends = await partitionEnds(kafka, opts.topic);
  const total = ends.reduce((a, b) => a + b, 0);
  if (total !== opts.events) throw new Error(`streams-peer: ${opts.topic} holds ${total} records, expected ${opts.events}`);
  if (ends.length !== opts.partitions) throw new Error(`streams-peer: ${opts.topic} has ${ends.length} partitions, expected ${opts.partitions}`);

  const applicationId = `nudge-streams-peer-${opts.guarantee.replace(/_/g, '-')}-${randomBytes(4).toString('hex')}`;
  // Not under the OS temp dir: Streams warns that a temp dir may be cleaned under it.
  const stateDir = join(cacheRoot(), 'state', applicationId);
  await mkdir(stateDir, { recursive: true });
  const state = { dir: stateDir, cleanup: (): Promise<void> => rm(stateDir, { recursive: true, force: true }).catch(() => undefined) };
  const admin = kafka.admin();
  await admin.connect();
  const created: string[] = [];
  let child: ChildProcess | undefined;
  try {
    for (const t of [opts.outTopic, ...(opts.cap ? [opts.cap.outTopic] : [])]) if (await ensureEmptyTopic(admin, kafka, t, opts.partitions)) created.push(t);

    const heapMb = opts.heapMb ?? 512;
    const args = [
      // A fixed heap: the JVM neither grows into the machine nor spends the run resizing.
      `-Xms${heapMb}m`,
      `-Xmx${heapMb}m`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      ...(opts.jvmArgs ?? []),
      '-cp',
      build.classpath,
      MAIN_CLASS,
      '--bootstrap',
      opts.brokers,
      '--application-id',
      applicationId,
      '--state-dir',
      state.dir,
      '--input',
      opts.topic,
      '--output',
      opts.outTopic,
      '--guarantee',
      opts.guarantee,
      '--commit-interval-ms',
      String(opts.commitIntervalMs ?? 100),
      ...(opts.cap
        ? ['--cap-type', opts.cap.type, '--cap-output', opts.cap.outTopic, '--cap-limit', String(opts.cap.limit ?? 3), '--cap-window-ms', String(opts.cap.windowMs ?? 86_400_000)]
        : []),
    ];
    const spawnedAt = performance.now();
    const proc = spawn(javaBin(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child = proc;
    livePeers.add(proc);
    // A JVM that died leaves a closed pipe: writing to it must not crash us.
    proc.stdin.on('error', () => undefined);
    const stderrTail: string[] = [];
    let forwarded = 0;
    createInterface({ input: proc.stderr }).on('line', (l) => {
      stderrTail.push(l);
      if (stderrTail.length > LOG_TAIL_LINES) stderrTail.shift();
      // The JVM logs at WARN and above only: worth seeing, but a storm must not drown the figures.
      if (forwarded++ < 20) log(`  jvm: ${l}`);
    });
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exitedP = new Promise<void>((r) =>
      proc.once('exit', (code, signal) => {
        exited = { code, signal };
        livePeers.delete(proc);
        r();
      }),
    );
    let spawnError: Error | undefined;
    proc.once('error', (err) => (spawnError = err));

    // Marks taken as the lines arrive: the pipe adds well under a millisecond.
    const marks: { starting?: number; cpu0?: number; broker0?: number; threads0?: Map<number, { name: string; ms: number }>; running?: number; committedAtRunning?: number } = {};
    let report: PeerLine | undefined;
    let closedLine: PeerLine | undefined;
    let failure: string | undefined;
    let committed = 0;
    createInterface({ input: proc.stdout }).on('line', (l) => {
      const line = parseLine(l);
      if (line === undefined) return log(`  streams-peer stdout: ${l}`);
      switch (line.event) {
        case 'starting':
          marks.starting = performance.now();
          marks.cpu0 = processCpuMs(proc.pid ?? -1);
          marks.threads0 = threadCpuMs(proc.pid ?? -1);
          if (opts.brokerPid !== undefined) marks.broker0 = processCpuMs(opts.brokerPid);
          break;
        case 'running':
          marks.running = performance.now();
          marks.committedAtRunning = committed;
          break;
        case 'report':
          report = line;
          break;
        case 'closed':
          closedLine = line;
          break;
        case 'error':
          failure = typeof line['message'] === 'string' ? line['message'] : 'unknown error';
          break;
      }
    });
    const failed = (): string | undefined => {
      if (spawnError !== undefined) return `could not start ${javaBin()} (is Java 17 installed?): ${spawnError.message}`;
      if (failure !== undefined) return failure;
      if (exited !== undefined) return `the JVM exited (code ${exited.code}, signal ${exited.signal})`;
      return undefined;
    };
    const fail = (why: string): Error => new Error(`streams-peer ${opts.guarantee}: ${why}; last lines of its stderr:\n${stderrTail.join('\n')}`);
    const waitFor = async (what: string, done: () => boolean, timeoutMs: number): Promise<void> => {
      const deadline = performance.now() + timeoutMs;
      while (!done()) {
        throwIfAborted(opts.signal);
        const why = failed();
        if (why !== undefined) throw fail(why);
        if (performance.now() > deadline) throw fail(`no ${what} after ${timeoutMs / 1000} s`);
        await sleep(5);
      }
    };

    await waitFor('"starting" line', () => marks.starting !== undefined, 60_000);
    const t0 = marks.starting as number;
    const stallMs = opts.stallMs ?? 120_000;
    let last = -1;
    let lastChange = performance.now();
    for (;;) {
      throwIfAborted(opts.signal);
      const why = failed();
      if (why !== undefined) throw fail(why);
      try {
        committed = await committedCount(admin, applicationId, opts.topic, ends);
      } catch (err) {
        // On a fresh broker the first group's coordinator is still loading (COORDINATOR_LOAD_IN_PROGRESS),
        // and a leader may move: retriable errors are one lost tick; the stall bound catches the rest.
        if ((err as { retriable?: boolean }).retriable !== true) throw err;
      }
      const now = performance.now();
      if (committed >= total) break;
      if (committed !== last) {
        last = committed;
        lastChange = now;
      } else if (now - lastChange > stallMs) {
        throw fail(`no progress for ${stallMs / 1000} s: ${committed} of ${total} offsets committed`);
      }
      await sleep(POLL_MS);
    }
    const doneAt = performance.now();
    const pid = proc.pid ?? -1;
    const cpu1 = processCpuMs(pid);
    const broker1 = opts.brokerPid === undefined ? undefined : processCpuMs(opts.brokerPid);
    const peakRssBytes = peakRssOf(pid);
    const threads = threadBreakdown(marks.threads0 ?? new Map(), threadCpuMs(pid));

    proc.stdin.write('report\n');
    await waitFor('report', () => report !== undefined, 10_000);
    proc.stdin.write('stop\n');
    proc.stdin.end();
    const closeBy = performance.now() + 60_000;
    while (exited === undefined && performance.now() < closeBy) await Promise.race([exitedP, sleep(100)]);
    if (exited === undefined) {
      log('  streams-peer: the JVM did not close within 60 s; SIGKILL');
      proc.kill('SIGKILL');
      await exitedP;
    }

    if (cpu1 === undefined || marks.cpu0 === undefined) throw fail('could not read the JVM CPU from /proc (Linux only)');
    const jvmReport = report as PeerLine;
    const wallMs = doneAt - t0;
    const cpuSeconds = (cpu1 - marks.cpu0) / 1000;
    const runningAt = marks.running ?? doneAt;
    const verified = await verifyOutputs(kafka, opts, applicationId);
    if (verified.outputs !== total || verified.distinctSources !== total || verified.countsSum !== total) {
      throw new Error(
        `streams-peer ${opts.guarantee}: ${opts.outTopic} holds ${verified.outputs} outputs from ${verified.distinctSources} distinct input records, per-user counts sum to ${verified.countsSum}; expected ${total} each`,
      );
    }
    return {
      eventsPerSec: rate(total, wallMs),
      wallMs,
      cpuSeconds,
      cpuPerCore: wallMs > 0 ? cpuSeconds / (wallMs / 1000) : 0,
      startupMs: runningAt - t0,
      eventsPerCpuSecond: cpuSeconds > 0 ? total / cpuSeconds : 0,
      steadyEventsPerSec: rate(total - (marks.committedAtRunning ?? 0), doneAt - runningAt),
      launchMs: t0 - spawnedAt,
      cpuSecondsTotal: cpu1 / 1000,
      brokerCpuSeconds: broker1 === undefined || marks.broker0 === undefined ? null : (broker1 - marks.broker0) / 1000,
      peakRssBytes,
      closeMs: closedLine === undefined ? null : num(closedLine, 'closeMs'),
      guarantee: opts.guarantee,
      applicationId,
      // Reported without the home directory: results are committed and shared.
      build: { ...build, classpath: homeless(build.classpath), dir: homeless(build.dir) },
      jvm: {
        processCpuMs: num(jvmReport, 'processCpuMs'),
        streamThreadCpuMs: num(jvmReport, 'streamThreadCpuMs'),
        gcCount: num(jvmReport, 'gcCount'),
        gcMs: num(jvmReport, 'gcMs'),
        heapUsedBytes: num(jvmReport, 'heapUsedBytes'),
        heapMaxBytes: num(jvmReport, 'heapMaxBytes'),
        processTotal: num(jvmReport, 'processTotal'),
        commitTotal: num(jvmReport, 'commitTotal'),
        pollTotal: num(jvmReport, 'pollTotal'),
      },
      threads,
      verified,
    };
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      // A failed run: the JVM closes on SIGTERM (shutdown hook), but a measurement that failed
      // is not worth waiting for.
      child.kill('SIGKILL');
    }
    if (opts.cleanup !== false) {
      // Streams' internal topics are named <application.id>-<store>-changelog.
      const ours = (await admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(`${applicationId}-`) || created.includes(t));
      if (ours.length > 0) await admin.deleteTopics({ topics: ours }).catch((err: unknown) => log(`  streams-peer: could not delete ${ours.join(', ')}: ${errorMessage(err)}`));
      await admin.deleteGroups([applicationId]).catch(() => undefined);
    }
    await admin.disconnect().catch(() => undefined);
    await state.cleanup();
  }
}

/** Creates `topic` if absent (returns true); an existing one must be empty, or the output count would not be ours. */
async function ensureEmptyTopic(admin: Admin, kafka: Kafka, topic: string, partitions: number): Promise<boolean> {
  if ((await admin.listTopics()).includes(topic)) {
    const held = (await partitionEnds(kafka, topic)).reduce((a, b) => a + b, 0);
    if (held > 0) throw new Error(`streams-peer: output topic ${topic} already holds ${held} records; give it a fresh one`);
    return false;
  }
  // The broker's defaults otherwise (replication 1 on the bench broker); the broker does not
  // auto-create topics, and Streams creates only its internal ones.
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  return true;
}

/** Sum over partitions of the group's committed offsets, each capped at the partition's end. */
async function committedCount(admin: Admin, groupId: string, topic: string, ends: readonly number[]): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  let sum = 0;
  for (const p of offsets?.partitions ?? []) {
    const end = ends[p.partition] ?? 0;
    // '-1' means nothing committed yet for that partition.
    sum += Math.min(end, Math.max(0, Number(p.offset)));
  }
  return sum;
}

/**
 * Reads the output topic back (read_committed, fresh group) and checks it the way nudge's own
 * tests do: one output per input, each input record (partition, offset) exactly once, and each
 * user's last count equal to its number of events (so the counts sum to N).
 */
async function verifyOutputs(kafka: Kafka, opts: StreamsPeerOptions, applicationId: string): Promise<StreamsPeerResult['verified']> {
  const read = async (topic: string, onValue: (v: string) => void): Promise<number> => {
    const consumer = kafka.consumer({ groupId: `${applicationId}-verify-${randomBytes(3).toString('hex')}`, readUncommitted: false });
    let n = 0;
    let lastAt = performance.now();
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            if (m.value !== null) onValue(m.value.toString('utf8'));
            n++;
          }
          lastAt = performance.now();
        },
      });
      // Done once the expected count is in and nothing more arrived for a second (a duplicate
      // would), or after 30 s of silence (the check below then reports what is missing).
      for (;;) {
        const quiet = performance.now() - lastAt;
        if ((n >= opts.events && quiet > 1000) || quiet > 30_000) return n;
        await sleep(50);
      }
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  };
  const sources = new Set<string>();
  const maxCount = new Map<string, number>();
  const outputs = await read(opts.outTopic, (v) => {
    const o = JSON.parse(v) as { userId: string; count: number; partition: number; offset: number };
    sources.add(`${o.partition}:${o.offset}`);
    if ((maxCount.get(o.userId) ?? 0) < o.count) maxCount.set(o.userId, o.count);
  });
  let countsSum = 0;
  for (const c of maxCount.values()) countsSum += c;
  let capOutputs: number | null = null;
  if (opts.cap) {
    // A cap output per event of the capped type: only counted, since the bench does not know that number.
    capOutputs = await read(opts.cap.outTopic, () => undefined).catch(() => null);
  }
  return { outputs, distinctSources: sources.size, countsSum, users: maxCount.size, capOutputs };
}

// ---------------------------------------------------------------------------
// Standalone: its own broker, the bench's events, both guarantees

interface MainArgs {
  events: number;
  users: number;
  partitions: number;
  seed: number;
  brokers: string | undefined;
  nudge: boolean;
  capType: string | undefined;
  jvmArgs: string[];
  guarantees: Guarantee[];
}

function parseMainArgs(argv: string[]): MainArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string', default: '200000' },
      users: { type: 'string', default: '20000' },
      partitions: { type: 'string', default: '4' },
      seed: { type: 'string' },
      brokers: { type: 'string' },
      nudge: { type: 'boolean', default: false },
      'cap-type': { type: 'string' },
      guarantee: { type: 'string' },
      'jvm-arg': { type: 'string', multiple: true },
    },
  });
  const int = (v: string | undefined, name: string, fallback: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  const g = values.guarantee;
  if (g !== undefined && g !== 'exactly_once' && g !== 'at_least_once') throw new Error(`--guarantee must be exactly_once or at_least_once, got ${g}`);
  return {
    events: int(values.events, 'events', 200_000),
    users: int(values.users, 'users', 20_000),
    partitions: int(values.partitions, 'partitions', 4),
    seed: int(values.seed, 'seed', DEFAULT_SEED),
    brokers: values.brokers,
    nudge: values.nudge === true,
    capType: values['cap-type'],
    jvmArgs: values['jvm-arg'] ?? [],
    guarantees: g === undefined ? ['exactly_once', 'at_least_once'] : [g],
  };
}

export interface StreamsPeerMainReport {
  params: Omit<MainArgs, 'guarantees'> & { kafka: string };
  build: { coldOrWarm: 'cold' | 'warm'; ms: number };
  runs: Array<{ guarantee: Guarantee; peer: StreamsPeerResult; nudge: NudgeKafkaResult | null; ratios: { eventsPerSec: number; eventsPerCpuSecond: number } | null }>;
}

/**
 * `node dist/bench/streams-peer.js [--events N] [--partitions P] [--users U] [--brokers H:P]
 * [--nudge] [--cap-type TYPE] [--guarantee G] [--jvm-arg OPT]…`: starts a broker unless --brokers is given,
 * produces the bench's events, runs the peer under each guarantee, prints progress on stderr
 * and one JSON report on stdout. With --nudge, nudge runs first on each guarantee's topic (as
 * bench/runtime.ts runs it) and the peer then reads the same topic: a same-run ratio.
 */
export async function main(argv: string[] = process.argv.slice(2), options: { print?: boolean; log?: (s: string) => void } = {}): Promise<StreamsPeerMainReport> {
  const args = parseMainArgs(argv);
  const log = options.log ?? ((s: string): void => void process.stderr.write(`${s}\n`));
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] ??= '1';
  const logger: Logger = createLogger('warn', pino.destination({ dest: 2, sync: true }));

  // Built before the broker starts, so that a cold build's time is its own.
  const build = await ensureStreamsPeer(log);
  log(`streams-peer: jars ${build.cached ? 'cached' : 'built'} in ${(build.ms / 1000).toFixed(1)} s (${build.dir})`);

  const tmp = tempDir('nudge-streams-peer-main-');
  let broker: KafkaBroker | undefined;
  try {
    let brokers = args.brokers;
    if (brokers === undefined) {
      log(`starting a Kafka ${KAFKA_VERSION} broker`);
      broker = await startBroker({ log: (s) => log(`  ${s}`) });
      brokers = broker.brokers;
    }
    const kafka = benchKafka(brokers, logger);
    log(`generating ${args.events} events over ${args.users} users (seed ${args.seed})`);
    const events: BenchEvents = generateEvents(args.events, args.users, args.seed);
    const brokerPid = broker?.pid;

    // Without --nudge the events are produced once, and both guarantees read the same topic.
    let shared: string | undefined;
    const runs: StreamsPeerMainReport['runs'] = [];
    for (const guarantee of args.guarantees) {
      let topic: string;
      let prefix: string;
      let nudge: NudgeKafkaResult | null = null;
      if (args.nudge) {
        const config = kafkaRunConfig(brokers, args.partitions, guarantee, join(tmp.dir, `nudge-${guarantee}`));
        prefix = config.topics.prefix;
        log(`nudge ${guarantee}: prefix ${prefix}`);
        nudge = await runNudgeKafka(kafka, config, events, { logger, log, ...(brokerPid !== undefined ? { brokerPid } : {}) });
        log(`  nudge: ${Math.round(nudge.eventsPerSec)} events/s in ${(nudge.elapsedMs / 1000).toFixed(1)} s, CPU ${(nudge.cpuMs / 1000).toFixed(1)} s`);
        topic = new TopicNames(config.topics).input('events');
      } else if (shared === undefined) {
        prefix = `streams-peer-${randomBytes(4).toString('hex')}.`;
        topic = `${prefix}events`;
        const admin = kafka.admin();
        await admin.connect();
        try {
          await admin.createTopics({ topics: [{ topic, numPartitions: args.partitions }], waitForLeaders: true });
        } finally {
          await admin.disconnect();
        }
        const produce = await produceEvents(kafka, topic, events);
        log(`produced ${args.events} events to ${topic} in ${(produce.elapsedMs / 1000).toFixed(1)} s (${Math.round(produce.msgsPerSec)} msg/s)`);
        shared = topic;
      } else {
        topic = shared;
        prefix = topic.slice(0, -'events'.length);
      }
      const tag = guarantee === 'exactly_once' ? 'eos' : 'alos';
      log(`streams peer ${guarantee} on ${topic}`);
      const peer = await runStreamsPeer({
        brokers,
        topic,
        outTopic: `${prefix}streams-peer-counts-${tag}`,
        events: args.events,
        guarantee,
        partitions: args.partitions,
        log,
        ...(brokerPid !== undefined ? { brokerPid } : {}),
        jvmArgs: args.jvmArgs,
        ...(args.capType !== undefined ? { cap: { type: args.capType, outTopic: `${prefix}streams-peer-caps-${tag}` } } : {}),
      });
      if (args.capType !== undefined) {
        // One windowed-count update, so one cap output, per event of the capped type.
        const typeIndex = events.types.indexOf(args.capType as (typeof events.types)[number]);
        let expected = 0;
        for (const t of events.type) if (t === typeIndex) expected++;
        if (peer.verified.capOutputs !== expected) throw new Error(`streams-peer ${guarantee}: ${peer.verified.capOutputs} cap outputs, expected ${expected} (${args.capType} events)`);
        log(`  cap branch: ${expected} ${args.capType} events, one windowed count each`);
      }
      log(
        `  peer: ${Math.round(peer.eventsPerSec)} events/s in ${(peer.wallMs / 1000).toFixed(1)} s (RUNNING after ${Math.round(peer.startupMs)} ms, JVM launch ${Math.round(peer.launchMs)} ms), ` +
          `CPU ${peer.cpuSeconds.toFixed(1)} s = ${(peer.cpuPerCore * 100).toFixed(0)}% of a core, ${Math.round(peer.eventsPerCpuSecond)} events per CPU-second`,
      );
      const ratios = nudge === null ? null : { eventsPerSec: nudge.eventsPerSec / peer.eventsPerSec, eventsPerCpuSecond: args.events / (nudge.cpuMs / 1000) / peer.eventsPerCpuSecond };
      if (ratios !== null) log(`  nudge ÷ peer: ${ratios.eventsPerSec.toFixed(3)} in events/s, ${ratios.eventsPerCpuSecond.toFixed(3)} in events per CPU-second`);
      runs.push({ guarantee, peer, nudge, ratios });
    }
    const { guarantees: _g, ...params } = args;
    const report: StreamsPeerMainReport = {
      params: { ...params, brokers: brokers, kafka: broker !== undefined ? KAFKA_VERSION : 'external' },
      build: { coldOrWarm: build.cached ? 'warm' : 'cold', ms: build.ms },
      runs,
    };
    // Standalone, the JSON on stdout is the output; a caller in-process takes the return value.
    if (options.print !== false) process.stdout.write(`${JSON.stringify(report)}\n`);
    return report;
  } finally {
    if (broker !== undefined) {
      log('stopping the broker');
      await broker.stop().catch((err: unknown) => log(`broker stop failed: ${errorMessage(err)}`));
    }
    tmp.cleanup();
  }
}

function isMain(): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return pathToFileURL(realpathSync(argv1)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isMain()) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}

/** A path with the user's home directory written as `~`. */
function homeless(path: string): string {
  const home = homedir();
  return home.length > 1 ? path.split(home).join('~') : path;
}
