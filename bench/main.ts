import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { errorMessage } from '../errors/index.js';
import { defaultOutDir, fmtInt, fmtMiB, fmtRatio, fmtSec } from './report.js';
import { runDecisionsBench, type DecisionsReport } from './decisions.js';
import { eligibilityApiTable, runEligibilityApiBench } from './eligibility-api.js';
import { runSendPathBench, sendPathTable } from './send-path.js';
import { runRestoreBench, type RestoreReport } from './restore.js';
import { runRuntimeBench, type RuntimeReport } from './runtime.js';
import { runIngestBench } from './ingest.js';
import { ingestTable } from './report-ingest.js';
import { runCampaignBench } from './campaign.js';
import { campaignTable } from './report-campaign.js';
import { runRecoveryBench } from './recovery.js';
import { recoveryTable } from './report-recovery.js';

class UsageError extends Error {}

/**
 * `node dist/bench/main.js <scenario> [options]`; also what `nudge bench` delegates to.
 * Resolves to the exit code rather than exiting, so a caller can run it in-process.
 */
export async function runBenchCommand(argv: string[]): Promise<number> {
  let code = 0;
  // Ctrl-C aborts the run so that its `finally` blocks remove temp dirs and stop the broker;
  // a second Ctrl-C exits at once (the broker harness still SIGKILLs its JVM on exit).
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: cleaning up (Ctrl-C again to exit now)\n');
    abort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  try {
    await yargs(argv)
      .scriptName('nudge bench')
      .command(
        'runtime',
        'per-user counter throughput: embedded vs raw LMDB, Kafka (exactly-once, at-least-once) vs bare kafkajs',
        (y) =>
          y
            .option('events', { type: 'number', default: 200_000, describe: 'events to process' })
            .option('users', { type: 'number', default: 20_000, describe: 'distinct users the events are spread over' })
            .option('partitions', { type: 'number', default: 4, describe: 'partitions of every topic' })
            .option('brokers', { type: 'string', describe: 'use this Kafka (host:port[,…]) instead of starting a broker' })
            .option('max-bytes-per-partition', {
              type: 'number',
              describe: "override nudge's kafka.maxBytesPerPartition (fetch size) for the Kafka runs; nudge's default otherwise",
            })
            .option('kafka', { type: 'boolean', default: true, describe: 'run the Kafka half (--no-kafka skips it)' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/runtime.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runRuntimeBench({
            events: args.events,
            users: args.users,
            partitions: args.partitions,
            ...(args.brokers !== undefined ? { brokers: args.brokers } : {}),
            ...(args.write ? { out: args.out } : {}),
            kafka: args.kafka,
            ...(args['max-bytes-per-partition'] !== undefined ? { maxBytesPerPartition: args['max-bytes-per-partition'] } : {}),
            signal: abort.signal,
            log: (s) => process.stderr.write(`${s}\n`),
          });
          process.stdout.write(`${runtimeTable(report)}\n`);
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\n`);
        },
      )
      .command(
        'ingest',
        'profiles and events through the decision topology into per-user state: embedded vs raw LMDB, Kafka (exactly-once) vs bare kafkajs',
        (y) =>
          y
            .option('events', { type: 'number', default: 100_000, describe: 'activity events to ingest' })
            .option('users', { type: 'number', default: 20_000, describe: 'users of the simulated population (one profile each)' })
            .option('partitions', { type: 'number', default: 4, describe: 'partitions of every topic' })
            .option('brokers', { type: 'string', describe: 'use this Kafka (host:port[,…]) instead of starting a broker' })
            .option('kafka', { type: 'boolean', default: true, describe: 'run the Kafka half (--no-kafka skips it)' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/ingest.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runIngestBench({
            events: args.events,
            users: args.users,
            partitions: args.partitions,
            ...(args.brokers !== undefined ? { brokers: args.brokers } : {}),
            kafka: args.kafka,
            ...(args.write ? { out: args.out } : {}),
            signal: abort.signal,
            log: (s) => process.stderr.write(`${s}\n`),
          });
          process.stdout.write(`${ingestTable(report)}\n`);
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${report.command}\n`);
        },
      )
      .command(
        'campaign',
        'candidates of a few campaigns decided against a simulated population: embedded vs raw LMDB, Kafka (exactly-once) vs bare kafkajs, extrapolated to 12M',
        (y) =>
          y
            .option('candidates', { type: 'number', default: 60_000, describe: 'candidates in all, split evenly over the campaigns' })
            .option('campaigns', { type: 'number', default: 3, describe: 'campaigns (distinct users within each)' })
            .option('users', { type: 'number', default: 100_000, describe: 'users of the simulated population in state' })
            .option('partitions', { type: 'number', default: 4, describe: 'partitions of every topic' })
            .option('brokers', { type: 'string', describe: 'use this Kafka (host:port[,…]) instead of starting a broker' })
            .option('kafka', { type: 'boolean', default: true, describe: 'run the Kafka half (--no-kafka skips it)' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/campaign.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runCampaignBench({
            candidates: args.candidates,
            campaigns: args.campaigns,
            users: args.users,
            partitions: args.partitions,
            ...(args.brokers !== undefined ? { brokers: args.brokers } : {}),
            kafka: args.kafka,
            ...(args.write ? { out: args.out } : {}),
            signal: abort.signal,
            log: (s) => process.stderr.write(`${s}\n`),
          });
          process.stdout.write(`${campaignTable(report)}\n`);
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${report.command}\n`);
        },
      )
      .command(
        'recovery',
        'time to ready and to caught up after kill -9 of a replica process, same state dir (both engines) and fresh dir (Kafka, from the changelog); final counts = input',
        (y) =>
          y
            .option('events', { type: 'number', default: 200_000, describe: 'events the replicas process' })
            .option('users', { type: 'number', default: 20_000, describe: 'distinct users the events are spread over' })
            .option('partitions', { type: 'number', default: 4, describe: 'partitions of every topic' })
            .option('kill-at', { type: 'number', default: 0.5, describe: 'share of the input committed when the first replica is killed' })
            .option('brokers', { type: 'string', describe: 'use this Kafka (host:port[,…]) instead of starting a broker' })
            .option('kafka', { type: 'boolean', default: true, describe: 'run the Kafka half (--no-kafka skips it)' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/recovery.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runRecoveryBench({
            events: args.events,
            users: args.users,
            partitions: args.partitions,
            killAt: args['kill-at'],
            ...(args.brokers !== undefined ? { brokers: args.brokers } : {}),
            kafka: args.kafka,
            ...(args.write ? { out: args.out } : {}),
            signal: abort.signal,
            log: (s) => process.stderr.write(`${s}\n`),
          });
          process.stdout.write(`${recoveryTable(report)}\n`);
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${report.command}\n`);
        },
      )
      .command(
        'restore',
        'restore rate and time to ready of ONE partition of N users from its changelog, vs bare kafkajs and raw LMDB writes',
        (y) =>
          y
            .option('users', { type: 'number', default: 1_000_000, describe: 'users (one changelog entry each) in the partition' })
            .option('brokers', { type: 'string', describe: 'use this Kafka (host:port[,…]) instead of starting a broker' })
            .option('cpu-prof', { type: 'string', describe: 'profile the restoring replica and write the .cpuprofile into this directory' })
            .option('compaction', { type: 'boolean', default: false, describe: "let the broker's log cleaner compact the changelog during the run (see RESULTS.md)" })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/restore.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runRestoreBench({
            users: args.users,
            ...(args.brokers !== undefined ? { brokers: args.brokers } : {}),
            ...(args['cpu-prof'] !== undefined ? { cpuProfDir: args['cpu-prof'] } : {}),
            compaction: args.compaction,
            ...(args.write ? { out: args.out } : {}),
            signal: abort.signal,
            log: (s) => process.stderr.write(`${s}\n`),
          });
          process.stdout.write(`${restoreTable(report)}\n`);
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${report.command}\n`);
        },
      )
      .command(
        'decisions',
        'candidates decided per second (and per core) on the embedded default with N users in state, vs the per-user counter',
        (y) =>
          y
            .option('users', { type: 'number', default: 1_000_000, describe: 'users with a profile in state' })
            .option('candidates', { type: 'number', default: 100_000, describe: 'candidates to decide (distinct random users)' })
            .option('partitions', { type: 'number', describe: "embedded partitions (nudge's default when omitted)" })
            .option('active-share', { type: 'number', default: 0.1, describe: 'share of users with recent activity events' })
            .option('events-per-active', { type: 'number', default: 8, describe: 'activity events per active user' })
            .option('cpu-prof', { type: 'string', describe: 'profile the decide phase and write the .cpuprofile into this directory (updates the decisions-profile section instead)' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/decisions.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runDecisionsBench({
            users: args.users,
            candidates: args.candidates,
            ...(args.partitions !== undefined ? { partitions: args.partitions } : {}),
            activeShare: args['active-share'],
            eventsPerActive: args['events-per-active'],
            ...(args['cpu-prof'] !== undefined ? { cpuProfDir: args['cpu-prof'] } : {}),
            ...(args.write ? { out: args.out } : {}),
            signal: abort.signal,
            log: (s) => process.stderr.write(`${s}\n`),
          });
          process.stdout.write(`${decisionsTable(report)}\n`);
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${report.command}\n`);
        },
      )
      .command(
        'eligibility-api',
        'POST /v1/eligibility latency at a fixed rate on two Kafka replicas, local and forwarded users, vs a trivial uWS endpoint',
        (y) =>
          y
            .option('rate', { type: 'number', default: 2000, describe: 'requests per second held in each window' })
            .option('seconds', { type: 'number', default: 20, describe: 'length of each measured window' })
            .option('users', { type: 'number', default: 20_000, describe: 'users with a profile in state' })
            .option('brokers', { type: 'string', describe: 'use this Kafka (host:port[,…]) instead of starting a broker' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/eligibility-api.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runEligibilityApiBench({
            rate: args.rate,
            seconds: args.seconds,
            users: args.users,
            ...(args.brokers !== undefined ? { brokers: args.brokers } : {}),
            ...(args.write ? { out: args.out } : {}),
            signal: abort.signal,
            log: (s) => process.stderr.write(`${s}\n`),
          });
          process.stdout.write(`${eligibilityApiTable(report)}\n`);
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${report.command}\n`);
        },
      )
      .command(
        'send-path',
        'sends/s of the ProviderSink via the EffectRunner against slow fake providers vs bare undici (keep-alive and not); buildIntent µs/message vs a bare replace',
        (y) =>
          y
            .option('sends', { type: 'number', default: 20_000, describe: 'sends per measured run' })
            .option('latency-ms', { type: 'number', default: 50, describe: 'latency the fake providers add to every send' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/send-path.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runSendPathBench({
            sends: args.sends,
            latencyMs: args['latency-ms'],
            ...(args.write ? { out: args.out } : {}),
            signal: abort.signal,
            log: (s) => process.stderr.write(`${s}\n`),
          });
          process.stdout.write(`${sendPathTable(report)}\n`);
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${report.command}\n`);
        },
      )
      .demandCommand(1, 'name a scenario: runtime, restore, decisions, eligibility-api or send-path')
      .strict()
      .exitProcess(false)
      .fail((msg: string | null, err: Error | undefined) => {
        // Thrown, not printed: the one catch below reports every failure exactly once.
        throw err ?? new UsageError(msg ?? 'invalid arguments');
      })
      .help()
      .parseAsync();
  } catch (err) {
    const usage = err instanceof UsageError;
    process.stderr.write(`nudge bench: ${errorMessage(err)}${usage ? ' (see --help)' : ''}\n`);
    code = usage ? 2 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
  return code;
}

