import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { EmbeddedLog } from '../processor/embedded/log.js';
import { tempDir } from './support/tmp.js';

test('cli: nudge export writes an embedded topic as JSON lines, partition by partition, MessagePack converted; an unknown topic or a directory without a log exits 2', async () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  const { dir, cleanup } = tempDir();
  try {
    const log = new EmbeddedLog(join(dir, 'state', 'embedded-log'));
    log.createTopic('nudge.decisions', 2);
    const decision = (i: number) => ({ decisionId: `d${i}`, userId: `u${i}`, action: 'send', features: [i / 10, 1] });
    const packed = new Packr({ useRecords: false }).pack(decision(3));
    log.append('nudge.decisions', [
      { key: 'u1', value: JSON.stringify(decision(1)), partition: 1 },
      { key: 'u0', value: JSON.stringify(decision(0)), partition: 0 },
      { key: 'u2', value: JSON.stringify(decision(2)), partition: 1 },
      { key: 'u3', value: packed, partition: 0, headers: { 'content-type': 'application/msgpack' } },
    ]);
    await log.close();
    const state = ['--state-dir', join(dir, 'state')];
    const toStdout = spawnSync(process.execPath, [cli, 'export', 'decisions', ...state], { encoding: 'utf8' });
    assert.equal(toStdout.status, 0, toStdout.stderr);
    const expected = [decision(0), decision(3), decision(1), decision(2)];
    assert.deepEqual(toStdout.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), expected, 'partition 0 then 1, each in offset order');
    assert.match(toStdout.stderr, /^4 records from nudge\.decisions$/m);
    const file = join(dir, 'decisions.jsonl');
    const toFile = spawnSync(process.execPath, [cli, 'export', 'nudge.decisions', file, ...state], { encoding: 'utf8' });
    assert.equal(toFile.status, 0, toFile.stderr);
    assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown), expected);

    const unknown = spawnSync(process.execPath, [cli, 'export', 'decision', ...state], { encoding: 'utf8' });
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /topic: the log has no topic "decision" \(allowed: events, profiles, candidates, receipts, campaigns, decisions/);
    const noLog = spawnSync(process.execPath, [cli, 'export', 'decisions', '--state-dir', join(dir, 'nothing')], { encoding: 'utf8' });
    assert.equal(noLog.status, 2, noLog.stderr);
    assert.match(noLog.stderr, /--state-dir: no embedded log in /);
  } finally {
    cleanup();
  }
});

test('cli: nudge export names the records that are not JSON or MessagePack instead of writing them, counts tombstones, and refuses a file it cannot write', async () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  const { dir, cleanup } = tempDir();
  try {
    const log = new EmbeddedLog(join(dir, 'state', 'embedded-log'));
    log.createTopic('nudge.events', 1);
    log.append('nudge.events', [
      { key: 'u1', value: '{"userId":"u1"}', partition: 0 },
      { key: 'u2', value: '{"userId":\n', partition: 0 },
      { key: 'u3', value: Buffer.from([0x82, 0xa1]), partition: 0, headers: { 'content-type': 'application/msgpack' } },
      { key: 'u4', value: '{"userId":"u4"}', partition: 0 },
      { key: 'u5', value: null, partition: 0 },
    ]);
    await log.close();
    const state = ['--state-dir', join(dir, 'state')];
    const r = spawnSync(process.execPath, [cli, 'export', 'events', ...state], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ userId: 'u1' }, { userId: 'u4' }]);
    assert.match(r.stderr, /^partition 0 offset 1: not valid JSON or MessagePack, not written$/m);
    assert.match(r.stderr, /^partition 0 offset 2: not valid JSON or MessagePack, not written$/m);
    assert.match(r.stderr, /^2 records from nudge\.events; 1 tombstone \(a key with no value\), not written; 2 not valid JSON or MessagePack, not written$/m);
    const unwritable = spawnSync(process.execPath, [cli, 'export', 'events', join(dir, 'no', 'such', 'dir', 'e.jsonl'), ...state], { encoding: 'utf8' });
    assert.equal(unwritable.status, 2, unwritable.stderr);
    assert.match(unwritable.stderr, /file: cannot write .*e\.jsonl: ENOENT/);
  } finally {
    cleanup();
  }
});
