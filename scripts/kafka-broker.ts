/**
 * A real single-node Kafka 3.9.1 broker (KRaft, combined broker+controller) for
 * tests and benchmarks, run from Maven Central jars: it needs only a JVM and Maven,
 * no Docker and no system package.
 *
 * Library:
 *   const broker = await startBroker();          // broker.brokers === '127.0.0.1:<port>'
 *   ...
 *   await broker.stop();
 *
 * CLI (after build):
 *   node dist/scripts/kafka-broker.js fetch      # download the jars into the cache only
 *   node dist/scripts/kafka-broker.js start      # prints KAFKA_BROKERS=127.0.0.1:<port>, runs until SIGINT/SIGTERM
 *
 * Environment:
 *   NUDGE_KAFKA_CACHE       cache dir holding libs/ and the completion marker
 *                           (default ~/.cache/nudge/kafka-3.9.1)
 *   NUDGE_REPO_ROOT         repo root holding scripts/kafka/ (default: walk up to package.json)
 *   NUDGE_KEEP_KAFKA_DATA   if set, stop() leaves the data dir behind for post-mortems
 *   JAVA_HOME               if set, $JAVA_HOME/bin/java is used instead of java on PATH
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, realpathSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { realClockEnv } from './real-clock.js';

export const KAFKA_VERSION = '3.9.1';

const HOST = '127.0.0.1';
const MARKER_FILE = '.nudge-kafka-libs-complete';
const LOG_TAIL_LINES = 40;
const STOP_GRACE_MS = 15_000;

export type LogFn = (s: string) => void;

export interface EnsureKafkaJarsOptions {
  log?: LogFn;
}

export interface StartBrokerOptions {
  /** Reused as-is when it already holds a formatted log dir (restart); created otherwise. */
  dataDir?: string;
  /** PLAINTEXT port; free port if omitted (or the one recorded in dataDir's server.properties). */
  port?: number;
  /** CONTROLLER port; same defaulting as `port`. */
  controllerPort?: number;
  /** Max heap in MiB (default 1024). */
  heapMb?: number;
  log?: LogFn;
  /** Budget for the JVM to become usable, excluding any jar download (default 120000). */
  startTimeoutMs?: number;
}

export interface BrokerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopOptions {
  /** Keep the data dir even without NUDGE_KEEP_KAFKA_DATA, e.g. to start again on it. */
  keepData?: boolean;
}

export interface KafkaBroker {
  /** bootstrap string for clients: '127.0.0.1:<port>' */
  brokers: string;
  port: number;
  controllerPort: number;
  dataDir: string;
  logFile: string;
  pid: number;
  /** Settles when the JVM exits for any reason, including stop(). */
  exited: Promise<BrokerExit>;
  /** SIGTERM, SIGKILL after 15 s; idempotent; removes dataDir unless kept. */
  stop(opts?: StopOptions): Promise<void>;
  /** Stops (keeping data) and starts a new broker on the same dataDir and ports. */
  restart(opts?: Omit<StartBrokerOptions, 'dataDir' | 'port' | 'controllerPort'>): Promise<KafkaBroker>;
}

// ---------------------------------------------------------------------------
// Locations

function findRepoRoot(): string {
  const fromEnv = process.env.NUDGE_REPO_ROOT;
  if (fromEnv) return resolve(fromEnv);
  // The file runs from dist/scripts/ after build and from scripts/ under a TS loader,
  // so walk up rather than hard-coding a depth.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `kafka-broker: no package.json above ${fileURLToPath(import.meta.url)}; set NUDGE_REPO_ROOT to the nudge repo root`,
      );
    }
    dir = parent;
  }
}

function kafkaAssetsDir(): string {
  const dir = join(findRepoRoot(), 'scripts', 'kafka');
  if (!existsSync(join(dir, 'pom.xml'))) {
    throw new Error(`kafka-broker: ${join(dir, 'pom.xml')} not found; set NUDGE_REPO_ROOT to the nudge repo root`);
  }
  return dir;
}

function cacheDir(): string {
  const fromEnv = process.env.NUDGE_KAFKA_CACHE;
  return fromEnv ? resolve(fromEnv) : join(homedir(), '.cache', 'nudge', `kafka-${KAFKA_VERSION}`);
}

