import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { userCounterTopology } from '../operators/user-counter.js';
import { createReplica } from '../processor/create-replica.js';
import { createLogger } from '../processor/logger.js';
import type { SourceBatch } from '../processor/engine.js';
import { countInputs, kafkaFor, verifyExactlyOnce, waitForDrain } from './support/exactly-once.js';
import { kafkaTestConfig } from './support/kafka.js';
import { steadyProducer } from './support/steady-producer.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';

const PARTITIONS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/*
 * kafkajs restarts its consumer only after an error it deems retriable. Anything else (a
 * TypeError from a batch, or the group coordinator still missing once a long broker outage
 * has used up the retries) ends the run for good: the replica stays up, healthy to the eye,
 * consuming nothing. The engine runs the consumer again itself (KafkaEngine's CRASH handler).
 * Here the fault is forced: the first batch handed to the replica throws a TypeError, which
 * kafkajs neither retries nor restarts after.
 */
test('kafka: a consumer crash kafkajs does not restart after (non-retriable error) — the engine runs the consumer again; counts exact, outputs exactly once', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(join(dir, 'unused'), { kafka: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 } });
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const { replica } = createReplica({
    config: { ...config, state: { ...config.state, dir: join(dir, 'state') }, kafka: { ...config.kafka, replicaId: 'solo' } },
    topology: () => userCounterTopology(),
    logger,
  });
  // The fault, injected where the engine hands a fetched batch to the replica: once, before
  // anything of the batch is processed, so no state is half-written.
  const batch = replica.batch.bind(replica);
  let faults = 0;
  replica.batch = async (b: SourceBatch, heartbeat: () => Promise<void>) => {
    if (faults === 0 && b.records.length > 0) {
      faults++;
      throw new TypeError('injected fault: a batch failed with an error kafkajs does not retry');
    }
    return batch(b, heartbeat);
  };
  const producer = steadyProducer(kafkaFor(config), `${config.topics.prefix}events`, 500, 100);
  try {
    await replica.start();
    await waitFor(() => faults === 1, 'the injected fault', 90_000);
    await sleep(3_000);
    const produced = await producer.stop();
    // Every event, those before the crash and those produced after it, counted once: the
    // consumer must run again for the group to commit them all.
    await waitForDrain(config, 90_000);
    const crash = lines.find((l) => l['msg'] === 'consumer crashed');
    assert.ok(crash !== undefined, 'the crash is logged');
    assert.equal(crash['restart'], false, 'kafkajs did not restart after this error (else the test would not reach the path it is for)');
    assert.match(String(crash['err']), /injected fault/);
    assert.ok(lines.some((l) => l['msg'] === 'running the crashed consumer again'), 'the engine ran it again');
    assert.equal(replica.phase, 'running', 'the same replica instance is still running');
    assert.equal(replica.tasks.size, PARTITIONS, 'and owns every partition');
    await replica.stop();
    const inputs = await countInputs(config);
    assert.equal(inputs.total, produced, 'every acknowledged event is in the topic');
    await verifyExactlyOnce(config, inputs.byUser, inputs.total, PARTITIONS);
    assert.equal(faults, 1);
  } catch (err) {
    console.error(lines.map((l) => JSON.stringify(l)).join('\n'));
    throw err;
  } finally {
    await producer.stop().catch(() => undefined);
    await replica.stop().catch(() => undefined);
    cleanup();
  }
});
