import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { StateConfig } from '../config/schema.js';
import { PartitionError } from '../errors/index.js';
import { openPartitionStore, partitionDir } from '../state/open-store.js';
import { PartitionState } from '../state/partition-state.js';
import { RocksDbStore } from '../state/rocksdb-store.js';
import { collect, hex, put, utf8 } from './support/store-conformance.js';
import { storeConformanceSuite } from './support/store-conformance.js';
import { tempDir } from './support/tmp.js';

storeConformanceSuite('rocksdb', async (dir) => RocksDbStore.open(dir));

storeConformanceSuite('rocksdb (fsync)', async (dir) => RocksDbStore.open(dir, { fsync: true }));

test('rocksdb: the store reports its backend and path, and gt+gte / lt+lte together keep the tighter bound', async () => {
  const { dir, cleanup } = tempDir();
  const store = await RocksDbStore.open(dir);
  try {
    assert.equal(store.backend, 'rocksdb');
    assert.equal(store.path, dir);
    await store.write(['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => put(utf8(k), utf8(k))));
    // The binding alone keeps one bound per side (gte over gt, lte over lt); the store must honour both.
    const keys = async (range: Parameters<RocksDbStore['range']>[0]) => (await collect(store, range)).map(([k]) => Buffer.from(k).toString());
    assert.deepEqual(await keys({ gte: utf8('k1'), gt: utf8('k2'), lte: utf8('k5'), lt: utf8('k4') }), ['k3']);
    assert.deepEqual(await keys({ gte: utf8('k3'), gt: utf8('k1'), lte: utf8('k4'), lt: utf8('k5') }), ['k3', 'k4']);
    assert.deepEqual(await keys({ gte: utf8('k2'), gt: utf8('k2'), reverse: true }), ['k5', 'k4', 'k3']);
  } finally {
    await store.close();
    cleanup();
  }
});

test('rocksdb: a second open of a directory in use fails with NUDGE_ERR_STATE and the partition', async () => {
  const { dir, cleanup } = tempDir();
  const first = await RocksDbStore.open(dir, { partition: 3 });
  try {
    await assert.rejects(
      RocksDbStore.open(dir, { partition: 3 }),
      (err: unknown) =>
        err instanceof PartitionError &&
        err.code === 'NUDGE_ERR_STATE' &&
        err.partition === 3 &&
        /lock/i.test(err.message), // the engine's reason, not only abstract-level's "Database is not open"
    );
  } finally {
    await first.close();
    cleanup();
  }
});

test('rocksdb: an early break out of range() releases the iterator, and close() still completes', async () => {
  const { dir, cleanup } = tempDir();
  const store = await RocksDbStore.open(dir);
  try {
    await store.write(Array.from({ length: 3000 }, (_, i) => put(utf8(`k${String(i).padStart(5, '0')}`), utf8(String(i)))));
    let seen = 0;
    for await (const _entry of store.range()) {
      if (++seen === 1500) break;
    }
    assert.equal(seen, 1500);
  } finally {
    await store.close();
    cleanup();
  }
});

test('rocksdb: a scan cut short by close() rejects with NUDGE_ERR_CLOSED', async () => {
  const { dir, cleanup } = tempDir();
  const store = await RocksDbStore.open(dir);
  try {
    await store.write(Array.from({ length: 3000 }, (_, i) => put(utf8(`k${String(i).padStart(5, '0')}`), utf8(String(i)))));
    const scan = store.range()[Symbol.asyncIterator]();
    assert.equal((await scan.next()).done, false);
    const closing = store.close();
    // Entries already fetched may still arrive; the next fetch from the engine must fail as "closed".
    await assert.rejects(
      (async () => {
        for (;;) if ((await scan.next()).done === true) return;
      })(),
      (err: unknown) => err instanceof PartitionError && err.code === 'NUDGE_ERR_CLOSED',
    );
    await closing;
  } finally {
    await store.close();
    cleanup();
  }
});

test('rocksdb: openPartitionStore opens a RocksDbStore, and PartitionState data and checkpoint survive a reopen', async () => {
  const { dir, cleanup } = tempDir();
  const config: StateConfig = { dir, backend: 'rocksdb', cacheEntries: 100, fsync: false, mapSizeMb: 64 };
  const declarations = [{ name: 'counts', namespace: 0x10 }];
  try {
    const engine = await openPartitionStore(config, 2);
    assert.ok(engine instanceof RocksDbStore, 'the factory returns the RocksDB engine');
    assert.equal(engine.backend, 'rocksdb');
    assert.equal(engine.path, partitionDir(config, 2));
    assert.equal(engine.path, join(dir, 'rocksdb-p2'));

    const state = await PartitionState.open(2, engine, declarations, config.cacheEntries);
    assert.deepEqual(state.checkpoint, { sources: {}, commits: 0 });
    const counts = state.store<{ n: number }>('counts');
    counts.put(['u1'], { n: 1 });
    counts.put(['u2'], { n: 2 });
    const first = state.prepareCommit({ 'events-0': 10 });
    await state.apply(first.ops, first.checkpoint);
    counts.put(['u1'], { n: 11 });
    counts.delete(['u2']);
    counts.put(['u3'], { n: 3 });
    const second = state.prepareCommit({ 'events-0': 25 }, 7);
    await state.apply(second.ops, second.checkpoint);
    await state.close();

    const again = await openPartitionStore(config, 2);
    const reopened = await PartitionState.open(2, again, declarations, config.cacheEntries);
    try {
      assert.deepEqual(reopened.checkpoint, { sources: { 'events-0': 25 }, commits: 2, changelogNext: 7 });
      const view = reopened.store<{ n: number }>('counts');
      assert.deepEqual(await view.get(['u1']), { n: 11 });
      assert.equal(await view.get(['u2']), undefined, 'a delete survives too');
      assert.deepEqual(await view.get(['u3']), { n: 3 });
      // The checkpoint key is in the engine next to the data it describes.
      assert.ok(hex(await again.get(PartitionState.checkpointKey)) !== undefined);
    } finally {
      await reopened.close();
    }
  } finally {
    cleanup();
  }
});
