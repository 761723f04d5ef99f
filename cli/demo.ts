import { ConfigError } from '../errors/index.js';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { keptReplicaDir, runDemo, type DemoArgs } from './demo-run.js';
import { demoReplicas, demoUsers } from './demo-world.js';
import { activityScaleFor, MAX_EVENTS_PER_USER_DAY, TARGET_EVENTS_PER_USER_DAY } from '../bench/sim/activity.js';
import { printSummary } from './demo-summary.js';
import { reportData } from './demo-report.js';
import { writeReport } from '../bench/report-html/page.js';
import { describeHost, hostCpu, hostCpuSince } from './host-cpu.js';

export type { DemoArgs } from './demo-world.js';

/** `--keep DIR`: a new or empty directory, so that a kept run's logs are never mixed with another's. */
function checkKeep(keep: unknown): void {
  if (typeof keep !== 'string' || keep === '') throw new ConfigError('--keep', `got ${JSON.stringify(keep)}`, 'one directory path');
  if (existsSync(keep)) {
    if (!statSync(keep).isDirectory()) throw new ConfigError('--keep', `${keep} is not a directory`, 'a new or empty directory');
    if (readdirSync(keep).length > 0) throw new ConfigError('--keep', `${keep} is not empty`, 'a new or empty directory');
  }
  // Made now, so that a path that cannot be written is refused before the run rather than after its start-up.
  try {
    mkdirSync(keep, { recursive: true });
  } catch (err) {
    throw new ConfigError('--keep', `cannot create ${keep}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'a new or empty directory', { cause: err });
  }
}

/**
 * The whole system end to end on the embedded default: a simulated population with
 * habits, consent and devices; an OTP, a two-hour flash sale and a cart reminder; the
 * decision pipeline with durable scheduled sends, on a virtual clock that runs a 12-hour
 * day in seconds, with the users answering what they get. No Kafka, no credentials,
 * nothing leaves the machine.
 */
export async function demoCommand(args: DemoArgs & { report: string; eventsPerUserDay?: number }): Promise<number> {
  for (const [key, value, min] of [['--users', args.users, 10], ['--partitions', args.partitions, 1], ['--hours', args.hours, 1], ['--history-days', args.historyDays, 0]] as const) {
    if (!Number.isInteger(value) || value < min) throw new ConfigError(key, `got ${value}`, `an integer ≥ ${min}`);
  }
  if (!Number.isSafeInteger(args.seed)) throw new ConfigError('--seed', `got ${String(args.seed)}`, 'an integer');
  // yargs makes an array of an option given twice.
  if (typeof args.report !== 'string' || args.report === '') throw new ConfigError('--report', `got ${JSON.stringify(args.report)}`, 'one file path');
  const replicas = demoReplicas(args);
  const { eventsPerUserDay, ...rest } = args;
  if (eventsPerUserDay !== undefined && !(Number.isFinite(eventsPerUserDay) && eventsPerUserDay >= 0)) {
    throw new ConfigError('--events-per-user-day', `got ${eventsPerUserDay}`, `a number ≥ 0 (the target load's rate is ${TARGET_EVENTS_PER_USER_DAY})`);
  }
  if (eventsPerUserDay !== undefined && eventsPerUserDay > MAX_EVENTS_PER_USER_DAY) {
    throw new ConfigError('--events-per-user-day', `got ${eventsPerUserDay}`, `at most ${MAX_EVENTS_PER_USER_DAY} (the target load's rate is ${TARGET_EVENTS_PER_USER_DAY})`);
  }
  const world = demoUsers(args.seed).world;
  const activityScale = eventsPerUserDay === undefined ? 1 : activityScaleFor(eventsPerUserDay, world);
  // Last of the checks: it makes the directory.
  if (args.keep !== undefined) checkKeep(args.keep);
  console.log(`nudge demo: ${args.users.toLocaleString('en')} simulated users (seed ${args.seed}; ${args.historyDays} day${args.historyDays === 1 ? '' : 's'} of past activity${eventsPerUserDay !== undefined ? `, ${eventsPerUserDay} events a user a day on average` : ''}), ${args.partitions} partitions${replicas > 1 ? ` shared by ${replicas} replicas, a thread each` : ''}, embedded log, LMDB state, virtual clock, ${args.scorer === 'heuristic' ? 'heuristic scorer' : 'learned model (models/default, TF.js)'}`);
  const { report, ...demo } = rest;
  const host = hostCpu();
  const ownCpu = process.cpuUsage();
  const run = await runDemo({ ...demo, activityScale }, (line) => console.log(line));
  const { hours, quality } = run.judgement;
  printSummary(run, hours, quality);
  const json = writeReport(report, reportData(run, hours, quality));
  console.log(`\nreport: ${report} (data: ${json})`);
  if (args.keep !== undefined) {
    const kept = Array.from({ length: replicas }, (_, i) => keptReplicaDir(args.keep as string, i));
    console.log(`kept: each replica's log and state, in ${kept.join(', ')}; \`nudge export decisions --state-dir ${kept[0]}\` writes its decisions as JSON lines`);
  }
  // Since the process started: module loading, the run (the replicas judge their own users' decisions) and writing the report.
  console.log(`\ndone in ${(performance.now() / 1000).toFixed(1)} s (pipeline ${run.timings.total.toFixed(1)} s, of which the simulated day ${run.timings.day.toFixed(1)} s and judging quality ${run.timings.judge.toFixed(1)} s; ${run.cpuSeconds.toFixed(1)} s of CPU in the pipeline's threads)`);
  const hostAfter = hostCpu();
  if (host !== undefined && hostAfter !== undefined) {
    const own = process.cpuUsage(ownCpu);
    console.log(describeHost(hostCpuSince(host, hostAfter), (own.user + own.system) / 1e6, cpus().length, cpus()[0]?.model ?? ''));
  }
  return 0;
}
