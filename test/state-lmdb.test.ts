import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LmdbStore } from '../state/lmdb-store.js';
import { BAD_TXN_ATTEMPTS, isBadTxn, MDB_BAD_TXN, retryBadTxn } from '../state/lmdb-retry.js';
import { storeConformanceSuite, put, utf8 } from './support/store-conformance.js';
import { tempDir } from './support/tmp.js';

storeConformanceSuite('lmdb', async (dir) => LmdbStore.open(dir));

storeConformanceSuite('lmdb (fsync)', async (dir) => LmdbStore.open(dir, { fsync: true, mapSizeMb: 256 }));

test('lmdb: usedBytes grows with the data and the store reports its backend and path', async () => {
  const { dir, cleanup } = tempDir();
  const store = LmdbStore.open(dir);
  try {
    assert.equal(store.backend, 'lmdb');
    assert.equal(store.path, dir);
    const before = store.usedBytes();
    await store.write(Array.from({ length: 200 }, (_, i) => put(utf8(`k${i}`), new Uint8Array(1024).fill(i & 0xff))));
    assert.ok(store.usedBytes() > before, `usedBytes ${store.usedBytes()} > ${before}`);
  } finally {
    await store.close();
    cleanup();
  }
});

test("lmdb-js's MDB_BAD_TXN commit failure is retried whole, a bounded number of times; other errors pass at once", () => {
  const badTxn = () => Object.assign(new Error('MDB_BAD_TXN: Transaction must abort, has a child, or is invalid: reserved freelist had a data entry with zero-size, last id 1'), { code: MDB_BAD_TXN });
  let calls = 0;
  const retried: number[] = [];
  assert.equal(
    retryBadTxn(() => {
      if (++calls === 1) throw badTxn();
      return 'committed';
    }, BAD_TXN_ATTEMPTS, (_err, attempt) => retried.push(attempt)),
    'committed',
  );
  assert.deepEqual([calls, retried], [2, [1]]);

  calls = 0;
  assert.throws(() => retryBadTxn(() => {
    calls++;
    throw badTxn();
  }), /MDB_BAD_TXN/);
  assert.equal(calls, BAD_TXN_ATTEMPTS, 'gives up after the bounded attempts');

  calls = 0;
  assert.throws(() => retryBadTxn(() => {
    calls++;
    throw Object.assign(new Error('MDB_MAP_FULL'), { code: -30792 });
  }), /MDB_MAP_FULL/);
  assert.equal(calls, 1, 'any other error is not retried');
  assert.equal(isBadTxn(badTxn()), true);
  assert.equal(isBadTxn(new Error('x')), false);
});
