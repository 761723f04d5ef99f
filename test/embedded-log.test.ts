import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { open, type Database } from 'lmdb';
import { Packr } from 'msgpackr';
import { EMBEDDED_LOG_FORMAT, EmbeddedLog } from '../processor/embedded/log.js';
import { ErrorCodes, isNudgeError } from '../errors/index.js';
import { tempDir } from './support/tmp.js';

// The log keeps records in batches of up to 256 (log.ts): these sizes cross batch boundaries
// within one append, between appends, and at a batch's first and last record.
const APPENDS = [700, 1, 255, 256, 257, 3];

function fill(log: EmbeddedLog, topic: string): string[][] {
  const byPartition: string[][] = [[], [], []];
  let n = 0;
  for (const size of APPENDS) {
    const records = Array.from({ length: size }, () => {
      const i = n++;
      return { key: `k${i}`, value: `v${i}`, partition: i % 3, headers: { seq: String(i) } };
    });
    log.append(topic, records);
    for (const r of records) byPartition[r.partition]?.push(r.value);
  }
  return byPartition;
}

test('embedded log: every read from any offset, of any length, returns exactly those records in order', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = new EmbeddedLog(join(dir, 'log'), { now: () => 1_763_712_000_000 });
    log.createTopic('t', 3);
    const expected = fill(log, 't');
    for (let p = 0; p < 3; p++) {
      const values = expected[p] as string[];
      assert.equal(log.end('t', p), values.length);
      for (const from of [0, 1, 255, 256, 257, 511, 512, 600, values.length - 1, values.length, values.length + 10]) {
        for (const max of [1, 2, 255, 256, 1000, 10_000]) {
          const got = log.read('t', p, from, max);
          const want = values.slice(from, from + max);
          assert.deepEqual(
            got.map((r) => [r.offset, r.value?.toString('utf8'), r.key?.toString('utf8'), r.headers['seq']]),
            want.map((v, i) => [from + i, v, v.replace('v', 'k'), v.slice(1)]),
            `partition ${p} from ${from} max ${max}`,
          );
          for (const r of got) assert.equal(r.timestamp, 1_763_712_000_000);
        }
      }
    }
    await log.close();
  } finally {
    cleanup();
  }
});

test('embedded log: each record reads back with its own headers, also where a run of records shares them', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = new EmbeddedLog(join(dir, 'log'));
    log.createTopic('t', 1);
    // Runs of equal headers (fresh objects each time, and the same object), a record without
    // any, and runs that straddle the batches of 256.
    const headersOf = (i: number): Record<string, string> | undefined =>
      i === 7 ? undefined : i < 300 ? { 'content-type': 'application/json' } : i < 520 ? { 'content-type': 'text/plain', trace: String(i % 3) } : SHARED;
    const SHARED = { 'content-type': 'application/json' };
    log.append(
      't',
      Array.from({ length: 600 }, (_, i) => {
        const headers = headersOf(i);
        return { key: null, value: String(i), partition: 0, ...(headers !== undefined ? { headers } : {}) };
      }),
    );
    for (const from of [0, 5, 7, 8, 255, 256, 299, 300, 301, 511, 512, 519, 520, 599]) {
      for (const r of log.read('t', 0, from, 90)) assert.deepEqual(r.headers, headersOf(r.offset) ?? {}, `offset ${r.offset} read from ${from}`);
    }
    // What a reader does to one record's headers does not reach another's.
    const [a, b] = log.read('t', 0, 10, 2);
    (a?.headers as Record<string, string>)['content-type'] = 'changed';
    assert.equal(b?.headers['content-type'], 'application/json');
    await log.close();
  } finally {
    cleanup();
  }
});

