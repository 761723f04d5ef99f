import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplicaBinding } from '../http/replica-binding.js';
import { LocalDirectory } from '../processor/kafka/directory.js';
import type { DeadLetter } from '../processor/dead-letter.js';
import { sendIdFor } from '../operators/sinks/dispatcher.js';
import { embeddedReplica } from './support/embedded-replica.js';
import { waitFor } from './support/wait.js';

test('webhook receipts: keyed by the user in the sendId onto nudge.receipts; one that names no user is dead-lettered with its reason', async () => {
  const { replica, log, close } = embeddedReplica({ partitions: 2 });
  try {
    await replica.start();
    const binding = new ReplicaBinding(replica, { directory: new LocalDirectory(), token: undefined, forwardTimeoutMs: 1_000 });
    const topics = replica.topics;
    const all = (topic: string) => [0, 1].flatMap((p) => log.read(topic, p, 0, 1_000));
    const accepted = await binding.receipts([
      { sendId: sendIdFor('d-1', 'u42', 1), provider: 'twilio', status: 'delivered', ts: 1_700_000_000_000 },
      { sendId: 'SM0123456789abcdef0123456789abcdef', provider: 'twilio', status: 'delivered', ts: 1_700_000_000_000, campaignId: 'c1' },
    ]);
    assert.equal(accepted, 1);

    const receipts = all(topics.input('receipts'));
    assert.equal(receipts.length, 1);
    assert.equal(receipts[0]?.key?.toString(), 'u42', 'keyed by the user, so it lands on the partition that holds them');
    assert.equal(JSON.parse(String(receipts[0]?.value)).userId, 'u42');

    const letters = all(topics.output('deadletter')).map((r) => JSON.parse(String(r.value)) as DeadLetter);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.error.code, 'NUDGE_ERR_MISSING_FIELD');
    assert.equal(letters[0]?.error.field, 'userId');
    assert.equal(letters[0]?.topic, topics.input('receipts'));
    assert.match(Buffer.from(letters[0]?.value ?? '', 'base64').toString(), /SM0123456789abcdef/, 'the receipt itself is kept');
    // The replica goes on: the good receipt is consumed.
    await waitFor(() => (replica.tasks.get(receipts[0]?.partition ?? 0)?.position(topics.input('receipts')) ?? 0) >= 1, 'the receipt to be consumed', 10_000);
  } finally {
    await close();
  }
});
