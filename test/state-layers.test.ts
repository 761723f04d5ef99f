import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NudgeError } from '../errors/index.js';
import type { Timer } from '../processor/operator.js';
import { TimerStore } from '../processor/timers.js';
import type { BackendName, BytesStore, KeyRange, WriteOp } from '../state/bytes-store.js';
import { KeyValueStore } from '../state/key-value-store.js';
import { LmdbStore } from '../state/lmdb-store.js';
import { PartitionState, TIMERS_BY_ID_NAMESPACE, TIMERS_BY_TIME_NAMESPACE, type StoreDeclaration } from '../state/partition-state.js';
import { PendingWrites } from '../state/pending-writes.js';
import { ReadCache } from '../state/read-cache.js';
import { decodeValue, encodeValue } from '../state/value-codec.js';
import { collect, del, hex, put, textKeys, utf8 } from './support/store-conformance.js';
import { mulberry32 } from '../bench/sim/random.js';
import { tempDir } from './support/tmp.js';

/** Delegates to a real engine and records what reaches it. */
class SpyStore implements BytesStore {
  readonly inner: BytesStore;
  gets = 0;
  writes: WriteOp[][] = [];
  /** When set, the next write throws this instead of reaching the engine. */
  failNextWrite: Error | undefined;

  constructor(inner: BytesStore) {
    this.inner = inner;
  }
  get backend(): BackendName {
    return this.inner.backend;
  }
  get path(): string {
    return this.inner.path;
  }
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.gets++;
    return this.inner.get(key);
  }
  range(range?: KeyRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    return this.inner.range(range);
  }
  async write(ops: readonly WriteOp[]): Promise<void> {
    const failure = this.failNextWrite;
    if (failure !== undefined) {
      this.failNextWrite = undefined;
      throw failure;
    }
    this.writes.push([...ops]);
    await this.inner.write(ops);
  }
  sizeOnDisk(): Promise<number> {
    return this.inner.sizeOnDisk();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A spied LMDB store in a fresh directory, closed and removed afterwards. */
async function withEngine(body: (engine: SpyStore, dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const engine = new SpyStore(LmdbStore.open(dir));
  try {
    await body(engine, dir);
  } finally {
    await engine.close();
    cleanup();
  }
}

const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8'));

describe('ReadCache', () => {
  test('a value written through the cache is served without reading the engine', async () => {
    await withEngine(async (engine) => {
      const cache = new ReadCache(engine, 10);
      await cache.write([put(utf8('a'), utf8('1'))]);
      assert.equal(text(await cache.get(utf8('a'))), '1');
      assert.equal(engine.gets, 0, 'a hit does not reach the engine');
      assert.equal(cache.hits, 1);
      assert.equal(cache.misses, 0);
      await cache.write([put(utf8('a'), utf8('2'))]);
      assert.equal(text(await cache.get(utf8('a'))), '2', 'an overwrite replaces the cached value');
      assert.equal(text(await engine.inner.get(utf8('a'))), '2', 'writes reach the engine');
      assert.equal(engine.gets, 0);
    });
  });

  test('a miss reads the engine once, then hits', async () => {
    await withEngine(async (engine) => {
      await engine.inner.write([put(utf8('a'), utf8('1'))]);
      const cache = new ReadCache(engine, 10);
      assert.equal(text(await cache.get(utf8('a'))), '1');
      assert.equal(text(await cache.get(utf8('a'))), '1');
      assert.equal(engine.gets, 1);
      assert.deepEqual([cache.hits, cache.misses], [1, 1]);
    });
  });

  test('absence is cached, and a delete caches absence', async () => {
    await withEngine(async (engine) => {
      const cache = new ReadCache(engine, 10);
      assert.equal(await cache.get(utf8('ghost')), undefined);
      assert.equal(await cache.get(utf8('ghost')), undefined);
      assert.equal(engine.gets, 1, 'the second lookup of a missing key is a hit');
      assert.equal(cache.hits, 1);
      await cache.write([put(utf8('b'), utf8('1'))]);
      await cache.write([del(utf8('b'))]);
      assert.equal(await cache.get(utf8('b')), undefined);
      assert.equal(engine.gets, 1, 'a deleted key is known absent without reading the engine');
      // A cached absence is replaced by a later put.
      await cache.write([put(utf8('ghost'), new Uint8Array(0))]);
      assert.equal((await cache.get(utf8('ghost')))?.byteLength, 0, 'an empty value is present, not a cached absence');
    });
  });

  test('at capacity the least recently used entry is evicted', async () => {
    await withEngine(async (engine) => {
      await engine.inner.write(['a', 'b', 'c'].map((k) => put(utf8(k), utf8(k.toUpperCase()))));
      const cache = new ReadCache(engine, 2);
      await cache.get(utf8('a'));
      await cache.get(utf8('b'));
      assert.equal(engine.gets, 2);
      await cache.get(utf8('a')); // hit: now b is the least recently used
      assert.equal(engine.gets, 2);
      await cache.get(utf8('c')); // miss: evicts b
      assert.equal(engine.gets, 3);
      assert.equal(text(await cache.get(utf8('a'))), 'A');
      assert.equal(text(await cache.get(utf8('c'))), 'C');
      assert.equal(engine.gets, 3, 'a and c stayed cached');
      assert.equal(text(await cache.get(utf8('b'))), 'B');
      assert.equal(engine.gets, 4, 'b was evicted');
      assert.deepEqual([cache.hits, cache.misses], [3, 4]);
    });
  });

  test('writes count towards capacity and evict too', async () => {
    await withEngine(async (engine) => {
      const cache = new ReadCache(engine, 2);
      await cache.write([put(utf8('x'), utf8('1')), put(utf8('y'), utf8('2')), put(utf8('z'), utf8('3'))]);
      assert.equal(text(await cache.get(utf8('y'))), '2');
      assert.equal(text(await cache.get(utf8('z'))), '3');
      assert.equal(engine.gets, 0);
      assert.equal(text(await cache.get(utf8('x'))), '1');
      assert.equal(engine.gets, 1, 'the oldest of three writes did not fit');
    });
  });

  test('capacity 0 passes every read through and caches nothing', async () => {
    await withEngine(async (engine) => {
      const cache = new ReadCache(engine, 0);
      await cache.write([put(utf8('a'), utf8('1'))]);
      assert.equal(text(await cache.get(utf8('a'))), '1');
      assert.equal(text(await cache.get(utf8('a'))), '1');
      assert.equal(await cache.get(utf8('missing')), undefined);
      assert.equal(await cache.get(utf8('missing')), undefined);
      assert.equal(engine.gets, 4);
      assert.equal(cache.hits, 0);
      // Nothing stale either: a write underneath is seen at once.
      await engine.inner.write([put(utf8('a'), utf8('2'))]);
      assert.equal(text(await cache.get(utf8('a'))), '2');
    });
  });

  test('clear forgets entries written underneath the cache; range goes to the engine', async () => {
    await withEngine(async (engine) => {
      const cache = new ReadCache(engine, 10);
      await cache.write([put(utf8('a'), utf8('1'))]);
      await engine.inner.write([put(utf8('a'), utf8('restored'))]);
      assert.equal(text(await cache.get(utf8('a'))), '1', 'a write underneath is not seen until clear');
      assert.deepEqual((await collect(cache)).map(([, v]) => text(v)), ['restored'], 'range is never cached');
      cache.clear();
      assert.equal(text(await cache.get(utf8('a'))), 'restored');
      assert.equal(cache.backend, 'lmdb');
      assert.equal(cache.path, engine.path);
    });
  });
});

describe('PendingWrites', () => {
  /** Base k1…k5 committed; a PendingWrites over it. */
  async function withBase(keys: readonly string[], body: (writes: PendingWrites, engine: SpyStore) => Promise<void>): Promise<void> {
    await withEngine(async (engine) => {
      await engine.inner.write(keys.map((k) => put(utf8(k), utf8(`base-${k}`))));
      await body(new PendingWrites(engine), engine);
    });
  }

  test('reads see the batch’s own writes over the base, and nothing reaches the base', async () => {
    await withBase(['a', 'b'], async (writes, engine) => {
      writes.put(utf8('a'), utf8('pending-a'));
      writes.put(utf8('c'), utf8('pending-c'));
      writes.put(utf8('e'), new Uint8Array(0));
      assert.equal(text(await writes.get(utf8('a'))), 'pending-a');
      assert.equal(text(await writes.get(utf8('b'))), 'base-b');
      assert.equal(text(await writes.get(utf8('c'))), 'pending-c');
      assert.equal((await writes.get(utf8('e')))?.byteLength, 0, 'a pending empty value is present');
      assert.equal(await writes.get(utf8('d')), undefined);
      assert.equal(writes.size, 3);
      assert.equal(text(await engine.inner.get(utf8('a'))), 'base-a');
      assert.equal(await engine.inner.get(utf8('c')), undefined);
      assert.equal(engine.writes.length, 0);
    });
  });

  test('a pending delete shadows the base; a later put revives the key', async () => {
    await withBase(['a', 'b'], async (writes, engine) => {
      writes.delete(utf8('a'));
      assert.equal(await writes.get(utf8('a')), undefined);
      assert.equal(text(await engine.inner.get(utf8('a'))), 'base-a');
      writes.put(utf8('a'), utf8('again'));
      assert.equal(text(await writes.get(utf8('a'))), 'again');
    });
  });

  test('the caller may reuse the key buffer after a put', async () => {
    await withBase([], async (writes) => {
      const key = utf8('k1');
      writes.put(key, utf8('v1'));
      key[1] = '2'.charCodeAt(0);
      writes.put(key, utf8('v2'));
      assert.deepEqual(await textKeys(writes), ['k1', 'k2']);
      assert.equal(text(await writes.get(utf8('k1'))), 'v1');
    });
  });

  test('range merges pending puts and deletes with the base, in both directions', async () => {
    await withBase(['k1', 'k3', 'k5', 'k7'], async (writes) => {
      writes.put(utf8('k2'), utf8('p2'));
      writes.put(utf8('k5'), utf8('p5')); // overwrites a base key
      writes.put(utf8('k8'), utf8('p8')); // after every base key
      writes.put(utf8('k0'), utf8('p0')); // before every base key
      writes.delete(utf8('k3'));
      writes.delete(utf8('k9')); // deleting what is not there
      const forward = (await collect(writes)).map(([k, v]) => `${text(k)}=${text(v)}`);
      assert.deepEqual(forward, ['k0=p0', 'k1=base-k1', 'k2=p2', 'k5=p5', 'k7=base-k7', 'k8=p8']);
      const reverse = (await collect(writes, { reverse: true })).map(([k, v]) => `${text(k)}=${text(v)}`);
      assert.deepEqual(reverse, [...forward].reverse());
      assert.deepEqual(await textKeys(writes, { gte: utf8('k2'), lt: utf8('k8') }), ['k2', 'k5', 'k7']);
      assert.deepEqual(await textKeys(writes, { gt: utf8('k2'), lte: utf8('k8') }), ['k5', 'k7', 'k8']);
      assert.deepEqual(await textKeys(writes, { gt: utf8('k0'), lte: utf8('k5'), reverse: true }), ['k5', 'k2', 'k1']);
    });
  });

  test('a pending key equal to the last base key is yielded once, with the pending value', async () => {
    await withBase(['k1', 'k2'], async (writes) => {
      writes.put(utf8('k2'), utf8('p2'));
      assert.deepEqual((await collect(writes)).map(([k, v]) => `${text(k)}=${text(v)}`), ['k1=base-k1', 'k2=p2']);
      assert.deepEqual((await collect(writes, { reverse: true })).map(([k, v]) => `${text(k)}=${text(v)}`), ['k2=p2', 'k1=base-k1']);
    });
  });

  test('limit counts what is visible: pending deletes do not use it up', async () => {
    await withBase(['k1', 'k2', 'k3', 'k4', 'k5', 'k6'], async (writes) => {
      writes.delete(utf8('k1'));
      writes.delete(utf8('k2'));
      writes.delete(utf8('k6'));
      writes.delete(utf8('k5'));
      writes.put(utf8('k4a'), utf8('p'));
      assert.deepEqual(await textKeys(writes, { limit: 2 }), ['k3', 'k4']);
      assert.deepEqual(await textKeys(writes, { limit: 2, reverse: true }), ['k4a', 'k4']);
      assert.deepEqual(await textKeys(writes, { limit: 3, reverse: true }), ['k4a', 'k4', 'k3']);
      assert.deepEqual(await textKeys(writes, { limit: 10 }), ['k3', 'k4', 'k4a']);
      assert.deepEqual(await textKeys(writes, { limit: 0 }), []);
      assert.deepEqual(await textKeys(writes, { limit: 1, gt: utf8('k4') }), ['k4a'], 'a pending put counts against the limit');
    });
  });

  test('range over an empty base yields the pending puts in order', async () => {
    await withBase([], async (writes) => {
      for (const k of ['c', 'a', 'b']) writes.put(utf8(k), utf8(k));
      writes.delete(utf8('b'));
      assert.deepEqual(await textKeys(writes), ['a', 'c']);
      assert.deepEqual(await textKeys(writes, { reverse: true }), ['c', 'a']);
    });
  });

  test('rollback undoes exactly the writes since the savepoint', async () => {
    await withBase(['base1', 'base2'], async (writes) => {
      // Earlier records of the batch.
      writes.put(utf8('a'), utf8('a1'));
      writes.put(utf8('b'), utf8('b1'));
      writes.delete(utf8('base2'));
      writes.release();
      // The failing record.
      writes.savepoint();
      writes.put(utf8('a'), utf8('a2')); // overwrites an earlier pending value
      writes.put(utf8('a'), utf8('a3')); // twice
      writes.delete(utf8('b')); // deletes an earlier pending value
      writes.put(utf8('c'), utf8('c1')); // a new key
      writes.delete(utf8('base1')); // shadows the base
      writes.put(utf8('base2'), utf8('revived')); // overwrites an earlier pending delete
      writes.rollback();
      assert.equal(text(await writes.get(utf8('a'))), 'a1');
      assert.equal(text(await writes.get(utf8('b'))), 'b1');
      assert.equal(await writes.get(utf8('c')), undefined);
      assert.equal(text(await writes.get(utf8('base1'))), 'base-base1');
      assert.equal(await writes.get(utf8('base2')), undefined, 'the earlier pending delete is back');
      assert.equal(writes.size, 3);
      assert.deepEqual(await textKeys(writes), ['a', 'b', 'base1']);
      // A second rollback has nothing left to undo.
      writes.rollback();
      assert.equal(text(await writes.get(utf8('a'))), 'a1');
    });
  });

  test('a released savepoint cannot be rolled back; each savepoint covers one record', async () => {
    await withBase([], async (writes) => {
      writes.savepoint();
      writes.put(utf8('r1'), utf8('1'));
      writes.release();
      writes.rollback();
      assert.equal(text(await writes.get(utf8('r1'))), '1', 'release keeps the record’s writes');
      writes.savepoint();
      writes.put(utf8('r2'), utf8('2'));
      writes.savepoint(); // the next record starts: r2 is now kept
      writes.put(utf8('r3'), utf8('3'));
      writes.rollback();
      assert.deepEqual(await textKeys(writes), ['r1', 'r2']);
    });
  });

  test('drain returns the ops sorted by key and starts an empty batch', async () => {
    await withBase(['k2'], async (writes, engine) => {
      writes.put(utf8('k9'), utf8('9'));
      writes.delete(utf8('k2'));
      writes.put(utf8('k1'), utf8('1'));
      writes.put(utf8('k5'), utf8('5'));
      writes.put(utf8('k1'), utf8('1b'));
      writes.savepoint();
      writes.put(utf8('k7'), utf8('7'));
      const ops = writes.drain();
      assert.deepEqual(
        ops.map((op) => (op.type === 'put' ? `put ${text(op.key)}=${text(op.value)}` : `del ${text(op.key)}`)),
        ['put k1=1b', 'del k2', 'put k5=5', 'put k7=7', 'put k9=9'],
      );
      assert.equal(writes.size, 0);
      assert.deepEqual(writes.drain(), [], 'a second drain is empty');
      writes.rollback(); // the savepoint went with the batch
      assert.equal(writes.size, 0);
      assert.equal(text(await writes.get(utf8('k2'))), 'base-k2', 'after drain reads go to the base again');
      await engine.write(ops);
      assert.deepEqual(await textKeys(writes), ['k1', 'k5', 'k7', 'k9']);
    });
  });

  test('random puts, deletes and rollbacks: every range equals a reference merge (bytes above 0x7f included)', async () => {
    // The pending keys are indexed in order as they are written; this compares the index
    // with a plain sorted map after each step, over keys whose bytes span 0x00–0xff.
    const rng = mulberry32(7);
    const keyOf = () => Uint8Array.of(Math.floor(rng() * 4) * 0x55, Math.floor(rng() * 256), Math.floor(rng() * 3));
    const baseKeys = Array.from({ length: 40 }, keyOf);
    await withEngine(async (engine) => {
      await engine.inner.write(baseKeys.map((k) => put(k, Uint8Array.of(0))));
      const writes = new PendingWrites(engine);
      const reference = new Map<string, Uint8Array | null>(); // pending, by hex key
      let undo: Array<[string, Uint8Array | null | undefined]> | null = null;
      const base = new Set(baseKeys.map((k) => hex(k) as string));
      for (let step = 0; step < 1800; step++) {
        const r = rng();
        const key = keyOf();
        const id = hex(key) as string;
        if (r < 0.7) {
          const value = r < 0.5 ? Uint8Array.of(1, step & 0xff) : null;
          undo?.push([id, reference.get(id)]);
          reference.set(id, value);
          if (value === null) writes.delete(key);
          else writes.put(key, value);
        } else if (r < 0.8) {
          writes.savepoint();
          undo = [];
        } else if (r < 0.9) {
          writes.rollback();
          for (const [k, previous] of (undo ?? []).reverse()) {
            if (previous === undefined) reference.delete(k);
            else reference.set(k, previous);
          }
          undo = null;
        } else {
          writes.release();
          undo = null;
        }
        // Not after every step: writes and rollbacks also pile up between scans.
        if (step % 3 !== 2) continue;
        const [a, b] = [keyOf(), keyOf()].sort((x, y) => Buffer.compare(x, y)) as [Uint8Array, Uint8Array];
        const visible = new Map<string, string>();
        for (const k of base) visible.set(k, '00');
        for (const [k, v] of reference) {
          if (v === null) visible.delete(k);
          else visible.set(k, hex(v) as string);
        }
        const expected = [...visible]
          .filter(([k]) => k >= (hex(a) as string) && k < (hex(b) as string))
          .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
          .map(([k, v]) => `${k}=${v}`);
        const reverse = step % 2 === 1;
        const got = (await collect(writes, { gte: a, lt: b, reverse })).map(([k, v]) => `${hex(k)}=${hex(v)}`);
        assert.deepEqual(got, reverse ? expected.reverse() : expected, `step ${step}`);
        assert.equal(writes.size, reference.size, `step ${step}`);
      }
      const drained = writes.drain().map((op) => hex(op.key) as string);
      assert.deepEqual(drained, [...reference.keys()].sort(), 'drain is in key order');
    });
  });

  test('discard drops the batch', async () => {
    await withBase(['a'], async (writes, engine) => {
      writes.put(utf8('a'), utf8('x'));
      writes.put(utf8('b'), utf8('y'));
      writes.discard();
      assert.equal(writes.size, 0);
      assert.equal(text(await writes.get(utf8('a'))), 'base-a');
      assert.equal(await writes.get(utf8('b')), undefined);
      assert.deepEqual(writes.drain(), []);
      assert.equal(engine.writes.length, 0);
    });
  });
});

interface Visit {
  page: string;
  n: number;
  tags: string[];
}

describe('KeyValueStore', () => {
  async function withStores(body: (visits: KeyValueStore<Visit>, other: KeyValueStore<number>, writes: PendingWrites, engine: SpyStore) => Promise<void>): Promise<void> {
    await withEngine(async (engine) => {
      const writes = new PendingWrites(engine);
      await body(new KeyValueStore<Visit>('visits', 0x10, writes), new KeyValueStore<number>('other', 0x11, writes), writes, engine);
    });
  }

  test('typed put and get, before and after commit', async () => {
    await withStores(async (visits, _other, writes, engine) => {
      visits.put(['u1', 'home'], { page: 'home', n: 1, tags: ['a'] });
      assert.deepEqual(await visits.get(['u1', 'home']), { page: 'home', n: 1, tags: ['a'] });
      assert.equal(await visits.get(['u1']), undefined);
      assert.equal(await visits.get(['u1', 'cart']), undefined);
      await engine.write(writes.drain());
      assert.deepEqual(await visits.get(['u1', 'home']), { page: 'home', n: 1, tags: ['a'] });
      visits.delete(['u1', 'home']);
      assert.equal(await visits.get(['u1', 'home']), undefined);
    });
  });

  test('every get is a fresh object: mutating what was read or written changes nothing stored', async () => {
    await withStores(async (visits, _other, writes, engine) => {
      const original: Visit = { page: 'home', n: 1, tags: ['a'] };
      visits.put(['u1'], original);
      original.n = 99;
      original.tags.push('mutated');
      const first = await visits.get(['u1']);
      assert.ok(first !== undefined);
      assert.deepEqual(first, { page: 'home', n: 1, tags: ['a'] }, 'put stored a snapshot');
      first.n = 42;
      first.tags.push('x');
      const second = await visits.get(['u1']);
      assert.notEqual(second, first);
      assert.deepEqual(second, { page: 'home', n: 1, tags: ['a'] });
      await engine.write(writes.drain());
      const cached = new KeyValueStore<Visit>('visits', 0x10, new PendingWrites(new ReadCache(engine, 10)));
      const c1 = await cached.get(['u1']);
      assert.ok(c1 !== undefined);
      c1.tags.length = 0;
      assert.deepEqual(await cached.get(['u1']), { page: 'home', n: 1, tags: ['a'] }, 'a cached value is decoded afresh too');
    });
  });

  test('scan with a prefix returns exactly that prefix, typed and in order', async () => {
    await withStores(async (visits, other, writes, engine) => {
      visits.put(['u42', 'b'], { page: 'b', n: 2, tags: [] });
      visits.put(['u420', 'a'], { page: 'x', n: 0, tags: [] });
      visits.put(['u4', '2'], { page: 'y', n: 0, tags: [] });
      await engine.write(writes.drain());
      visits.put(['u42', 'a'], { page: 'a', n: 1, tags: [] });
      visits.put(['u42'], { page: 'root', n: 0, tags: [] });
      other.put(['u42', 'a'], 7); // same tuple, other namespace
      const scanned: Array<[readonly (string | number)[], string]> = [];
      for await (const [key, value] of visits.scan({ prefix: ['u42'] })) scanned.push([key, value.page]);
      assert.deepEqual(scanned, [
        [['u42'], 'root'],
        [['u42', 'a'], 'a'],
        [['u42', 'b'], 'b'],
      ]);
      const reversed: string[] = [];
      for await (const [, value] of visits.scan({ prefix: ['u42'], reverse: true, limit: 2 })) reversed.push(value.page);
      assert.deepEqual(reversed, ['b', 'a']);
      const all: string[] = [];
      for await (const [key] of visits.scan()) all.push(key.join('/'));
      assert.deepEqual(all, ['u4/2', 'u42', 'u42/a', 'u42/b', 'u420/a'], 'a full scan stays in its namespace');
      const others: Array<[readonly (string | number)[], number]> = [];
      for await (const entry of other.scan({ prefix: [] })) others.push(entry);
      assert.deepEqual(others, [[['u42', 'a'], 7]]);
    });
  });

  test('scan with gte and lt bounds', async () => {
    await withStores(async (_visits, other) => {
      for (const [i, at] of [5, -3, 10, 0, 7].entries()) other.put([at, `t${i}`], at);
      const got: number[] = [];
      for await (const [, v] of other.scan({ gte: [0], lt: [7] })) got.push(v);
      assert.deepEqual(got, [0, 5]);
      const tail: number[] = [];
      for await (const [, v] of other.scan({ gte: [6] })) tail.push(v);
      assert.deepEqual(tail, [7, 10]);
    });
  });

  test('deletePrefix deletes exactly the keys under the prefix and counts them', async () => {
    await withStores(async (visits, other, writes, engine) => {
      const v: Visit = { page: 'p', n: 0, tags: [] };
      visits.put(['u1', 'a'], v);
      visits.put(['u1', 'b'], v);
      visits.put(['u10', 'a'], v);
      visits.put(['u2', 'a'], v);
      await engine.write(writes.drain());
      visits.put(['u1', 'c'], v); // pending
      visits.put(['u1'], v); // the prefix's own key
      other.put(['u1', 'a'], 1);
      assert.equal(await visits.deletePrefix(['u1']), 4);
      const left: string[] = [];
      for await (const [key] of visits.scan()) left.push(key.join('/'));
      assert.deepEqual(left, ['u10/a', 'u2/a']);
      assert.equal(await other.get(['u1', 'a']), 1, 'another namespace is untouched');
      assert.equal(await visits.deletePrefix(['nobody']), 0);
    });
  });

  test('key parts that cannot be encoded are rejected', async () => {
    await withStores(async (visits) => {
      const v: Visit = { page: 'p', n: 0, tags: [] };
      assert.throws(() => visits.put(['a\u0000b'], v), TypeError);
      assert.throws(() => visits.put([Number.NaN], v), TypeError);
      assert.throws(() => visits.put([Number.POSITIVE_INFINITY], v), TypeError);
      await assert.rejects(visits.get(['x', '\u0000']), TypeError);
    });
  });
});

describe('PartitionState', () => {
  const COUNTS: StoreDeclaration = { name: 'counts', namespace: 0x10 };

  test('the checkpoint is written in the same engine write as the batch, and survives reopening', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const engine = new SpyStore(LmdbStore.open(dir));
      const state = await PartitionState.open(3, engine, [COUNTS], 100);
      assert.deepEqual(state.checkpoint, { sources: {}, commits: 0 });
      state.store<number>('counts').put(['u1'], 5);
      state.store<number>('counts').put(['u2'], 6);
      const { ops, checkpoint } = state.prepareCommit({ 'nudge.events': 42 });
      assert.equal(state.writes.size, 0, 'prepareCommit takes the pending writes');
      assert.equal(ops.length, 2);
      assert.deepEqual(checkpoint, { sources: { 'nudge.events': 42 }, commits: 1 });
      assert.deepEqual(state.checkpoint, { sources: {}, commits: 0 }, 'not advanced before apply');
      await state.apply(ops, checkpoint);
      assert.equal(engine.writes.length, 1, 'one atomic engine write');
      const written = engine.writes[0] ?? [];
      assert.equal(written.length, 3);
      const last = written[written.length - 1];
      assert.ok(last !== undefined && last.type === 'put' && PartitionState.isCheckpointKey(last.key), 'the checkpoint rides in the same write');
      assert.deepEqual(decodeValue(last.value), checkpoint);
      assert.deepEqual(state.checkpoint, checkpoint);

      // A second batch merges sources and keeps changelogNext.
      state.store<number>('counts').put(['u1'], 7);
      const second = state.prepareCommit({ 'nudge.profiles': 3 }, 100);
      await state.apply(second.ops, second.checkpoint);
      assert.deepEqual(state.checkpoint, { sources: { 'nudge.events': 42, 'nudge.profiles': 3 }, commits: 2, changelogNext: 100 });
      const third = state.prepareCommit({ 'nudge.events': 50 });
      assert.equal(third.checkpoint.changelogNext, 100, 'changelogNext carries over when not given');
      await state.apply(third.ops, third.checkpoint);
      await state.close();

      const reopened = await PartitionState.open(3, LmdbStore.open(dir), [COUNTS], 100);
      try {
        assert.deepEqual(reopened.checkpoint, { sources: { 'nudge.events': 50, 'nudge.profiles': 3 }, commits: 3, changelogNext: 100 });
        assert.equal(await reopened.store<number>('counts').get(['u1']), 7);
        assert.equal(await reopened.store<number>('counts').get(['u2']), 6);
        const keys: string[] = [];
        for await (const [key] of reopened.store<number>('counts').scan()) keys.push(key.join('/'));
        assert.deepEqual(keys, ['u1', 'u2'], 'the checkpoint is not visible through a user store');
      } finally {
        await reopened.close();
      }
    } finally {
      cleanup();
    }
  });

  test('a failed write advances neither the checkpoint nor the state', async () => {
    await withEngine(async (engine) => {
      const state = await PartitionState.open(0, engine, [COUNTS], 100);
      state.store<number>('counts').put(['u1'], 1);
      const { ops, checkpoint } = state.prepareCommit({ t: 10 });
      engine.failNextWrite = new Error('disk full');
      await assert.rejects(state.apply(ops, checkpoint), /disk full/);
      assert.deepEqual(state.checkpoint, { sources: {}, commits: 0 });
      assert.equal(await state.store<number>('counts').get(['u1']), undefined);
      await state.reloadCheckpoint();
      assert.deepEqual(state.checkpoint, { sources: {}, commits: 0 });
    });
  });

  test('reloadCheckpoint sees a checkpoint restored underneath and drops stale cache entries', async () => {
    await withEngine(async (engine) => {
      const state = await PartitionState.open(0, engine, [COUNTS], 100);
      const counts = state.store<number>('counts');
      counts.put(['u1'], 1);
      const first = state.prepareCommit({ t: 1 });
      await state.apply(first.ops, first.checkpoint);
      assert.equal(await counts.get(['u1']), 1);
      // A restore writes straight to the engine.
      const restoring = new PendingWrites(engine.inner);
      new KeyValueStore<number>('counts', 0x10, restoring).put(['u1'], 99);
      await engine.inner.write([...restoring.drain(), put(PartitionState.checkpointKey, encodeValue({ sources: { t: 9 }, commits: 5 }))]);
      assert.deepEqual(state.checkpoint, first.checkpoint);
      await state.reloadCheckpoint();
      assert.deepEqual(state.checkpoint, { sources: { t: 9 }, commits: 5 });
      assert.equal(await counts.get(['u1']), 99, 'the cache no longer holds the old value');
    });
  });

  test('declared namespaces are validated', async () => {
    await withEngine(async (engine) => {
      const isStateError = (err: unknown) => err instanceof NudgeError && err.code === 'NUDGE_ERR_STATE';
      await assert.rejects(
        PartitionState.open(0, engine, [COUNTS, { name: 'other', namespace: 0x10 }], 10),
        (err: unknown) => isStateError(err) && /counts/.test((err as Error).message) && /other/.test((err as Error).message),
        'a namespace clash names both stores',
      );
      for (const namespace of [0x0f, 0x00, TIMERS_BY_TIME_NAMESPACE, TIMERS_BY_ID_NAMESPACE, 0x100, -1, 16.5, Number.NaN]) {
        await assert.rejects(PartitionState.open(0, engine, [{ name: 'bad', namespace }], 10), isStateError, `namespace ${namespace}`);
      }
      const state = await PartitionState.open(0, engine, [COUNTS, { name: 'last', namespace: 0xff }], 10);
      assert.throws(() => state.store('nope'), isStateError);
      const last = state.store<string>('last');
      last.put(['x'], 'in-0xff');
      state.store<number>('counts').put(['x'], 1);
      const { ops, checkpoint } = state.prepareCommit({});
      await state.apply(ops, checkpoint);
      const seen: string[] = [];
      for await (const [, v] of last.scan()) seen.push(v);
      assert.deepEqual(seen, ['in-0xff'], 'a store in namespace 0xff can be scanned');
      const viaPrefix: string[] = [];
      for await (const [, v] of last.scan({ prefix: [] })) viaPrefix.push(v);
      assert.deepEqual(viaPrefix, ['in-0xff']);
      assert.equal(await last.deletePrefix([]), 1);
    });
  });
});

