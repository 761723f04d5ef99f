import type { Argv } from 'yargs';
import { defaultOutDir, fmtSec } from './report.js';

/** The options every two-engine scenario takes: which broker, whether to run Kafka at all, where results go. */
export function engineOptions<T>(y: Argv<T>, scenario: string) {
  return y
    .option('brokers', { type: 'string', describe: 'use this Kafka (host:port[,…]) instead of starting a broker' })
    .option('kafka', { type: 'boolean', default: true, describe: 'run the Kafka half (--no-kafka skips it)' })
    .option('out', { type: 'string', default: defaultOutDir(), describe: `directory for results/${scenario}.json and RESULTS.md` })
    .option('write', { type: 'boolean', default: true, describe: 'write the results files (--no-write only prints)' });
}

/** Those options as a scenario's run options take them, progress on stderr. */
export function engineRunOptions(args: { brokers: string | undefined; kafka: boolean; out: string; write: boolean }, signal: AbortSignal) {
  return {
    ...(args.brokers !== undefined ? { brokers: args.brokers } : {}),
    kafka: args.kafka,
    ...(args.write ? { out: args.out } : {}),
    signal,
    log: (s: string) => void process.stderr.write(`${s}\n`),
  };
}

/** The terminal's view of a finished run: its table, the whole run's time, the command that reproduces it. */
export function printRun(t0: number, table: string, command: string): void {
  process.stdout.write(`${table}\n\nwhole run: ${fmtSec(performance.now() - t0)}\nreproduce: ${command}\n`);
}
