import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { validateConfig } from '../config/load.js';
import type { NudgeConfig } from '../config/schema.js';
import { EmbeddedLog, type AppendRecord } from '../processor/embedded/log.js';
import { TopicNames } from '../processor/topic-names.js';
import { ChildReplica } from './child-replica.js';
import { generateEvents, type BenchEvents } from './events.js';
import { assertCounted, engineFlags, benchLogger, startRun, validateIntegers, withBroker } from './harness.js';
import { createTopics, kafkaRunConfig, partitionEnds, produceEvents, runBareKafkajsMedian, type BareKafkajsResult } from './kafka.js';
import { collectGarbage, rate, throwIfAborted } from './measure.js';
import { runRawLmdb, type RawLmdbResult } from './raw-lmdb.js';
import { type MachineInfo } from './report.js';
import { writeRecoveryReport } from './report-recovery.js';
import type { RecoveryChildSpec } from './recovery-replica.js';
import { runBareChangelog, type BareChangelogResult } from './restore.js';
import { EMBEDDED_BATCH_RECORDS } from './runtime.js';

export interface RecoveryBenchOptions {
  events: number;
  users: number;
  partitions: number;
  /** Share of the input committed when the first replica is killed. */
  killAt: number;
  brokers?: string;
  kafka?: boolean;
  out?: string;
  log?: (s: string) => void;
  signal?: AbortSignal;
  seed?: number;
}

/** Generous: a restart on Kafka waits out the dead member's session (30 s by default) before it is assigned anything. */
const STEP_TIMEOUT_MS = 300_000;

/** The replica that was killed: how far it got. */
export interface KilledRun {
  /** From spawn to the kill. */
  killedAfterMs: number;
  committedAtKill: number;
  readyMs: number | null;
  peakRssBytes: number;
}

/** A replica started after a kill -9: time to ready, time to caught up, and whether anything was lost. */
export interface RestartRun {
  /** Spawn → the replica reports ready (every partition's task running: what /readyz reports). Node start-up is inside. */
  readyMs: number;
  /** Spawn → the restore was planned (group joined, partitions assigned); null on the embedded engine, which has no group. */
  assignedMs: number | null;
  /** The same from the child's own start (without the spawn). */
  readyInChildMs: number;
  /** Spawn → its checkpoints cover the whole input. */
  caughtUpMs: number;
  committedAtReady: number;
  /** Records processed between ready and caught up, and their rate. */
  catchUpRecords: number;
  catchUpRecordsPerSec: number;
  /** Sum of every user's count once caught up: must equal the events (nothing lost, nothing twice). */
  counted: number;
  users: number;
  stateBytesPerUser: number;
  peakRssBytes: number;
}

export interface RecoveryReport {
  scenario: 'recovery';
  date: string;
  command: string;
  durationMs: number;
  machine: MachineInfo;
  params: { events: number; users: number; partitions: number; killAt: number; seed: number; topology: string; brokers: string | null };
  embedded: { killed: KilledRun; sameDir: RestartRun; rawLmdb: RawLmdbResult };
  kafka: {
    version: string;
    sessionTimeoutMs: number;
    killed: KilledRun;
    sameDir: RestartRun;
    /** The same-dir replica was killed -9 in turn once caught up; this one starts on an empty dir and restores from the changelog. */
    sameDirKilled: KilledRun;
    freshDir: RestartRun;
    changelogRecords: number;
    bareKafkajs: BareKafkajsResult;
    bareChangelog: BareChangelogResult;
  } | null;
  ratios: {
    /** Embedded catch-up records/s after the restart ÷ raw LMDB read-modify-writes/s. */
    embeddedCatchUpVsRawLmdb: number;
    /** Kafka same-dir catch-up records/s ÷ bare kafkajs msgs/s on the input. */
    kafkaCatchUpVsBareKafkajs: number | null;
    /** Bare kafkajs time to read the whole changelog ÷ the fresh-dir replica's time from assignment to ready (1 = restoring costs no more than reading). */
    kafkaChangelogReadVsFreshReady: number | null;
  };
}

export function recoveryCommand(opts: Pick<RecoveryBenchOptions, 'events' | 'users' | 'partitions' | 'killAt' | 'brokers' | 'kafka'>): string {
  const parts = ['node dist/bench/main.js recovery', `--events ${opts.events}`, `--users ${opts.users}`, `--partitions ${opts.partitions}`, `--kill-at ${opts.killAt}`];
  return [...parts, ...engineFlags(opts)].join(' ');
}

/**
 * The "recovery" scenario: a replica of the per-user counter in a child process is killed
 * with SIGKILL mid-run, and a new one started on the same state dir (and, on Kafka, once more
 * on an empty dir, restoring from the changelog): time from spawn to ready and to caught up,
 * on both engines, and the final counts, which must equal the input.
 */
