import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { EmbeddedEngine } from '../processor/embedded/engine.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import { Registry } from 'prom-client';
import { createReplica } from '../processor/create-replica.js';
import { ProcessorMetrics } from '../processor/metrics.js';
import { Replica } from '../processor/replica.js';
import { userCounterTopology, COUNTS_STORE, type UserCount } from '../operators/user-counter.js';
import { partitionFor } from '../processor/partitioner.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';
import { testLogger } from './support/logger.js';

function startReplica(dir: string, log: EmbeddedLog) {
  const config = validateConfig({ state: { dir: join(dir, 'state') }, embedded: { partitions: 4 }, processor: { timerIntervalMs: 50 } });
  const replica = new Replica({
    config,
    topology: () => userCounterTopology(),
    logger: testLogger,
    engine: (r) =>
      new EmbeddedEngine({
        log,
        group: 'nudge',
        inputs: r.topics.inputs,
        outputs: r.topics.outputs,
        campaignsTopic: r.topics.campaigns,
        partitions: config.embedded.partitions,
        maxBatchRecords: 500,
        logger: testLogger,
      }),
  });
  return replica;
}

async function countsOf(replica: Replica, userId: string, partitions = 4): Promise<UserCount | undefined> {
  const task = replica.tasks.get(partitionFor(userId, partitions));
  return task?.state.store<UserCount>(COUNTS_STORE.name).get([userId]);
}

test('embedded: events are counted per user across partitions and resume after a restart', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let log = new EmbeddedLog(join(dir, 'log'));
    let replica = startReplica(dir, log);
    await replica.start();
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    const events = users.flatMap((u, i) =>
      Array.from({ length: (i % 5) + 1 }, (_, k) => ({ key: u, value: JSON.stringify({ userId: u, ts: 1_763_712_000_000 + k, type: 'view' }) })),
    );
    log.append('nudge.events', events);
    await waitFor(async () => (await countsOf(replica, 'u39'))?.n === 5, 'u39 to reach 5');
    for (const [i, u] of users.entries()) assert.equal((await countsOf(replica, u))?.n, (i % 5) + 1, u);
    const outputs = [0, 1, 2, 3].reduce((n, p) => n + log.end('nudge.user-counts', p), 0);
    assert.equal(outputs, events.length, 'one counts record per event');
    // Users land on the partition Kafka's default partitioner would choose.
    for (const u of users) assert.ok(replica.tasks.get(partitionFor(u, 4)) !== undefined);
    await replica.stop();
    await log.close();

    // Restart on the same directories: state and positions carry on, nothing is counted twice.
    log = new EmbeddedLog(join(dir, 'log'));
    replica = startReplica(dir, log);
    await replica.start();
    log.append('nudge.events', [{ key: 'u0', value: JSON.stringify({ userId: 'u0', ts: 1_763_712_100_000, type: 'click' }) }]);
    await waitFor(async () => (await countsOf(replica, 'u0'))?.n === 2, 'u0 to reach 2');
    assert.equal((await countsOf(replica, 'u1'))?.n, 2);
    assert.deepEqual((await countsOf(replica, 'u0'))?.byType, { view: 1, click: 1 });
    await replica.stop();
    await log.close();
  } finally {
    cleanup();
  }
});

test('embedded: a batch takes up to processor.maxBatchRecords records, above the engine’s own fetch size too', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = new EmbeddedLog(join(dir, 'log'));
    const config = validateConfig({ state: { dir: join(dir, 'state') }, embedded: { partitions: 1 }, processor: { timerIntervalMs: 50, maxBatchRecords: 2500 } });
    const metrics = new ProcessorMetrics(new Registry(), { defaultMetrics: false });
    const { replica } = createReplica({ config, topology: () => userCounterTopology(), logger: testLogger, metrics, embeddedLog: log });
    log.createTopic('nudge.events', 1);
    // Appended before the start, so that the whole backlog is there for the first fetch.
    log.append('nudge.events', Array.from({ length: 3000 }, (_, k) => ({ key: `u${k % 7}`, value: JSON.stringify({ userId: `u${k % 7}`, ts: 1_763_712_000_000 + k, type: 'view' }) })));
    await replica.start();
    try {
      await waitFor(async () => (await countsOf(replica, 'u6', 1))?.n === 428, 'u6 to reach 428');
      const batches = (await metrics.batchRecords.get()).values.filter((v) => v.labels['kind'] === 'records');
      const bucket = (le: number) => batches.find((v) => v.metricName === 'nudge_batch_records_bucket' && (v.labels as Record<string, string | number>)['le'] === le)?.value ?? -1;
      const count = batches.find((v) => v.metricName === 'nudge_batch_records_count')?.value ?? 0;
      assert.ok(bucket(1000) < count, `a batch took more than 1,000 records (${count} batches, ${bucket(1000)} of them ≤ 1,000)`);
      assert.equal(bucket(2500), count, 'no batch over 2,500 records');
    } finally {
      await replica.stop();
      await log.close();
    }
  } finally {
    cleanup();
  }
});