describe('TimerStore', () => {
  async function withTimers(body: (timers: TimerStore, state: PartitionState, engine: SpyStore) => Promise<void>): Promise<void> {
    await withEngine(async (engine) => {
      const state = await PartitionState.open(0, engine, [], 100);
      await body(new TimerStore(state), state, engine);
    });
  }

  const timer = (id: string, at: number): Timer<{ id: string }> => ({ id, at, owner: 'op', payload: { id } });

  async function commit(state: PartitionState): Promise<void> {
    const { ops, checkpoint } = state.prepareCommit({});
    await state.apply(ops, checkpoint);
  }

  test('schedule, get and next', async () => {
    await withTimers(async (timers) => {
      assert.equal(await timers.next(), undefined);
      await timers.schedule(timer('b', 200));
      await timers.schedule(timer('a', 100));
      assert.deepEqual(await timers.get('a'), timer('a', 100));
      assert.equal(await timers.get('zzz'), undefined);
      assert.equal(await timers.next(), 100);
    });
  });

  test('scheduling an existing id moves it, in the same batch or a later one', async () => {
    await withTimers(async (timers, state) => {
      await timers.schedule(timer('t1', 100));
      await timers.schedule(timer('t1', 300)); // same batch
      assert.equal((await timers.get('t1'))?.at, 300);
      assert.equal(await timers.next(), 300, 'the old due time is gone');
      await commit(state);
      await timers.schedule(timer('t1', 50)); // later batch, earlier time
      assert.equal(await timers.next(), 50);
      assert.deepEqual(await timers.takeDue(1000, 10), [timer('t1', 50)], 'fires once, at its last time');
      assert.equal(await timers.next(), undefined);
    });
  });

  test('cancel removes a timer and says whether one was pending', async () => {
    await withTimers(async (timers, state) => {
      await timers.schedule(timer('a', 10));
      await timers.schedule(timer('b', 20));
      await commit(state);
      assert.equal(await timers.cancel('a'), true);
      assert.equal(await timers.cancel('a'), false);
      assert.equal(await timers.cancel('never'), false);
      assert.equal(await timers.get('a'), undefined);
      assert.equal(await timers.next(), 20);
      assert.deepEqual((await timers.takeDue(100, 10)).map((t) => t.id), ['b']);
    });
  });

  test('takeDue returns only due timers, in time order, timers at exactly now included, and removes them', async () => {
    await withTimers(async (timers, state) => {
      for (const [id, at] of [
        ['late', 31],
        ['z-now', 30],
        ['mid', 20],
        ['a-now', 30],
        ['early', 10],
        ['far', 5000],
        ['zero', 0],
      ] as const) {
        await timers.schedule(timer(id, at));
      }
      await commit(state);
      const due = await timers.takeDue(30, 100);
      assert.deepEqual(
        due.map((t) => `${t.id}@${t.at}`),
        ['zero@0', 'early@10', 'mid@20', 'a-now@30', 'z-now@30'],
      );
      assert.deepEqual(due[0], timer('zero', 0), 'the whole timer comes back');
      assert.deepEqual(await timers.takeDue(30, 100), [], 'taken timers are gone');
      assert.equal(await timers.get('mid'), undefined);
      assert.equal(await timers.next(), 31);
      await commit(state);
      assert.deepEqual((await timers.takeDue(31, 100)).map((t) => t.id), ['late']);
      assert.deepEqual((await timers.takeDue(4999, 100)).map((t) => t.id), []);
      assert.deepEqual((await timers.takeDue(5000, 100)).map((t) => t.id), ['far']);
    });
  });

  test('takeDue respects its limit, earliest first', async () => {
    await withTimers(async (timers) => {
      for (let i = 5; i >= 1; i--) await timers.schedule(timer(`t${i}`, i * 10));
      assert.deepEqual((await timers.takeDue(100, 2)).map((t) => t.id), ['t1', 't2']);
      assert.deepEqual((await timers.takeDue(100, 2)).map((t) => t.id), ['t3', 't4']);
      assert.deepEqual((await timers.takeDue(100, 2)).map((t) => t.id), ['t5']);
      assert.equal(await timers.next(), undefined);
    });
  });

  test('timers are durable state: committed, they survive reopening', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const state = await PartitionState.open(0, LmdbStore.open(dir), [], 10);
      const timers = new TimerStore(state);
      await timers.schedule(timer('kept', 100));
      await timers.schedule(timer('uncommitted-later', 50));
      await commit(state);
      await timers.schedule(timer('never-committed', 10));
      await state.close();
      const again = await PartitionState.open(0, LmdbStore.open(dir), [], 10);
      try {
        const reopened = new TimerStore(again);
        assert.equal(await reopened.get('never-committed'), undefined);
        assert.deepEqual((await reopened.takeDue(1000, 10)).map((t) => t.id), ['uncommitted-later', 'kept']);
      } finally {
        await again.close();
      }
    } finally {
      cleanup();
    }
  });
});

test('the checkpoint key lives outside every user namespace', () => {
  const key = PartitionState.checkpointKey;
  assert.ok(key[0] !== undefined && key[0] < 0x10);
  assert.equal(hex(key.subarray(0, 1)), '00');
});