export async function runRecoveryBench(opts: RecoveryBenchOptions): Promise<RecoveryReport> {
  validateIntegers([
    ['events', opts.events, 1000],
    ['users', opts.users, 1],
    ['partitions', opts.partitions, 1],
  ]);
  if (!(opts.killAt > 0 && opts.killAt < 1)) throw new Error(`--kill-at must be within (0, 1), got ${opts.killAt}`);
  const { log, signal, seed, logger, date, machine, t0, tmp } = startRun('recovery', opts);
  try {
    const events = generateEvents(opts.events, opts.users, seed);
    log('raw LMDB reference');
    const rawLmdb = await runRawLmdb(events, opts.partitions, EMBEDDED_BATCH_RECORDS, join(tmp.dir, 'raw'));
    assertCounted('raw LMDB', rawLmdb.counted, opts.events);
    collectGarbage();

    log(`embedded: ${opts.events} events, kill -9 at ${Math.round(opts.killAt * 100)}%`);
    const embedded = { ...(await embeddedRecovery(events, opts, join(tmp.dir, 'embedded'), log, signal)), rawLmdb };
    throwIfAborted(signal);

    const kafka =
      opts.kafka === false
        ? null
        : await withBroker({ ...(opts.brokers !== undefined ? { brokers: opts.brokers } : {}), logger, log, ...(signal ? { signal } : {}) }, async (b) => {
            const config = kafkaRunConfig(b.brokers, opts.partitions, 'exactly_once', join(tmp.dir, 'kafka-a'));
            b.used.push(config);
            const extra = { ...(signal ? { signal } : {}), ...(b.brokerPid !== undefined ? { brokerPid: b.brokerPid } : {}) };
            const run = await kafkaRecovery(b.kafka, b.brokers, config, events, opts, tmp.dir, log, signal);
            const topics = new TopicNames(config.topics);
            const bare = await runBareKafkajsMedian(b.kafka, config, topics.input('events'), opts.events, 3, { log, ...extra });
            log(`bare kafkajs reading the changelog (${run.changelogRecords} records)`);
            const bareChangelog = await runBareChangelog(b.kafka, config, topics.changelog, await partitionEnds(b.kafka, topics.changelog), extra);
            return { ...run, version: b.version, sessionTimeoutMs: config.kafka.sessionTimeoutMs, bareKafkajs: bare.bareKafkajs, bareChangelog };
          });

    const report: RecoveryReport = {
      scenario: 'recovery',
      date,
      command: recoveryCommand(opts),
      durationMs: performance.now() - t0,
      machine,
      params: { events: opts.events, users: opts.users, partitions: opts.partitions, killAt: opts.killAt, seed, topology: 'operators/user-counter.ts', brokers: opts.brokers ?? null },
      embedded,
      kafka,
      ratios: {
        embeddedCatchUpVsRawLmdb: embedded.sameDir.catchUpRecordsPerSec / rawLmdb.opsPerSec,
        kafkaCatchUpVsBareKafkajs: kafka === null ? null : kafka.sameDir.catchUpRecordsPerSec / kafka.bareKafkajs.msgsPerSec,
        kafkaChangelogReadVsFreshReady: kafka === null ? null : kafka.bareChangelog.elapsedMs / (kafka.freshDir.readyMs - (kafka.freshDir.assignedMs ?? 0)),
      },
    };
    if (opts.out !== undefined) {
      const written = await writeRecoveryReport(report, opts.out);
      log(`wrote ${written.json} and ${written.markdown}`);
    }
    return report;
  } finally {
    tmp.cleanup();
  }
}

async function embeddedRecovery(
  events: BenchEvents,
  opts: RecoveryBenchOptions,
  dir: string,
  log: (s: string) => void,
  signal: AbortSignal | undefined,
): Promise<{ killed: KilledRun; sameDir: RestartRun }> {
  // The log lives where `nudge run` opens it (state.dir/embedded-log), filled before any replica starts.
  const elog = new EmbeddedLog(join(dir, 'embedded-log'));
  const topic = new TopicNames(validateConfig({ state: { dir } }).topics).input('events');
  let ends: number[];
  try {
    elog.createTopic(topic, opts.partitions);
    for (let from = 0; from < events.keys.length; from += 10_000) {
      const chunk: AppendRecord[] = [];
      for (let i = from; i < Math.min(events.keys.length, from + 10_000); i++) chunk.push({ key: events.keys[i] as string, value: events.values[i] as string });
      elog.append(topic, chunk);
    }
    ends = Array.from({ length: opts.partitions }, (_, p) => elog.end(topic, p));
  } finally {
    await elog.close();
  }
  const spec: RecoveryChildSpec = { engine: 'embedded', stateDir: dir, partitions: opts.partitions, ends };
  const killed = await runUntilKilled(spec, opts, log, signal);
  const sameDir = await runRestart(spec, opts, 'same state dir', log, signal);
  return { killed, sameDir: sameDir.run };
}

