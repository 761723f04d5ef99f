import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangelogReplay } from '../processor/kafka/changelog.js';
import { PartitionState } from '../state/partition-state.js';
import { encodeValue } from '../state/value-codec.js';

const key = (i: number) => Buffer.from(`k${i}`);
const checkpoint = (n: number) => Buffer.from(encodeValue({ sources: { events: n }, commits: n }));

test('changelog replay: a compacted stretch with no checkpoint in it (300k records) is applied, not held, and does not overflow the stack', () => {
  const replay = new ChangelogReplay();
  let applied = 0;
  for (let i = 0; i < 300_000; i++) {
    replay.add(key(i), Buffer.from('v'), i);
    if (i % 10_000 === 0) applied += replay.takeComplete().ops.length;
  }
  replay.add(Buffer.from(PartitionState.checkpointKey), checkpoint(7), 300_000);
  const { ops, checkpoint: cp } = replay.takeComplete();
  applied += ops.length;
  assert.equal(applied, 300_000, 'every record applied');
  assert.equal(cp?.changelogNext, 300_001, 'resume after the checkpoint record');
  assert.deepEqual(cp?.sources, { events: 7 });
  assert.equal(replay.tornRecords, 0);
});

test('changelog replay: records after the last checkpoint (a torn batch) are held back, not applied', () => {
  const replay = new ChangelogReplay();
  replay.add(key(1), Buffer.from('a'), 0);
  replay.add(Buffer.from(PartitionState.checkpointKey), checkpoint(1), 1);
  replay.add(key(2), Buffer.from('b'), 2);
  replay.add(key(3), null, 3);
  const { ops } = replay.takeComplete();
  assert.deepEqual(ops.map((o) => Buffer.from(o.key).toString()), ['k1']);
  assert.equal(replay.tornRecords, 2);
});