test('embedded log: records and committed positions survive a reopen, and appends go on from the end', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let log = new EmbeddedLog(join(dir, 'log'));
    log.createTopic('in', 2);
    log.createTopic('out', 2);
    log.append('in', [{ key: 'a', value: 'one', partition: 0 }, { key: null, value: null, partition: 0 }]);
    log.commit('g', [{ topic: 'out', record: { key: 'a', value: 'done', partition: 1, timestamp: 42 } }], { in: [0, 2] });
    await log.close();
    log = new EmbeddedLog(join(dir, 'log'));
    log.createTopic('in', 2);
    assert.equal(log.committed('g', 'in', 0), 2);
    log.append('in', [{ key: 'b', value: 'two', partition: 0 }]);
    const read = log.read('in', 0, 0, 10);
    assert.deepEqual(
      read.map((r) => [r.offset, r.key?.toString('utf8') ?? null, r.value?.toString('utf8') ?? null]),
      [
        [0, 'a', 'one'],
        [1, null, null],
        [2, 'b', 'two'],
      ],
    );
    const out = log.read('out', 1, 0, 10);
    assert.equal(out.length, 1);
    assert.equal(out[0]?.timestamp, 42);
    assert.equal(out[0]?.value?.toString('utf8'), 'done');
    await log.close();
  } finally {
    cleanup();
  }
});

test('embedded log: a log written one record per entry (before batches) reads as before, and takes batches after', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let log = new EmbeddedLog(join(dir, 'log'));
    log.createTopic('t', 1);
    await log.close();
    // What an earlier release wrote: one msgpack record per key, and the end marker.
    const root = open({ path: join(dir, 'log', 'log.mdb'), noSync: true, compression: false });
    const records = root.openDB<Buffer, [string, number, number]>({ name: 'records', encoding: 'binary' });
    const meta = root.openDB<number, (string | number)[]>({ name: 'meta', encoding: 'msgpack' });
    const packr = new Packr({ useRecords: false });
    await root.transaction(() => {
      for (let i = 0; i < 5; i++) void records.put(['t', 0, i], packr.pack({ k: Buffer.from(`k${i}`), v: Buffer.from(`old${i}`), h: {}, t: i }));
      void meta.put(['end', 't', 0], 5);
    });
    await root.close();
    log = new EmbeddedLog(join(dir, 'log'));
    log.append('t', Array.from({ length: 300 }, (_, i) => ({ key: 'k', value: `new${i}`, partition: 0 })));
    const all = log.read('t', 0, 0, 1000).map((r) => r.value?.toString('utf8'));
    assert.deepEqual(all, [...Array.from({ length: 5 }, (_, i) => `old${i}`), ...Array.from({ length: 300 }, (_, i) => `new${i}`)]);
    assert.deepEqual(
      log.read('t', 0, 3, 4).map((r) => [r.offset, r.value?.toString('utf8'), r.timestamp < 5]),
      [
        [3, 'old3', true],
        [4, 'old4', true],
        [5, 'new0', false],
        [6, 'new1', false],
      ],
    );
    await log.close();
  } finally {
    cleanup();
  }
});

