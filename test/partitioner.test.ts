import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionFor } from '../processor/partitioner.js';

const require = createRequire(import.meta.url);
// kafkajs's own murmur2 (Long arithmetic): the reference this one must equal bit for bit.
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

test('murmur2: the values of Kafka\'s own tests (Utils.murmur2)', () => {
  const vectors: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, expected] of vectors) assert.equal(murmur2(Buffer.from(key)), expected, key);
});

test('murmur2 and partitionFor equal kafkajs\'s on 20,000 random keys of every length remainder, bytes 0–255 and UTF-8 ids', () => {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const partitioner = Partitioners.DefaultPartitioner();
  const counts = [1, 3, 4, 8, 12, 100];
  for (let i = 0; i < 20_000; i++) {
    const key = i % 2 === 0 ? Buffer.from(Array.from({ length: next() % 41 }, () => next() & 0xff)) : Buffer.from(`u${next()}-${'नमस्ते'.slice(0, i % 7)}`, 'utf8');
    assert.equal(murmur2(key), kafkajsMurmur2(key), `key ${key.toString('hex')}`);
    const count = counts[i % counts.length] as number;
    const metadata = Array.from({ length: count }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [] }));
    assert.equal(partitionFor(key, count), partitioner({ topic: 't', partitionMetadata: metadata, message: { key, value: null } }), `key ${key.toString('hex')} of ${count}`);
  }
  // A string key is its UTF-8 bytes.
  assert.equal(partitionFor('user-42', 12), partitionFor(Buffer.from('user-42', 'utf8'), 12));
});
