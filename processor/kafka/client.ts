import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { NudgeConfig } from '../../config/schema.js';
import { resolveSecret } from '../../config/secrets.js';
import type { Logger } from '../logger.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

// kafkajs logs every retriable broker answer at ERROR (a coordinator loading, a group
// rebalancing, a leader moving) and then retries. Those are routine; real failures
// still surface as errors from the calls themselves.
const ROUTINE = /coordinator is (not available|loading)|rebalancing|not the leader|leader is not available|not coordinator|not the correct coordinator|CONCURRENT_TRANSACTIONS|concurrent transactions|another concurrent operation on the same transaction|Limiting retries for the idempotent producer/i;

/** A kafkajs client from the validated config; its log lines go through pino (and its redaction). */
export function createKafka(config: NudgeConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Kafka {
  const k = config.kafka;
  const log = logger.child({ component: 'kafkajs' });
  const options: KafkaConfig = {
    clientId: k.clientId,
    brokers: k.brokers,
    connectionTimeout: k.connectionTimeoutMs,
    requestTimeout: k.requestTimeoutMs,
    ssl: k.ssl,
    // Coordinator moves and rebalances are routine; kafkajs reports them at ERROR while it retries.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const text = `${message} ${typeof rest['error'] === 'string' ? rest['error'] : ''}`;
        log[ROUTINE.test(text) ? 'debug' : (LEVELS[level] ?? 'info')](rest, message);
      },
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
  };
  if (k.sasl !== undefined) {
    const password = resolveSecret('kafka.sasl.password', k.sasl.password, env) as string;
    options.sasl = { mechanism: k.sasl.mechanism, username: k.sasl.username, password } as SASLOptions;
  }
  return new Kafka(options);
}