test('embedded log: a log is marked with its format; one without the mark gets it, one of a later format is refused', async () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'log');
  const withMeta = async (fn: (meta: Database<unknown, (string | number)[]>) => unknown) => {
    const root = open({ path: join(path, 'log.mdb'), noSync: true, compression: false });
    const meta = root.openDB<unknown, (string | number)[]>({ name: 'meta', encoding: 'msgpack' });
    try {
      return await fn(meta);
    } finally {
      await root.close();
    }
  };
  try {
    let log = new EmbeddedLog(path);
    log.createTopic('t', 1);
    log.append('t', [{ key: 'k', value: 'v0' }]);
    await log.close();
    assert.equal(await withMeta((m) => m.get(['format'])), EMBEDDED_LOG_FORMAT, 'a new log is marked');
    // A log from before the mark: opened, read as before, and marked.
    await withMeta((m) => m.remove(['format']));
    log = new EmbeddedLog(path);
    assert.deepEqual(log.read('t', 0, 0, 10).map((r) => r.value?.toString('utf8')), ['v0']);
    await log.close();
    assert.equal(await withMeta((m) => m.get(['format'])), EMBEDDED_LOG_FORMAT);
    // A later build's log: refused with what to do, and its records left as they were.
    for (const later of [EMBEDDED_LOG_FORMAT + 1, 'x']) {
      await withMeta((m) => m.put(['format'], later));
      assert.throws(
        () => new EmbeddedLog(path),
        (err: unknown) => isNudgeError(err) && err.code === ErrorCodes.STATE && err.message.includes(`format ${String(later)}`) && err.message.includes('move the directory aside'),
      );
    }
    await withMeta((m) => m.put(['format'], EMBEDDED_LOG_FORMAT));
    log = new EmbeddedLog(path);
    assert.deepEqual(log.read('t', 0, 0, 10).map((r) => r.value?.toString('utf8')), ['v0']);
    await log.close();
  } finally {
    cleanup();
  }
});

test('embedded log: two writers of one log (run and produce) append after each other, and refresh shows each the other\'s records', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const a = new EmbeddedLog(join(dir, 'log'));
    a.createTopic('t', 1);
    // Opened before `a` appends, as `nudge produce` beside a running `nudge run` is.
    const b = new EmbeddedLog(join(dir, 'log'));
    a.append('t', [0, 1, 2].map((i) => ({ key: 'k', value: `a${i}` })));
    const placed = b.append('t', [0, 1].map((i) => ({ key: 'k', value: `b${i}` })));
    assert.deepEqual(placed, [[0, 3], [0, 4]], "after a's records, not over them");
    const wakes: string[] = [];
    a.on('append', (topic: string, partition: number) => wakes.push(`${topic}/${partition}`));
    assert.equal(a.end('t', 0), 3, 'a has not looked yet');
    a.refresh();
    assert.deepEqual(wakes, ['t/0'], 'refresh wakes the readers of what moved');
    assert.equal(a.end('t', 0), 5);
    assert.deepEqual(a.read('t', 0, 0, 10).map((r) => r.value?.toString('utf8')), ['a0', 'a1', 'a2', 'b0', 'b1']);
    a.refresh();
    assert.deepEqual(wakes, ['t/0'], 'nothing new, no wake');
    await b.close();
    await a.close();
  } finally {
    cleanup();
  }
});

test('embedded log: a commit that fails takes no offset, writes no record and moves no committed position', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = new EmbeddedLog(join(dir, 'log'));
    log.createTopic('in', 1);
    log.createTopic('out', 1);
    log.append('in', [{ key: 'a', value: 'x', partition: 0 }]);
    const heard: string[] = [];
    log.on('append', (topic: string, partition: number) => heard.push(`${topic}/${partition}`));
    // The first topic's records are written in the transaction before the second, which does not exist, throws.
    assert.throws(
      () =>
        log.commit(
          'g',
          [
            { topic: 'out', record: { key: 'a', value: 'lost', partition: 0 } },
            { topic: 'missing', record: { key: 'a', value: 'lost', partition: 0 } },
          ],
          { in: [0, 1] },
        ),
      /missing does not exist/,
    );
    assert.equal(log.end('out', 0), 0);
    assert.deepEqual(log.read('out', 0, 0, 10), []);
    assert.equal(log.committed('g', 'in', 0), undefined);
    assert.deepEqual(heard, [], 'no listener hears of records that were not written');
    // The next append takes offset 0, and is read back.
    assert.deepEqual(log.append('out', [{ key: 'a', value: 'kept', partition: 0 }]), [[0, 0]]);
    assert.deepEqual(log.read('out', 0, 0, 10).map((r) => r.value?.toString('utf8')), ['kept']);
    assert.deepEqual(heard, ['out/0']);
    await log.close();
  } finally {
    cleanup();
  }
});
