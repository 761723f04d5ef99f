import { Kafka, logLevel } from 'kafkajs';
import { validateConfig } from '../../config/load.js';
import type { NudgeConfig } from '../../config/schema.js';
import { uniqueName } from './tmp.js';

/** The broker `npm test` started (or the one KAFKA_BROKERS names). Kafka tests never skip silently. */
export function brokers(): string[] {
  const value = process.env['KAFKA_BROKERS'];
  if (value === undefined || value === '') {
    throw new Error('KAFKA_BROKERS is not set: run the Kafka tests through `npm test`, which starts a broker');
  }
  return value.split(',');
}

export function testKafka(): Kafka {
  return new Kafka({ clientId: 'nudge-test', brokers: brokers(), logLevel: logLevel.NOTHING });
}

/** A config on the test broker with a fresh topic prefix and group, so no two tests share anything. */
export function kafkaTestConfig(stateDir: string, overrides: Record<string, unknown> = {}): NudgeConfig {
  const prefix = `${uniqueName('t')}.`;
  const base = {
    topics: { prefix },
    kafka: {
      brokers: brokers(),
      groupId: `${prefix}group`,
      partitions: 4,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      rebalanceTimeoutMs: 15_000,
      maxWaitTimeMs: 100,
    },
    state: { dir: stateDir },
    processor: { timerIntervalMs: 100 },
    http: { port: 0 },
  };
  return validateConfig(deepMerge(base, overrides));
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Reads every committed record of a topic from the beginning until `count` arrived or time runs out. */
export async function readTopic(topic: string, count: number, timeoutMs = 60_000): Promise<Array<{ key: string | null; value: Buffer | null; partition: number; offset: number }>> {
  const consumer = testKafka().consumer({ groupId: uniqueName('reader'), readUncommitted: false, maxWaitTimeInMs: 100 });
  const out: Array<{ key: string | null; value: Buffer | null; partition: number; offset: number }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        out.push({ key: message.key?.toString('utf8') ?? null, value: message.value, partition, offset: Number(message.offset) });
        if (out.length >= count) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return out;
  } finally {
    await consumer.disconnect();
  }
}