/** A short fixed-width table for the terminal; RESULTS.md carries the full story. */
export function runtimeTable(r: RuntimeReport): string {
  const head: [string, string, string, string, string] = ['subject', 'rate', 'wall', 'reference', 'ratio'];
  const rows: Array<[string, string, string, string, string]> = [head];
  rows.push(['embedded', `${fmtInt(r.embedded.eventsPerSec)} ev/s`, fmtSec(r.embedded.elapsedMs), `raw LMDB ${fmtInt(r.rawLmdb.meanOpsPerSec)} op/s`, fmtRatio(r.ratios.embeddedVsRawLmdb)]);
  const k = r.kafka;
  if (k !== null) {
    const ref = `bare kafkajs ${fmtInt(k.bareKafkajs.msgsPerSec)} msg/s`;
    rows.push(['kafka exactly_once', `${fmtInt(k.exactlyOnce.eventsPerSec)} ev/s`, fmtSec(k.exactlyOnce.elapsedMs), ref, fmtRatio(r.ratios.exactlyOnceVsBareKafkajs)]);
    rows.push(['kafka at_least_once', `${fmtInt(k.atLeastOnce.eventsPerSec)} ev/s`, fmtSec(k.atLeastOnce.elapsedMs), ref, fmtRatio(r.ratios.atLeastOnceVsBareKafkajs)]);
    rows.push(['  steady EOS / ALOS', `${fmtInt(k.exactlyOnce.steadyEventsPerSec)} / ${fmtInt(k.atLeastOnce.steadyEventsPerSec)}`, '', `bare steady ${fmtInt(k.bareKafkajs.steadyMsgsPerSec)}`, `${fmtRatio(r.ratios.exactlyOnceSteadyVsBareKafkajsSteady)} / ${fmtRatio(r.ratios.atLeastOnceSteadyVsBareKafkajsSteady)}`]);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  const lines = rows.map((row) => row.map((cell, i) => (i === 0 || i === 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const e = r.embedded;
  lines.push('');
  lines.push(`embedded: node CPU ${Math.round((100 * e.cpuMs) / e.elapsedMs)}% of a core, peak RSS ${fmtMiB(e.peakRssBytes)}, state ${(e.stateFileBytes / e.usersStored).toFixed(0)} B/user on disk (${(e.stateUsedBytes / e.usersStored).toFixed(0)} B/user in live pages), batch p50/p99 ≈ ${e.batch.p50Ms.toFixed(1)}/${e.batch.p99Ms.toFixed(1)} ms`);
  if (k !== null) {
    const pct = (cpu: number | null, wall: number) => (cpu === null ? '–' : `${Math.round((100 * cpu) / wall)}%`);
    const eos = k.exactlyOnce;
    const alos = k.atLeastOnce;
    lines.push(`kafka: produce ${fmtInt(eos.produce.msgsPerSec)} msg/s; EOS batch p50/p99 ≈ ${eos.batch.p50Ms.toFixed(0)}/${eos.batch.p99Ms.toFixed(0)} ms over ${fmtInt(eos.batch.batches)} batches; peak RSS EOS ${fmtMiB(eos.peakRssBytes)}, ALOS ${fmtMiB(alos.peakRssBytes)}`);
    lines.push(`cpu (node / broker, % of a core): EOS ${pct(eos.cpuMs, eos.elapsedMs)} / ${pct(eos.brokerCpuMs, eos.elapsedMs)}, ALOS ${pct(alos.cpuMs, alos.elapsedMs)} / ${pct(alos.brokerCpuMs, alos.elapsedMs)}, bare ${pct(k.bareKafkajs.cpuMs, k.bareKafkajs.elapsedMs)} / ${pct(k.bareKafkajs.brokerCpuMs, k.bareKafkajs.elapsedMs)}`);
  }
  return lines.join('\n');
}

function padTable(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  const lines = rows.map((row) => row.map((cell, i) => (i === 0 || i === 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}

export function restoreTable(r: RestoreReport): string {
  const x = r.restore;
  const t = x.timeline;
  const raw = r.rawLmdb;
  const rows: string[][] = [
    ['subject', 'rate', 'wall', 'reference', 'ratio'],
    ['restore', `${fmtInt(x.recordsPerSec)} rec/s`, fmtSec(t.lastRecordsMs - t.plannedMs), `bare kafkajs ${fmtInt(r.bareKafkajs.msgsPerSec)} msg/s`, fmtRatio(r.ratios.restoreVsBareKafkajs)],
    ['restore steady', x.steadyRecordsPerSec === null ? '– (one batch)' : `${fmtInt(x.steadyRecordsPerSec)} rec/s`, fmtSec(t.lastRecordsMs - t.firstRecordsMs), `bare steady ${fmtInt(r.bareKafkajs.steadyMsgsPerSec)} msg/s`, fmtRatio(r.ratios.restoreSteadyVsBareKafkajsSteady)],
    ['restore vs write', `${fmtInt(x.recordsPerSec)} rec/s`, '', `raw LMDB ${fmtInt(raw.meanOpsPerSec)} op/s`, fmtRatio(r.ratios.restoreVsRawLmdb)],
    ['time to ready', fmtSec(t.readyMs), '', `read ${fmtSec(r.bareKafkajs.elapsedMs)} + write ${fmtSec((raw.before.elapsedMs + raw.after.elapsedMs) / 2)}`, fmtRatio(r.ratios.readyVsReadPlusWrite)],
  ];
  const lines = [padTable(rows), ''];
  lines.push(`changelog: ${fmtInt(r.changelog.records)} records, ${fmtMiB(r.changelog.payloadBytes)} payload${r.changelog.segmentBytes === null ? '' : `, ${fmtMiB(r.changelog.segmentBytes)} on the broker`}; restored ${fmtInt(x.records)} records`);
  lines.push(`timeline: planned ${fmtSec(t.plannedMs)}, first batch ${fmtSec(t.firstRecordsMs)}, last ${fmtSec(t.lastRecordsMs)}, ready ${fmtSec(t.readyMs)}`);
  lines.push(`state: ${(x.stateFileBytes / x.usersStored).toFixed(0)} B/user on disk (${(x.stateUsedBytes / x.usersStored).toFixed(0)} B live), built incrementally ${(r.build.stateFileBytes / r.build.usersStored).toFixed(0)} B/user; peak RSS ${fmtMiB(x.peakRssBytes)}; node CPU ${Math.round((100 * x.cpuMs) / t.readyMs)}% of a core`);
  lines.push(`build: produce ${fmtInt(r.build.produce.msgsPerSec)} msg/s, first replica ${fmtInt(r.build.eventsPerSec)} events/s (${fmtSec(r.build.elapsedMs)})`);
  return lines.join('\n');
}

export function decisionsTable(r: DecisionsReport): string {
  const d = r.decide;
  const c = r.counter;
  const rows: string[][] = [
    ['phase', 'rate', 'wall', 'reference', 'ratio'],
    ['decide', `${fmtInt(d.recordsPerSec)} dec/s`, fmtSec(d.elapsedMs), `counter ${fmtInt(c.meanEventsPerSec)} ev/s`, fmtRatio(r.ratios.decisionsVsCounter)],
    ['decide per core', `${fmtInt(d.perCpuSecond)} dec/CPU-s`, '', `counter ${fmtInt(c.meanPerCpuSecond)} ev/CPU-s`, fmtRatio(r.ratios.decisionsPerCpuVsCounterPerCpu)],
    ['load profiles', `${fmtInt(r.load.profiles.recordsPerSec)} prof/s`, fmtSec(r.load.profiles.elapsedMs), `counter ${fmtInt(c.meanEventsPerSec)} ev/s`, fmtRatio(r.ratios.profilesVsCounter)],
    ['load events', `${fmtInt(r.load.events.recordsPerSec)} ev/s`, fmtSec(r.load.events.elapsedMs), `counter ${fmtInt(c.meanEventsPerSec)} ev/s`, fmtRatio(r.ratios.eventsVsCounter)],
  ];
  const m = d.mix;
  const kv = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${fmtInt(n)}`).join(', ');
  const lines = [padTable(rows), ''];
  lines.push(`decide: cores busy ${(d.cpuMs / d.elapsedMs).toFixed(2)}, batch wall p50/p99 ≈ ${d.batch.p50Ms.toFixed(0)}/${d.batch.p99Ms.toFixed(0)} ms (5000 = the histogram's top), CPU per batch ${((d.batch.meanRecords * 1000) / Math.max(1, d.perCpuSecond)).toFixed(0)} ms, peak RSS ${fmtMiB(d.peakRssBytes)}`);
  lines.push(`actions: ${kv(m.actions)}; skip reasons: ${kv(m.skipReasons)}; sends ${fmtInt(m.sends)}`);
  lines.push(`state: ${(r.load.state.fileBytes / r.load.state.users).toFixed(0)} B/user on disk after load (${(r.load.state.usedBytes / r.load.state.users).toFixed(0)} live, UserState ${(r.load.state.userValueBytes / r.load.state.users).toFixed(0)} B), ${(d.state.fileBytes / d.state.users).toFixed(0)} B/user after deciding`);
  if (r.profile !== null) lines.push('', 'UNDER THE CPU PROFILER: rates are lower than an unprofiled run.');
  return lines.join('\n');
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
  runBenchCommand(hideBin(process.argv)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`nudge bench: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
