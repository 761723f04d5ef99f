import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BatchResult } from '../processor/partition-task.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { embeddedReplica, jsonRecord, startWithOtpCampaign } from './support/embedded-replica.js';
import { waitFor } from './support/wait.js';

test('replica: a batch of send outcomes the engine refuses is committed again, so the send is on nudge.sends once', async () => {
  const r = embeddedReplica({ partitions: 1 });
  const { replica, log, close } = r;
  try {
    const topics = replica.topics;
    await startWithOtpCampaign(r, ['u1']);

    // The engine refuses the first two batches of outcomes (a failed log transaction, say).
    const engine = replica.engine;
    assert.ok(engine !== undefined);
    const commit = engine.commit.bind(engine);
    let refused = 0;
    engine.commit = async (result: BatchResult) => {
      if (result.kind === 'outcomes' && refused < 2) {
        refused++;
        throw new Error('simulated commit failure');
      }
      return commit(result);
    };
    log.append(topics.input('candidates'), [jsonRecord('u1', { campaignId: 'otp', userId: 'u1', vars: { product: 'x', otp: '123456' } })]);

    const sends = () => log.read(topics.output('sends'), 0, 0, 100).map((r) => JSON.parse(String(r.value)) as SendRecord);
    await waitFor(() => sends().length > 0, 'the send record', 15_000);
    assert.equal(refused, 2, 'two refusals, then the retry went through');
    await new Promise((r) => setTimeout(r, 500));
    const records = sends();
    assert.equal(records.length, 1, 'exactly one send record');
    assert.equal(records[0]?.status, 'sent');
    assert.equal(records[0]?.userId, 'u1');
  } finally {
    await close();
  }
});
