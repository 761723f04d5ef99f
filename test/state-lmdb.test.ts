import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LmdbStore } from '../state/lmdb-store.js';
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
