import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { NudgeConfig } from '../config/schema.js';
import { userCounterTopology } from '../operators/user-counter.js';
import { createReplica } from '../processor/create-replica.js';
import type { Replica } from '../processor/replica.js';
import { countInputs, kafkaFor, verifyExactlyOnce, waitForDrain } from './support/exactly-once.js';
import { kafkaTestConfig } from './support/kafka.js';
import { testLogger } from './support/logger.js';
import { steadyProducer } from './support/steady-producer.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';

const PARTITIONS = 4;
const USERS = 200;
const RATE = 1000;
const STREAM_MS = Number(process.env['SCALING_STREAM_MS'] ?? 30_000);

function replicaOn(config: NudgeConfig, stateDir: string, id: string): Replica {
  const { replica } = createReplica({
    config: { ...config, state: { ...config.state, dir: stateDir }, kafka: { ...config.kafka, replicaId: id } },
    topology: () => userCounterTopology(),
    logger: testLogger,
  });
  return replica;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('adding and removing replicas five times during a stream leaves exactly the same outputs', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(join(dir, 'unused'), { kafka: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 } });
  const live = new Map<string, Replica>();
  const all: Replica[] = [];
  const t0 = Date.now();
  const timeline: string[] = [];
  const note = (s: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${s} → ${[...live.entries()].map(([id, r]) => `${id}[${[...r.tasks.keys()].sort().join('')}]`).join(' ')}`);
  // A replica added later on a directory a removed one left behind starts from a store behind
  // the changelog (tail restore); the others start empty (full restore).
  const add = async (id: string, stateDir: string) => {
    const r = replicaOn(config, join(dir, stateDir), id);
    all.push(r);
    live.set(id, r);
    await r.start();
    // Scaling must really move partitions: wait until the newcomer owns some.
    await waitFor(() => r.tasks.size > 0, `${id} to be given partitions`, 60_000);
    note(`+${id} (${stateDir})`);
  };
  const remove = async (id: string) => {
    const r = live.get(id) as Replica;
    live.delete(id);
    await r.stop();
    note(`-${id}`);
  };
  let producer: ReturnType<typeof steadyProducer> | undefined;
  try {
    // The first replica creates the topics; the stream starts once it runs.
    await add('r1', 'd1');
    producer = steadyProducer(kafkaFor(config), `${config.topics.prefix}events`, RATE, USERS);
    const streamStart = Date.now();
    const schedule: Array<() => Promise<void>> = [
      () => add('r2', 'd2'),
      () => add('r3', 'd3'),
      () => remove('r1'),
      () => add('r4', 'd1'),
      () => remove('r2'),
      () => add('r5', 'd2'),
      () => remove('r3'),
      () => add('r6', 'd6'),
      () => remove('r4'),
      () => remove('r5'),
    ];
    const interval = STREAM_MS / (schedule.length + 1);
    for (const step of schedule) {
      await sleep(interval);
      await step();
    }
    await sleep(Math.max(interval, STREAM_MS - (Date.now() - streamStart)));
    const produced = await producer.stop();
    note(`producer stopped after ${produced} events (${producer.failures} failed sends)`);
    assert.equal(producer.failures, 0, 'the shared broker stayed up: no send failed');
    assert.ok(produced >= (RATE * STREAM_MS) / 1000 / 2, `${produced} events produced`);
    await waitForDrain(config, 120_000);
    note('drained');
    assert.deepEqual([...live.keys()], ['r6'], 'one replica left');
    for (const r of live.values()) await r.stop();
    live.clear();
    console.log(timeline.join('\n'));

    const inputs = await countInputs(config);
    assert.equal(inputs.total, produced, 'the events topic holds exactly what was acknowledged');
    assert.deepEqual(inputs.byUser, producer.sent);
    await verifyExactlyOnce(config, producer.sent, produced, PARTITIONS);
  } catch (err) {
    console.error(timeline.join('\n'));
    throw err;
  } finally {
    await producer?.stop().catch(() => undefined);
    await Promise.allSettled(all.map((r) => r.stop()));
    cleanup();
  }
});
