#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { errorMessage } from '../errors/index.js';
// Commands are imported when chosen: the replica's modules (TF.js, kafkajs, LMDB, uWebSockets.js)
// take about 0.8 s to load, and a multi-replica demo loads them in its worker threads instead.
import { exitCodeFor } from './exit-code.js';
import { stopSignal } from './signals.js';

async function main(argv: string[]): Promise<number> {
  // `nudge bench` is bench/main.ts's command line whole: its scenarios, their options and their
  // --help are defined there, and a parser here would answer --help with its own generic text.
  if (argv[0] === 'bench') {
    const { runBenchCommand } = await import('../bench/main.js');
    return runBenchCommand(argv.slice(1));
  }
  let code = 0;
  await yargs(argv)
    .scriptName('nudge')
    .usage('$0 <command> [options]')
    .command(
      'run',
      'run one replica (Kafka when brokers are configured, the embedded default otherwise)',
      (y) =>
        y
          .option('config', { type: 'string', describe: 'JSON config file (also NUDGE_CONFIG)' })
          .option('brokers', { type: 'string', describe: 'HOST:PORT,… of the Kafka cluster' })
          .option('state-dir', { type: 'string', describe: 'directory of the partition stores' })
          .option('state-backend', { type: 'string', choices: ['lmdb', 'rocksdb'] })
          .option('http-port', { type: 'number', describe: 'HTTP port (0 disables)' })
          .option('guarantee', { type: 'string', choices: ['exactly_once', 'at_least_once'] })
          .option('input', { type: 'array', string: true, describe: 'embedded mode: TOPIC=FILE.jsonl to append at start-up' }),
      async (args) => {
        // Listened for before the replica's modules load: see signals.ts.
        const signal = stopSignal();
        const { runCommand } = await import('./run.js');
        code = await runCommand(args, signal);
      },
    )
    .command(
      'produce <topic> <file>',
      'write JSON lines to a topic, keyed by userId (campaignId for campaigns)',
      (y) =>
        y
          .positional('topic', { type: 'string', demandOption: true, describe: 'topic name or role (events, profiles, campaigns, candidates, receipts)' })
          .positional('file', { type: 'string', demandOption: true, describe: 'JSON-lines file, - for standard input' })
          .option('config', { type: 'string' })
          .option('brokers', { type: 'string' })
          .option('state-dir', { type: 'string', describe: 'embedded mode: the state directory of the replica that will read it' }),
      async (args) => {
        const { produceCommand } = await import('./produce.js');
        code = await produceCommand(args);
      },
    )
    .command(
      'export <topic> [file]',
      'write a topic as JSON lines (e.g. decisions and events for nudge train): the embedded log, or Kafka with --brokers',
      (y) =>
        y
          .positional('topic', { type: 'string', demandOption: true, describe: 'topic name or role (decisions, sends, deadletter, events, …)' })
          .positional('file', { type: 'string', describe: 'JSON-lines file to write; standard output when omitted or -' })
          .option('config', { type: 'string' })
          .option('state-dir', { type: 'string', describe: 'the state directory of the replica that wrote the log' })
          .option('brokers', { type: 'string', describe: 'read the topic from Kafka: its committed records up to its end when the export starts' }),
      async (args) => {
        const { exportCommand } = await import('./export.js');
        code = await exportCommand(args);
      },
    )
    .command(
      'demo',
      'the whole system end to end on the embedded default: no Kafka, no credentials',
      (y) =>
        y
          // The world the demo is meant to show: about 100,000 users, each costing 1.0–1.9 ms of CPU
          // (mostly their past activity and candidates through the pipeline, then the HTTP sends to
          // the provider fakes), so 50–120 s on two cores, less with more. The same run's CPU time
          // varies nearly twofold on a shared machine (README); --users 20000 runs in 20–50 s.
          .option('users', { type: 'number', default: 100_000, describe: 'simulated users' })
          .option('partitions', { type: 'number', default: 4 })
          .option('replicas', { type: 'number', describe: 'replicas run at once, a worker thread each, sharing the partitions as a consumer group does (default: one per core, at most --partitions)' })
          .option('seed', { type: 'number', default: 42 })
          .option('hours', { type: 'number', default: 12, describe: 'simulated hours to run after the campaigns start' })
          .option('history-days', { type: 'number', default: 1, describe: 'days of past activity per user' })
          .option('events-per-user-day', { type: 'number', describe: "mean past events a user a day (default: the simulated world's own, about 12; the target load's rate is 200: 9B events a day over 45M users)" })
          .option('report', { type: 'string', default: 'reports/demo.html', describe: 'HTML report to write (the same data as JSON beside it)' })
          .option('providers', { choices: ['fake', 'recorded'] as const, default: 'fake' as const, describe: 'fake: sends go over HTTP to provider fakes on loopback; recorded: recorded as sent in-process' })
          .option('scorer', { choices: ['learned', 'heuristic'] as const, default: 'learned' as const, describe: 'learned: the model shipped in models/default, through TF.js; heuristic: the hand-set scorer' })
          .option('keep', { type: 'string', describe: "keep each replica's log and state in DIR/replica-N (a new or empty directory), for nudge export; default: removed at the end" }),
      async (args) => {
        const { demoCommand } = await import('./demo.js');
        code = await demoCommand({ users: args.users, partitions: args.partitions, replicas: args.replicas ?? Math.max(1, Math.min(availableParallelism(), args.partitions)), seed: args.seed, hours: args.hours, historyDays: args['history-days'], ...(args['events-per-user-day'] !== undefined ? { eventsPerUserDay: args['events-per-user-day'] } : {}), providers: args.providers, scorer: args.scorer, report: args.report, ...(args.keep !== undefined ? { keep: args.keep } : {}) });
      },
    )
    .command(
      'train',
      'train click, conversion and unsubscribe models from a decision log and its events',
      (y) =>
        y
          .option('decisions', { type: 'string', demandOption: true, describe: 'JSON lines of nudge.decisions' })
          .option('events', { type: 'string', demandOption: true, describe: 'JSON lines of nudge.events' })
          .option('registry', { type: 'string', demandOption: true, describe: 'model registry directory (a new version is added)' })
          .option('as-of', { type: 'string', describe: 'training time (ISO-8601); default now' })
          .option('hidden', { type: 'string', describe: 'hidden layer sizes, e.g. 32,16; "" for logistic regression' })
          .option('delayed', { type: 'string', describe: 'delayed-conversion handling: fnw | wait | naive' })
          .option('convert-head', { type: 'string', describe: 'given_click (default): p(convert | click), served times p(click); joint: p(convert) directly, for logs with view-through conversions' })
          .option('derived-inputs', { type: 'boolean', describe: 'also feed the heuristic\'s log-odds and log lifts (models/model-inputs.ts); default true' })
          .option('seed', { type: 'number' }),
      async (args) => {
        const { trainCommand } = await import('./train.js');
        code = await trainCommand(args);
      },
    )
    .command(
      'eval',
      'evaluate a model version on a decision log: AUC, log loss, ECE, O/E per channel and country',
      (y) =>
        y
          .option('model', { type: 'string', demandOption: true, describe: 'a registry version directory' })
          .option('decisions', { type: 'string', demandOption: true })
          .option('events', { type: 'string', demandOption: true })
          .option('as-of', { type: 'string' }),
      async (args) => {
        const { evalCommand } = await import('./train.js');
        code = await evalCommand(args);
      },
    )
    .command(
      'bench <scenario>',
      'run a benchmark scenario and update bench/RESULTS.md',
      // Listed for `nudge --help`; main() hands `nudge bench …` to bench/main.ts before parsing.
      (y) => y.positional('scenario', { type: 'string', demandOption: true }),
      () => undefined,
    )
    .demandCommand(1, 'name a command: run, produce, export, demo, train, eval or bench (nudge --help)')
    .strictCommands()
    .strictOptions()
    .fail((msg, err) => {
      if (err !== undefined && err !== null) throw err;
      console.error(msg);
      process.exit(2);
    })
    .help()
    .parseAsync();
  return code;
}

// A reader that goes away (`nudge demo | head`) closes the pipe: stop quietly, as other command-line
// tools do, rather than crash on an unhandled EPIPE, or run on with nobody reading.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const status = exitCodeFor(err);
    console.error(status === 2 ? `configuration error: ${errorMessage(err)}` : `nudge: ${errorMessage(err)}`);
    if (status === 1 && process.env['NUDGE_DEBUG'] !== undefined) console.error(err);
    process.exit(status);
  },
);
