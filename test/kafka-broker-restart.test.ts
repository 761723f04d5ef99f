import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { NudgeConfig } from '../config/schema.js';
import { userCounterTopology } from '../operators/user-counter.js';
import { createReplica } from '../processor/create-replica.js';
import type { Replica } from '../processor/replica.js';
import { readBrokerLogTail, startBroker, type KafkaBroker } from '../scripts/kafka-broker.js';
import { countInputs, kafkaFor, verifyExactlyOnce, waitForDrain } from './support/exactly-once.js';
import { kafkaTestConfig } from './support/kafka.js';
import { testLogger } from './support/logger.js';
import { steadyProducer } from './support/steady-producer.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';

const PARTITIONS = 4;
const USERS = 200;
const RATE = 1000;

function replicaOn(config: NudgeConfig, stateDir: string, id: string): Replica {
  const { replica } = createReplica({
    config: { ...config, state: { ...config.state, dir: stateDir }, kafka: { ...config.kafka, replicaId: id } },
    topology: () => userCounterTopology(),
    logger: testLogger,
  });
  return replica;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function recordsIn(replica: Replica): Promise<number> {
  return (await replica.metrics.recordsIn.get()).values.reduce((n, v) => n + v.value, 0);
}

test('a broker restart during processing: the replica reconnects and carries on, with no loss and no duplication', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const log = (s: string) => console.error(`[own broker] ${s}`);
  // Its own broker: restarting the shared one would disturb the other test files.
  let broker: KafkaBroker = await startBroker({ log, dataDir: join(dir, 'kafka') });
  const config = kafkaTestConfig(join(dir, 'unused'), {
    kafka: { brokers: [broker.brokers], sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 },
  });
  assert.deepEqual(config.kafka.brokers, [broker.brokers], 'the test runs on its own broker');
  const replica = replicaOn(config, join(dir, 'state'), 'solo');
  let producer: ReturnType<typeof steadyProducer> | undefined;
  const t0 = Date.now();
  const timeline: string[] = [];
  const note = (s: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${s}`);
  try {
    await replica.start();
    await waitFor(() => replica.ready && replica.tasks.size === PARTITIONS, 'the replica to own all partitions', 90_000);
    producer = steadyProducer(kafkaFor(config), `${config.topics.prefix}events`, RATE, USERS);
    note('producing');
    await sleep(8_000);
    const beforeRestart = await recordsIn(replica);
    assert.ok(beforeRestart > 1_000, `processing before the restart (${beforeRestart} records)`);

    note(`restarting the broker at ${producer.total} events`);
    // Down for longer than kafkajs retries a request (about 30 s of backoff in all, counting the
    // broker's own stop and start): transactions fail outright, with their producers left mid-abort.
    // BROKER_DOWN_MS=0 uses restart() as is: a few seconds, which kafkajs' retries mostly hide.
    const downMs = Number(process.env['BROKER_DOWN_MS'] ?? 20_000);
    if (downMs === 0) broker = await broker.restart({ log });
    else {
      const { dataDir, port, controllerPort } = broker;
      await broker.stop({ keepData: true });
      note('broker stopped');
      await sleep(downMs);
      broker = await startBroker({ log, dataDir, port, controllerPort });
    }
    note(`broker back (pid ${broker.pid}) at ${producer.total} events`);
    assert.equal(broker.brokers, config.kafka.brokers[0], 'same address after the restart');

    // The replica must process again on its own: inputs produced after the restart get counted.
    const producedAtRestart = producer.total;
    await waitFor(
      async () => {
        const a = kafkaFor(config).admin();
        await a.connect();
        try {
          const [committed] = await a.fetchOffsets({ groupId: config.kafka.groupId, topics: [`${config.topics.prefix}events`] });
          const sum = (committed?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
          return sum > producedAtRestart;
        } finally {
          await a.disconnect();
        }
      },
      'the replica to commit inputs produced after the broker restart',
      90_000,
      500,
    );
    note('replica committing again');
    await sleep(10_000);
    const produced = await producer.stop();
    note(`producer stopped after ${produced} acknowledged events (${producer.failures} failed sends retried)`);
    await waitForDrain(config, 120_000);
    note('drained');
    assert.equal(replica.phase, 'running', 'the same replica instance is still running');
    await replica.stop();
    note('replica stopped');
    console.log(timeline.join('\n'));

    // Inputs are the ground truth: a send retried after the outage may (rarely) have been written
    // before the failure was reported. Every acknowledged event must be there, though.
    const inputs = await countInputs(config);
    for (const [user, n] of producer.sent) assert.ok((inputs.byUser.get(user) ?? 0) >= n, `${user}: ${n} acknowledged events in the topic`);
    if (inputs.total !== produced) console.log(`note: ${inputs.total - produced} events written by sends reported as failed`);
    await verifyExactlyOnce(config, inputs.byUser, inputs.total, PARTITIONS);
  } catch (err) {
    console.error(timeline.join('\n'));
    console.error(`---- own broker log ----\n${await readBrokerLogTail(broker.logFile, 60)}`);
    throw err;
  } finally {
    await producer?.stop().catch(() => undefined);
    await replica.stop().catch(() => undefined);
    await broker.stop();
    cleanup();
  }
});