function javaBin(): string {
  const home = process.env.JAVA_HOME;
  return home ? join(home, 'bin', 'java') : 'java';
}

// ---------------------------------------------------------------------------
// Jars

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

function run(cmd: string, args: string[], cwd?: string): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: realClockEnv() });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolvePromise({ code, signal, output: Buffer.concat(chunks).toString('utf8') }),
    );
  });
}

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

/**
 * Returns the directory holding the broker's jars, downloading them with Maven on
 * first use. The marker records a hash of the POM so that editing the POM (e.g. a
 * version bump) refetches instead of silently running stale jars.
 */
export async function ensureKafkaJars(opts: EnsureKafkaJarsOptions = {}): Promise<string> {
  const log = opts.log ?? (() => {});
  const cache = cacheDir();
  const libs = join(cache, 'libs');
  const marker = join(cache, MARKER_FILE);
  const pom = join(kafkaAssetsDir(), 'pom.xml');
  const pomHash = createHash('sha256').update(await readFile(pom)).digest('hex');

  const recorded = await readFile(marker, 'utf8').catch(() => '');
  if (recorded.trim() === pomHash && existsSync(libs)) return libs;

  await mkdir(cache, { recursive: true });
  // Download into a private dir and rename it into place, so that test processes
  // racing on a cold cache never see (or corrupt) a half-copied libs dir.
  const staging = await mkdtemp(join(cache, 'libs.tmp-'));
  const started = Date.now();
  log(`kafka-broker: fetching Kafka ${KAFKA_VERSION} jars with Maven into ${libs} (first run only)`);
  try {
    const res = await run(
      'mvn',
      ['-q', '-B', '-Dstyle.color=never', '-f', pom, `-Dkafka.libs.dir=${staging}`, 'dependency:copy-dependencies'],
      dirname(pom),
    ).catch((err: unknown) => {
      throw new Error(`kafka-broker: could not run mvn (is Maven installed?): ${String(err)}`);
    });
    if (res.code !== 0) {
      throw new Error(
        `kafka-broker: mvn dependency:copy-dependencies failed (code ${res.code}, signal ${res.signal}):\n${lastLines(res.output, LOG_TAIL_LINES)}`,
      );
    }
    if (!existsSync(join(staging, `kafka_2.13-${KAFKA_VERSION}.jar`))) {
      throw new Error(`kafka-broker: mvn succeeded but kafka_2.13-${KAFKA_VERSION}.jar is not in ${staging}`);
    }

    const stillStale = (await readFile(marker, 'utf8').catch(() => '')).trim() !== pomHash;
    if (stillStale) {
      // A libs dir without a matching marker is from an older POM or an interrupted
      // swap; either way it must not be mixed with the fresh jars.
      if (existsSync(libs)) {
        const old = `${libs}.old-${process.pid}-${Date.now()}`;
        await rename(libs, old).catch(() => {});
        await rm(old, { recursive: true, force: true });
      }
      // mkdtemp creates 0700; the cache is meant to be shared like ~/.m2.
      await chmod(staging, 0o755);
      await rename(staging, libs).catch(async (err: unknown) => {
        // Lost a race with a concurrent fetch of the same POM: theirs is as good as ours.
        if (!existsSync(join(libs, `kafka_2.13-${KAFKA_VERSION}.jar`))) throw err;
      });
      await writeFile(marker, `${pomHash}\n`);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  log(`kafka-broker: jars ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return libs;
}

// ---------------------------------------------------------------------------
// Ports and ids

async function pickFreePorts(n: number): Promise<number[]> {
  // All sockets stay open until every port is known, so the n ports are distinct.
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolvePromise, reject) => {
          const srv = createServer();
          srv.once('error', reject);
          srv.listen(0, HOST, () => resolvePromise(srv));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === 'string') throw new Error('kafka-broker: unexpected server address');
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Fails in milliseconds what the JVM would only report after ~5 s of startup. */
async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new BrokerStartError(
          `kafka-broker: ${what} port ${HOST}:${port} is not available (${err.code ?? err.message}); is another broker still running?`,
          err.code === 'EADDRINUSE',
        ),
      ),
    );
    srv.listen(port, HOST, () => srv.close(() => resolvePromise()));
  });
}

function canConnect(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const sock = createConnection({ host: HOST, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolvePromise(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Same shape as Kafka's Uuid.randomUuid().toString(): 16 random bytes, base64url
 * without padding, never starting with '-' (it would parse as a CLI flag). Saves
 * a JVM start compared with `StorageTool random-uuid`.
 */
function kafkaClusterId(): string {
  for (;;) {
    const bytes = randomBytes(16);
    if (bytes.every((b) => b === 0)) continue;
    const id = bytes.toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

// ---------------------------------------------------------------------------
// Broker

function serverProperties(p: { port: number; controllerPort: number; logDir: string }): string {
  return [
    '# Written by scripts/kafka-broker.ts: single-node KRaft (combined mode) for tests and benchmarks.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${p.controllerPort}`,
    'controller.listener.names=CONTROLLER',
    `listeners=PLAINTEXT://${HOST}:${p.port},CONTROLLER://${HOST}:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${p.port}`,
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${p.logDir}`,
    '',
    '# One node: every internal topic must be satisfiable by a single replica.',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    '',
    '# Fast first group join / first transaction on a 2-core machine.',
    'group.initial.rebalance.delay.ms=0',
    'offsets.topic.num.partitions=3',
    'transaction.state.log.num.partitions=3',
    '',
    '# Topics are created explicitly (by nudge or the test), never by a typo in a topic name.',
    'auto.create.topics.enable=false',
    'num.partitions=1',
    '',
    '# Compacted topics (state changelogs) must actually compact.',
    'log.cleaner.enable=true',
    '# 64 MiB: small enough that a long benchmark rolls segments, large enough not to roll constantly.',
    'log.segment.bytes=67108864',
    '',
  ].join('\n');
}

function parseRecordedPorts(props: string): { port?: number; controllerPort?: number } {
  const line = props.split('\n').find((l) => l.startsWith('listeners='));
  if (!line) return {};
  const out: { port?: number; controllerPort?: number } = {};
  for (const m of line.matchAll(/(PLAINTEXT|CONTROLLER):\/\/[^:,]+:(\d+)/g)) {
    const port = Number(m[2]);
    if (m[1] === 'PLAINTEXT') out.port = port;
    else out.controllerPort = port;
  }
  return out;
}

async function readTail(file: string, n: number): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 256 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return lastLines(buf.toString('utf8'), n);
    } finally {
      await fh.close();
    }
  } catch {
    return '(no broker log)';
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function describeClusterOnce(brokers: string): Promise<number> {
  const kafka = new Kafka({
    clientId: 'nudge-kafka-broker-probe',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// JVMs a crashed or forgetful test would otherwise leave holding ports forever.
const liveBrokers = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  liveBrokers.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of liveBrokers) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

class BrokerStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/**
 * Starts a broker and resolves once a kafkajs admin client sees it in cluster
 * metadata. Passing the dataDir (and ports) of a stopped broker restarts it on
 * the same log: formatting is skipped when meta.properties exists, and ports
 * default to the ones recorded in that dataDir's server.properties.
 */
export async function startBroker(opts: StartBrokerOptions = {}): Promise<KafkaBroker> {
  const log = opts.log ?? (() => {});
  const libs = await ensureKafkaJars({ log });
  // Ports we chose can be grabbed by another process between probe and bind;
  // only then is a retry with fresh ports safe.
  const choosePorts = opts.port === undefined && opts.controllerPort === undefined && opts.dataDir === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(libs, opts, log);
    } catch (err) {
      if (choosePorts && err instanceof BrokerStartError && err.portInUse && attempt < 3) {
        log(`kafka-broker: port taken between probe and bind, retrying with new ports`);
        continue;
      }
      throw err;
    }
  }
}

async function startOnce(libs: string, opts: StartBrokerOptions, log: LogFn): Promise<KafkaBroker> {
  const t0 = Date.now();
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000;
  const heapMb = opts.heapMb ?? 1024;
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : await mkdtemp(join(tmpdir(), 'nudge-kafka-'));
  await mkdir(dataDir, { recursive: true });
  const propsFile = join(dataDir, 'server.properties');
  const logDir = join(dataDir, 'kraft-logs');
  const logFile = join(dataDir, 'broker.log');
  const log4jFile = join(kafkaAssetsDir(), 'log4j.properties');

  const recorded = existsSync(propsFile) ? parseRecordedPorts(await readFile(propsFile, 'utf8')) : {};
  let port = opts.port ?? recorded.port;
  let controllerPort = opts.controllerPort ?? recorded.controllerPort;
  if (port === undefined || controllerPort === undefined) {
    const [a, b] = await pickFreePorts(2);
    if (a === undefined || b === undefined) throw new Error('kafka-broker: could not pick free ports');
    port ??= a;
    controllerPort ??= b === port ? a : b;
  }
  if (port === controllerPort) throw new Error(`kafka-broker: port and controllerPort are both ${port}`);
  try {
    await assertPortFree(port, 'PLAINTEXT');
    await assertPortFree(controllerPort, 'CONTROLLER');
  } catch (err) {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  await writeFile(propsFile, serverProperties({ port, controllerPort, logDir }));

  const java = javaBin();
  const log4jArg = `-Dlog4j.configuration=${pathToFileURL(log4jFile).href}`;
  const classpath = `${libs}/*`;

  if (!existsSync(join(logDir, 'meta.properties'))) {
    const clusterId = kafkaClusterId();
    const res = await run(java, [
      '-Xmx256m',
      log4jArg,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      propsFile,
    ]).catch((err: unknown) => {
      throw new Error(`kafka-broker: could not run ${java} (is Java 17 installed?): ${String(err)}`);
    });
    if (res.code !== 0) {
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      throw new Error(`kafka-broker: StorageTool format failed (code ${res.code}):\n${lastLines(res.output, LOG_TAIL_LINES)}`);
    }
    log(`kafka-broker: formatted ${logDir} (cluster ${clusterId}) in ${Date.now() - t0} ms`);
  }

  const xms = Math.min(512, heapMb);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      java,
      [
        `-Xms${xms}m`,
        `-Xmx${heapMb}m`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:InitiatingHeapOccupancyPercent=35',
        '-Djava.awt.headless=true',
        log4jArg,
        '-cp',
        classpath,
        'kafka.Kafka',
        propsFile,
      ],
      // Not detached: a Ctrl-C in the terminal reaches the JVM too, so it shuts down with us.
      { stdio: ['ignore', fd, fd], env: realClockEnv() },
    );
  } finally {
    closeSync(fd);
  }

  const exited = new Promise<BrokerExit>((resolvePromise) => {
    child.once('exit', (code, signal) => {
      liveBrokers.delete(child);
      resolvePromise({ code, signal });
    });
  });
  const spawned = new Promise<void>((resolvePromise, reject) => {
    child.once('spawn', () => resolvePromise());
    child.once('error', reject);
  });
  try {
    await spawned;
  } catch (err) {
    throw new Error(`kafka-broker: could not start ${java}: ${String(err)}`);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('kafka-broker: JVM has no pid');
  trackChild(child);

  let stopping: Promise<void> | undefined;
  const stop = (stopOpts: StopOptions = {}): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // The timer is cleared so a caller's process can exit right after stop().
        let timer: NodeJS.Timeout | undefined;
        const graceful = await Promise.race([
          exited.then(() => true),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(false), STOP_GRACE_MS);
          }),
        ]);
        clearTimeout(timer);
        if (!graceful) {
          log(`kafka-broker: pid ${pid} ignored SIGTERM for ${STOP_GRACE_MS / 1000} s, sending SIGKILL`);
          child.kill('SIGKILL');
          await exited;
        }
      }
      if (!stopOpts.keepData && !process.env.NUDGE_KEEP_KAFKA_DATA) {
        await rm(dataDir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };

  const brokers = `${HOST}:${port}`;
  const handle: KafkaBroker = {
    brokers,
    port,
    controllerPort,
    dataDir,
    logFile,
    pid,
    exited,
    stop,
    restart: async (restartOpts = {}) => {
      await stop({ keepData: true });
      return startBroker({ ...restartOpts, log: restartOpts.log ?? opts.log, dataDir, port, controllerPort });
    },
  };

  // Both checks: the port opens once the data-plane acceptors start, but only a
  // metadata response listing the broker means it is unfenced and can host partitions.
  const deadline = Date.now() + startTimeoutMs;
  let exitInfo: BrokerExit | undefined;
  void exited.then((e) => {
    exitInfo = e;
  });
  let lastErr = 'port not open yet';
  for (;;) {
    if (exitInfo) {
      const tail = await readTail(logFile, LOG_TAIL_LINES);
      if (ownsDataDir && !process.env.NUDGE_KEEP_KAFKA_DATA) await rm(dataDir, { recursive: true, force: true });
      throw new BrokerStartError(
        `kafka-broker: broker exited during startup (code ${exitInfo.code}, signal ${exitInfo.signal}); last ${LOG_TAIL_LINES} lines of ${logFile}:\n${tail}`,
        /Address already in use|BindException/.test(tail),
      );
    }
    if (Date.now() > deadline) {
      const tail = await readTail(logFile, LOG_TAIL_LINES);
      await stop({ keepData: !ownsDataDir });
      throw new Error(
        `kafka-broker: broker not ready after ${startTimeoutMs} ms (${lastErr}); last ${LOG_TAIL_LINES} lines of ${logFile}:\n${tail}`,
      );
    }
    if (await canConnect(port, 1_000)) {
      try {
        const n = await describeClusterOnce(brokers);
        if (n > 0) break;
        lastErr = 'describeCluster returned no brokers';
      } catch (err) {
        lastErr = `describeCluster: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    await Promise.race([delay(250), exited]);
  }
  log(`kafka-broker: broker ${brokers} (pid ${pid}) ready in ${Date.now() - t0} ms, data in ${dataDir}`);
  return handle;
}

// ---------------------------------------------------------------------------
// CLI

function isMain(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return pathToFileURL(realpathSync(argv1)).href === import.meta.url;
  } catch {
    return false;
  }
}

async function cli(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      'controller-port': { type: 'string' },
      'data-dir': { type: 'string' },
      'heap-mb': { type: 'string' },
      keep: { type: 'boolean' },
    },
  });
  // stdout carries only the KAFKA_BROKERS line, so `eval "$(... start)"`-style use works.
  const log: LogFn = (s) => process.stderr.write(`${s}\n`);
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  switch (positionals[0]) {
    case 'fetch': {
      const libs = await ensureKafkaJars({ log });
      process.stdout.write(`${libs}\n`);
      return 0;
    }
    case 'start': {
      const broker = await startBroker({
        log,
        port: num(values.port, 'port'),
        controllerPort: num(values['controller-port'], 'controller-port'),
        heapMb: num(values['heap-mb'], 'heap-mb'),
        dataDir: values['data-dir'],
      });
      process.stdout.write(`KAFKA_BROKERS=${broker.brokers}\n`);
      const reason = await new Promise<string>((resolvePromise) => {
        process.once('SIGINT', () => resolvePromise('SIGINT'));
        process.once('SIGTERM', () => resolvePromise('SIGTERM'));
        void broker.exited.then((e) => resolvePromise(`broker exited (code ${e.code}, signal ${e.signal})`));
      });
      log(`kafka-broker: ${reason}, stopping broker`);
      const crashed = reason.startsWith('broker exited');
      if (crashed) log(await readTail(broker.logFile, LOG_TAIL_LINES));
      await broker.stop({ keepData: values.keep === true || crashed });
      return crashed ? 1 : 0;
    }
    default:
      process.stderr.write(
        'usage: kafka-broker.js fetch\n' +
          '       kafka-broker.js start [--port N] [--controller-port N] [--data-dir DIR] [--heap-mb N] [--keep]\n',
      );
      return 2;
  }
}

if (isMain()) {
  cli().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

/** Last `lines` lines of a broker log, e.g. for a test's failure message. */
export function readBrokerLogTail(logFile: string, lines = LOG_TAIL_LINES): Promise<string> {
  return readTail(logFile, lines);
}
