import { ConfigError, errorMessage } from '../errors/index.js';
import { createLogger } from '../processor/logger.js';
import { createReplica } from '../processor/create-replica.js';
import { topologyFor } from '../operators/topologies.js';
import type { Replica } from '../processor/replica.js';
import { configFromArgs, type CommonArgs } from './config-from-args.js';
import { parseJsonLines } from './json-lines.js';
import { inputTopic, readInputText } from './input-files.js';
import { serve, type Serving } from './serve.js';
import { buildScorer } from './scorer.js';
import { buildSinks } from './sinks.js';
import { systemClock } from '../processor/clock.js';
import { ProcessorMetrics } from '../processor/metrics.js';
import { stopSignal } from './signals.js';

export interface RunArgs extends CommonArgs {
  input?: string[] | undefined;
}

export async function runCommand(args: RunArgs, signal: Promise<string> = stopSignal()): Promise<number> {
  const config = configFromArgs(args);
  const logger = createLogger(config.log.level);
  logger.info({ kafka: config.kafka.brokers.length > 0, stateDir: config.state.dir, scorer: config.models.scorer }, 'starting');
  let started = false;
  void signal.then((s) => {
    if (!started) logger.info({ signal: s }, 'stop requested: the replica stops as soon as it has started');
  });
  const inputs = (args.input ?? []).map((spec) => {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new ConfigError('--input', `"${spec}" is not TOPIC=FILE`, 'TOPIC=FILE.jsonl');
    return { topic: spec.slice(0, eq), file: spec.slice(eq + 1) };
  });
  if (inputs.length > 0 && config.kafka.brokers.length > 0) {
    throw new ConfigError('--input', 'input files feed the embedded log only', 'no --input with --brokers (use `nudge produce`)');
  }
  const metrics = new ProcessorMetrics();
  const scoring = await buildScorer(config, metrics, logger);
  let share = () => 1;
  const sinks = buildSinks(config, systemClock, metrics, process.env, { share: () => share(), log: logger });
  const { replica, embeddedLog } = createReplica({ config, topology: topologyFor(config, { scorer: scoring.scorer }), logger, metrics, effects: sinks.handlers });
  // Per-campaign rates are for the whole deployment: each replica paces its partitions' share.
  share = () => replica.tasks.size / Math.max(1, replica.engine?.partitionCount ?? 1);
  replica.on('assignment', () => sinks.throttle?.reshare());
  if (embeddedLog !== undefined) {
    const files = [...config.embedded.inputs.map((i) => ({ ...i, setting: 'embedded.inputs' })), ...inputs.map((i) => ({ ...i, setting: '--input' }))];
    for (const { topic, file, setting } of files) {
      const name = inputTopic(config, topic, setting);
      embeddedLog.createTopic(name, name === replica.topics.campaigns ? 1 : config.embedded.partitions);
      const records = parseJsonLines(readInputText(file, setting), name === replica.topics.campaigns ? 'campaignId' : 'userId');
      embeddedLog.append(name, records);
      logger.info({ topic: name, file, records: records.length }, 'appended input file');
    }
  }
  let serving: Serving | undefined;
  return runUntilSignal(
    replica,
    signal,
    config.processor.shutdownTimeoutMs,
    async () => {
      await serving?.stop();
      await embeddedLog?.close();
      await sinks.close();
      scoring.stop();
    },
    async () => {
      started = true;
      serving = await serve(replica, config, logger);
      if (serving.port !== undefined) logger.info({ port: serving.port }, 'http listening');
    },
  );
}

/** Runs until `signal` (SIGTERM/SIGINT, also one that came during start-up), then shuts down within the bound or exits 1. */
export async function runUntilSignal(replica: Replica, signal: Promise<string>, shutdownTimeoutMs: number, after: () => Promise<void>, started: () => Promise<void> = async () => undefined): Promise<number> {
  let fatal: Error | undefined;
  const stopped = new Promise<string>((resolve) => {
    void signal.then(resolve);
    replica.onFatal((err) => {
      fatal = err;
      resolve('fatal');
    });
  });
  await replica.start();
  await started();
  const reason = await stopped;
  replica.log.info({ reason }, 'shutting down');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    replica.stop().then(() => 'stopped' as const),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs);
    }),
  ]).catch((err: unknown) => {
    replica.log.error({ err: errorMessage(err) }, 'shutdown failed');
    return 'failed' as const;
  });
  clearTimeout(timer);
  await after().catch(() => undefined);
  if (outcome === 'timeout') replica.log.error({ shutdownTimeoutMs }, 'shutdown took too long; exiting');
  return outcome === 'stopped' && fatal === undefined ? 0 : 1;
}
