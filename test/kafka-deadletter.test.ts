import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { createReplica } from '../processor/create-replica.js';
import { partitionFor } from '../processor/partitioner.js';
import { userCounterTopology, COUNTS_STORE, type UserCount } from '../operators/user-counter.js';
import type { DeadLetter } from '../processor/dead-letter.js';
import { kafkaTestConfig, readTopic, testKafka } from './support/kafka.js';
import { testLogger } from './support/logger.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';

test('kafka: a corpus of bad records lands in the dead-letter topic with distinct codes; good records around them are processed', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(dir, { processor: { maxRecordBytes: 2048, deadLetterValueBytes: 100 } });
  const { replica } = createReplica({ config, topology: () => userCounterTopology(), logger: testLogger });
  try {
    await replica.start();
    await waitFor(() => replica.ready && replica.tasks.size === 4, 'replica ready', 60_000);
    const good = (u: string, type = 'view') => ({ key: u, value: JSON.stringify({ userId: u, ts: 1_763_712_000_000, type }) });
    const corpus: Array<{ key: string | null; value: Buffer | string | null; headers?: Record<string, string>; code: string }> = [
      { key: 'bad1', value: '{"userId":"bad1","ts":176371', code: 'NUDGE_ERR_MALFORMED_JSON' },
      { key: 'bad2', value: JSON.stringify({ userId: 'bad2', ts: 'yesterday-ish', type: 'view' }), code: 'NUDGE_ERR_INVALID_FIELD' },
      { key: 'bad3', value: JSON.stringify({ ts: 1, type: 'view' }), code: 'NUDGE_ERR_MISSING_FIELD' },
      { key: 'bad4', value: JSON.stringify({ userId: 'bad4', ts: 1, type: 'view', text: 'x'.repeat(3000) }), code: 'NUDGE_ERR_RECORD_TOO_LARGE' },
      { key: 'bad5', value: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), code: 'NUDGE_ERR_INVALID_UTF8' },
      { key: 'bad6', value: JSON.stringify({ userId: 'bad6', ts: 1, type: 'view' }), headers: { 'content-type': 'application/xml' }, code: 'NUDGE_ERR_UNKNOWN_CONTENT_TYPE' },
      { key: 'bad7', value: Buffer.alloc(0), code: 'NUDGE_ERR_EMPTY_VALUE' },
      { key: 'someone-else', value: JSON.stringify({ userId: 'bad8', ts: 1, type: 'view' }), code: 'NUDGE_ERR_KEY_MISMATCH' },
      { key: 'bad9', value: JSON.stringify([1, 2]), code: 'NUDGE_ERR_NOT_AN_OBJECT' },
    ];
    const users = ['g1', 'g2', 'g3', 'g4', 'g5'];
    const messages = [];
    for (const [i, bad] of corpus.entries()) {
      messages.push(good(users[i % users.length] as string));
      messages.push({ key: bad.key, value: bad.value, headers: bad.headers ?? {} });
    }
    // MessagePack is accepted too, by its first byte, without a header.
    messages.push({ key: 'g1', value: pack({ userId: 'g1', ts: 1_763_712_000_000, type: 'click' }) as Buffer });
    const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: `${config.topics.prefix}events`, messages });
    await producer.disconnect();

    const letters = (await readTopic(`${config.topics.prefix}deadletter`, corpus.length, 60_000)).map(
      (r) => JSON.parse((r.value as Buffer).toString('utf8')) as DeadLetter,
    );
    assert.equal(letters.length, corpus.length);
    const byKey = new Map(letters.map((l) => [l.key, l]));
    for (const bad of corpus) {
      const letter = byKey.get(bad.key);
      assert.ok(letter !== undefined, `dead letter for ${String(bad.key)}`);
      assert.equal(letter.error.code, bad.code, String(bad.key));
      assert.equal(letter.topic, `${config.topics.prefix}events`);
      assert.equal(letter.partition, partitionFor(bad.key as string, 4));
      assert.ok(Number.isInteger(letter.offset));
    }
    assert.equal(new Set(letters.map((l) => l.error.code)).size, corpus.length, 'codes are distinct');
    const oversize = byKey.get('bad4') as DeadLetter;
    assert.equal(oversize.truncated, true);
    assert.equal(Buffer.from(oversize.value as string, 'base64').length, 100, 'a truncated copy is kept');
    assert.ok(oversize.valueBytes > 3000);

    const countOf = async (u: string) => (await replica.tasks.get(partitionFor(u, 4))?.state.store<UserCount>(COUNTS_STORE.name).get([u]))?.n;
    await waitFor(async () => (await countOf('g1')) === 3, 'g1 to count its JSON and MessagePack events', 30_000);
    assert.equal(await countOf('g2'), 2);
    assert.equal(await countOf('g5'), 1);
  } finally {
    await replica.stop();
    cleanup();
  }
});
