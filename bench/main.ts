import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { errorMessage, isNudgeError } from '../errors/index.js';
import { defaultOutDir, fmtSec } from './report.js';
import { runDecisionsBench } from './decisions.js';
import { eligibilityApiTable, runEligibilityApiBench } from './eligibility-api.js';
import { eligibilityEmbeddedTable, runEligibilityEmbeddedBench } from './eligibility-embedded.js';
import { runSendPathBench, sendPathTable } from './send-path.js';
import { runRestoreBench } from './restore.js';
import { runRuntimeBench } from './runtime.js';
import { INGEST_WORKLOADS, runIngestBench, type IngestWorkload } from './ingest.js';
import { TARGET_EVENTS_PER_USER_DAY } from './sim/activity.js';
import { ingestTable } from './report-ingest.js';
import { runCampaignBench } from './campaign.js';
import { campaignTable } from './report-campaign.js';
import { runRecoveryBench } from './recovery.js';
import { recoveryTable } from './report-recovery.js';
import { ALL_SCENARIOS, runAllBench } from './all.js';
import { runStreamsPeerBench } from './streams-peer-scenario.js';
import { writeSummary } from './summary.js';
import { engineOptions, engineRunOptions, printRun } from './command-options.js';
import { decisionsTable, restoreTable, runtimeTable } from './terminal-tables.js';

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
          engineOptions(y, 'ingest')
            .option('events', { type: 'number', default: 100_000, describe: 'activity events to ingest' })
            .option('users', { type: 'number', default: 20_000, describe: 'users of the simulated population (one profile each)' })
            .option('partitions', { type: 'number', default: 4, describe: 'partitions of every topic' })
            .option('workload', {
              choices: INGEST_WORKLOADS,
              default: 'uniform' as IngestWorkload,
              describe: "uniform: each event's user drawn uniformly (the read cache's hardest case); activity: the simulator's users in their habitual hours (results/ingest-activity.json)",
            })
            .option('events-per-user-day', { type: 'number', describe: `with --workload activity: each user's rate (default ${TARGET_EVENTS_PER_USER_DAY}, the target load's)` }),
        async (args) => {
          const t0 = performance.now();
          const report = await runIngestBench({
            events: args.events,
            users: args.users,
            partitions: args.partitions,
            workload: args.workload,
            ...(args['events-per-user-day'] !== undefined ? { eventsPerUserDay: args['events-per-user-day'] } : {}),
            ...engineRunOptions(args, abort.signal),
          });
          printRun(t0, ingestTable(report), report.command);
        },
      )
      .command(
        'campaign',
        'candidates of a few campaigns decided against a simulated population: embedded vs raw LMDB, Kafka (exactly-once) vs bare kafkajs, extrapolated to 12M',
        (y) =>
          engineOptions(y, 'campaign')
            .option('candidates', { type: 'number', default: 200_000, describe: 'candidates in all, split evenly over the campaigns (the 12M audience scaled to one 2-core machine)' })
            .option('campaigns', { type: 'number', default: 4, describe: 'campaigns (distinct users within each)' })
            .option('users', { type: 'number', default: 200_000, describe: 'users of the simulated population in state' })
            .option('partitions', { type: 'number', default: 4, describe: 'partitions of every topic' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runCampaignBench({ candidates: args.candidates, campaigns: args.campaigns, users: args.users, partitions: args.partitions, ...engineRunOptions(args, abort.signal) });
          printRun(t0, campaignTable(report), report.command);
        },
      )
      .command(
        'recovery',
        'time to ready and to caught up after kill -9 of a replica process, same state dir (both engines) and fresh dir (Kafka, from the changelog); final counts = input',
        (y) =>
          engineOptions(y, 'recovery')
            .option('events', { type: 'number', default: 200_000, describe: 'events the replicas process' })
            .option('users', { type: 'number', default: 20_000, describe: 'distinct users the events are spread over' })
            .option('partitions', { type: 'number', default: 4, describe: 'partitions of every topic' })
            .option('kill-at', { type: 'number', default: 0.5, describe: 'share of the input committed when the first replica is killed' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runRecoveryBench({ events: args.events, users: args.users, partitions: args.partitions, killAt: args['kill-at'], ...engineRunOptions(args, abort.signal) });
          printRun(t0, recoveryTable(report), report.command);
        },
      )
      .command(
        'streams-peer',
        'nudge vs the same counter on Kafka Streams 3.9.1 (bench/streams-peer/), exactly-once, same topic and broker: events/s and events per CPU-second',
        (y) =>
          y
            .option('events', { type: 'number', default: 200_000, describe: 'events to process' })
            .option('partitions', { type: 'number', default: 4, describe: 'partitions of the input topic' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/streams-peer.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runStreamsPeerBench({ events: args.events, partitions: args.partitions, ...(args.write ? { out: args.out } : {}), log: (s) => process.stderr.write(`${s}\n`) });
          for (const run of report.runs) {
            if (run.ratios !== null) process.stdout.write(`${run.guarantee}: nudge ÷ Kafka Streams ${run.ratios.eventsPerSec.toFixed(3)} in events/s, ${run.ratios.eventsPerCpuSecond.toFixed(3)} in events per CPU-second\n`);
          }
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${report.command}\n`);
        },
      )
      .command(
        'all',
        `every scenario in turn (${ALL_SCENARIOS.join(', ')}) at sizes that fit in about 25 minutes on 2 cores, then the summary at the top of RESULTS.md`,
        (y) =>
          y
            .option('quick', { type: 'boolean', default: false, describe: 'tiny sizes: a smoke run of every scenario (do not commit its figures)' })
            .option('only', { type: 'string', array: true, default: [] as string[], describe: 'run only these scenarios' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/*.json and RESULTS.md' }),
        async (args) => {
          const unknown = args.only.filter((n) => !(ALL_SCENARIOS as readonly string[]).includes(n));
          if (unknown.length > 0) throw new UsageError(`unknown scenario(s) for --only: ${unknown.join(', ')}`);
          const { failures, wholeRunMs } = await runAllBench({ out: args.out, quick: args.quick, only: args.only, signal: abort.signal, log: (s) => process.stderr.write(`${s}\n`) });
          process.stdout.write(`whole run: ${fmtSec(wholeRunMs)}${failures.length > 0 ? `; failed: ${failures.join('; ')}` : ''}\n`);
          if (failures.length > 0) code = 1;
        },
      )
      .command(
        'summary',
        'regenerate the summary at the top of RESULTS.md from results/*.json, running nothing',
        (y) => y.option('out', { type: 'string', default: defaultOutDir(), describe: 'directory holding results/ and RESULTS.md' }),
        async (args) => {
          process.stdout.write(`wrote ${await writeSummary(args.out)}\n`);
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
        'POST /v1/eligibility latency at a fixed rate, vs a trivial uWS endpoint: on two Kafka replicas (local and forwarded users) or on one embedded replica',
        (y) =>
          y
            .option('engine', { choices: ['kafka', 'embedded'] as const, default: 'kafka' as const, describe: 'kafka: a broker and two replicas in one group; embedded: one replica, no Kafka' })
            .option('rate', { type: 'number', default: 2000, describe: 'requests per second held in each window' })
            .option('seconds', { type: 'number', default: 20, describe: 'length of each measured window' })
            .option('users', { type: 'number', default: 20_000, describe: 'users with a profile in state' })
            .option('brokers', { type: 'string', describe: 'use this Kafka (host:port[,…]) instead of starting a broker' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/eligibility-api.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          if (args.engine === 'embedded') {
            if (args.brokers !== undefined) throw new UsageError('--brokers does not go with --engine embedded');
            const embedded = await runEligibilityEmbeddedBench({
              rate: args.rate,
              seconds: args.seconds,
              users: args.users,
              ...(args.write ? { out: args.out } : {}),
              signal: abort.signal,
              log: (s) => process.stderr.write(`${s}\n`),
            });
            process.stdout.write(`${eligibilityEmbeddedTable(embedded)}\n`);
            process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${embedded.command}\n`);
            return;
          }
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
        'sends/s of the ProviderSink via the EffectRunner against slow fake providers vs bare undici (keep-alive and not); the same sends decided by a replica on the embedded engine and on Kafka; buildIntent µs/message vs a bare replace',
        (y) =>
          y
            .option('sends', { type: 'number', default: 20_000, describe: 'sends per measured run' })
            .option('latency-ms', { type: 'number', default: 50, describe: 'latency the fake providers add to every send' })
            .option('partitions', { type: 'number', default: 4, describe: "partitions of the replica's topics in part (c)" })
            .option('brokers', { type: 'string', describe: 'use this Kafka (host:port[,…]) instead of starting a broker' })
            .option('kafka', { type: 'boolean', default: true, describe: 'run part (c) on Kafka too (--no-kafka skips it)' })
            .option('out', { type: 'string', default: defaultOutDir(), describe: 'directory for results/send-path.json and RESULTS.md' })
            .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' }),
        async (args) => {
          const t0 = performance.now();
          const report = await runSendPathBench({
            sends: args.sends,
            latencyMs: args['latency-ms'],
            partitions: args.partitions,
            kafka: args.kafka,
            ...(args.brokers !== undefined ? { brokers: args.brokers } : {}),
            ...(args.write ? { out: args.out } : {}),
            signal: abort.signal,
            log: (s) => process.stderr.write(`${s}\n`),
          });
          process.stdout.write(`${sendPathTable(report)}\n`);
          process.stdout.write(`\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${report.command}\n`);
        },
      )
      .demandCommand(1, 'name a scenario: runtime, ingest, campaign, recovery, restore, decisions, eligibility-api, send-path, streams-peer, or all')
      .strict()
      .exitProcess(false)
      .fail((msg: string | null, err: Error | undefined) => {
        // Thrown, not printed: the one catch below reports every failure exactly once.
        throw err ?? new UsageError(msg ?? 'invalid arguments');
      })
      .help()
      .parseAsync();
  } catch (err) {
    // A bad option value is a usage error too, whether yargs or a scenario finds it.
    const usage = err instanceof UsageError || (isNudgeError(err) && err.code === 'NUDGE_ERR_CONFIG');
    process.stderr.write(`nudge bench: ${errorMessage(err)}${usage ? ' (see --help)' : ''}\n`);
    code = usage ? 2 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
  return code;
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