async function kafkaRecovery(
  kafka: Kafka,
  brokers: string,
  config: NudgeConfig,
  events: BenchEvents,
  opts: RecoveryBenchOptions,
  dir: string,
  log: (s: string) => void,
  signal: AbortSignal | undefined,
): Promise<{ killed: KilledRun; sameDir: RestartRun; sameDirKilled: KilledRun; freshDir: RestartRun; changelogRecords: number }> {
  const topics = new TopicNames(config.topics);
  await createTopics(kafka, config, benchLogger());
  await produceEvents(kafka, topics.input('events'), events, 5000, signal);
  const ends = await partitionEnds(kafka, topics.input('events'));
  const spec: RecoveryChildSpec = { engine: 'kafka', stateDir: config.state.dir, partitions: opts.partitions, ends, brokers, prefix: config.topics.prefix };
  log(`kafka exactly_once: ${opts.events} events, kill -9 at ${Math.round(opts.killAt * 100)}% (prefix ${config.topics.prefix})`);
  const killed = await runUntilKilled(spec, opts, log, signal);
  const same = await runRestart(spec, opts, 'same state dir', log, signal);
  // Lose the machine: kill -9 once more, and start on an empty dir, which must restore from the changelog.
  const killedAfterMs = performance.now() - same.child.spawnedAt;
  await same.child.kill9();
  // Caught up: its last progress report may predate the last batch.
  const sameDirKilled: KilledRun = { killedAfterMs, committedAtKill: opts.events, readyMs: same.child.readyMs, peakRssBytes: same.child.peakRssBytes };
  const changelogEnds = await partitionEnds(kafka, topics.changelog);
  const fresh = await runRestart({ ...spec, stateDir: join(dir, 'kafka-b') }, opts, 'fresh state dir (restore from the changelog)', log, signal);
  await fresh.child.stop();
  return { killed, sameDir: same.run, sameDirKilled, freshDir: fresh.run, changelogRecords: changelogEnds.reduce((a, b) => a + b, 0) };
}

async function runUntilKilled(spec: RecoveryChildSpec, opts: RecoveryBenchOptions, log: (s: string) => void, signal: AbortSignal | undefined): Promise<KilledRun> {
  const killAt = Math.floor(opts.events * opts.killAt);
  const child = new ChildReplica(spec);
  try {
    await child.until(() => child.committed >= killAt || child.caughtUp !== null, `${killAt} committed`, STEP_TIMEOUT_MS, signal);
    if (child.caughtUp !== null) throw new Error('the replica caught up before it could be killed mid-run: use more --events');
    const killedAfterMs = performance.now() - child.spawnedAt;
    await child.kill9();
    log(`  kill -9 after ${(killedAfterMs / 1000).toFixed(1)} s with ${child.committed} of ${opts.events} committed`);
    return { killedAfterMs, committedAtKill: child.committed, readyMs: child.readyMs, peakRssBytes: child.peakRssBytes };
  } catch (err) {
    await child.kill9();
    throw err;
  }
}

async function runRestart(spec: RecoveryChildSpec, opts: RecoveryBenchOptions, what: string, log: (s: string) => void, signal: AbortSignal | undefined): Promise<{ run: RestartRun; child: ChildReplica }> {
  const child = new ChildReplica(spec);
  try {
    await child.until(() => child.caughtUp !== null, 'catching up', STEP_TIMEOUT_MS, signal);
    const c = child.caughtUp as NonNullable<ChildReplica['caughtUp']>;
    const readyMs = child.readyMs ?? c.atMs;
    // Nothing lost, nothing counted twice: exactly one increment per event survived the kill.
    assertCounted(`${spec.engine} restart on ${what}`, c.counted, opts.events);
    const catchUpRecords = opts.events - child.committedAtReady;
    const run: RestartRun = {
      readyMs,
      assignedMs: child.assignedMs,
      readyInChildMs: child.readyInChildMs ?? readyMs,
      caughtUpMs: c.atMs,
      committedAtReady: child.committedAtReady,
      catchUpRecords,
      catchUpRecordsPerSec: rate(catchUpRecords, c.atMs - readyMs),
      counted: c.counted,
      users: c.users,
      stateBytesPerUser: c.stateFileBytes / Math.max(1, c.users),
      peakRssBytes: child.peakRssBytes,
    };
    log(`  restart on ${what}: ready after ${(readyMs / 1000).toFixed(2)} s, caught up after ${(c.atMs / 1000).toFixed(2)} s, ${c.counted} counted`);
    if (spec.engine === 'embedded') await child.stop();
    return { run, child };
  } catch (err) {
    await child.kill9();
    throw err;
  }
}
