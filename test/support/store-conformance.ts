import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NudgeError } from '../../errors/index.js';
import type { BytesStore, KeyRange, WriteOp } from '../../state/bytes-store.js';
import { decodeKey, encodeKey, prefixBounds, type KeyTuple } from '../../state/key-codec.js';
import { tempDir } from './tmp.js';

export interface ConformanceOptions {
  /**
   * Whether get/range/write on a closed store reject with NUDGE_ERR_CLOSED. The
   * BytesStore contract does not demand it; engines that do it should say so.
   */
  rejectsAfterClose?: boolean;
}

/** Hex of any byte view, so that assertion diffs are readable and Buffer vs Uint8Array never matters. */
export function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

export function put(key: Uint8Array, value: Uint8Array): WriteOp {
  return { type: 'put', key, value };
}

export function del(key: Uint8Array): WriteOp {
  return { type: 'del', key };
}

export async function collect(store: Pick<BytesStore, 'range'>, range?: KeyRange): Promise<Array<[Uint8Array, Uint8Array]>> {
  const out: Array<[Uint8Array, Uint8Array]> = [];
  for await (const entry of store.range(range)) out.push(entry);
  return out;
}

/** Keys of a range as utf8 strings (for ranges over text keys). */
export async function textKeys(store: Pick<BytesStore, 'range'>, range?: KeyRange): Promise<string[]> {
  return (await collect(store, range)).map(([k]) => Buffer.from(k).toString('utf8'));
}

/**
 * Tests every BytesStore engine must pass. `open` is called with a fresh directory
 * (and again with the same one to test reopening); the suite closes what it opens.
 */
export function storeConformanceSuite(
  backendName: string,
  open: (dir: string) => Promise<BytesStore>,
  options: ConformanceOptions = {},
): void {
  const rejectsAfterClose = options.rejectsAfterClose ?? true;

  /** Runs `body` on a store in a fresh directory, then closes it and removes the directory. */
  async function withStore(body: (store: BytesStore, dir: string) => Promise<void>): Promise<void> {
    const { dir, cleanup } = tempDir(`nudge-conf-${backendName}-`);
    const store = await open(dir);
    try {
      await body(store, dir);
    } finally {
      await store.close();
      cleanup();
    }
  }

  /** Five text keys k1…k5 with values v1…v5. */
  async function withFive(body: (store: BytesStore) => Promise<void>): Promise<void> {
    await withStore(async (store) => {
      await store.write([5, 3, 1, 4, 2].map((n) => put(utf8(`k${n}`), utf8(`v${n}`))));
      await body(store);
    });
  }

  describe(`BytesStore conformance: ${backendName}`, () => {
    describe('get / write', () => {
      test('get of a missing key is undefined, on an empty store and beside other keys', async () => {
        await withStore(async (store) => {
          assert.equal(await store.get(utf8('nope')), undefined);
          await store.write([put(utf8('a'), utf8('1')), put(utf8('c'), utf8('3'))]);
          assert.equal(await store.get(utf8('b')), undefined);
          assert.equal(await store.get(utf8('a\u0000')), undefined, 'a longer key is a different key');
        });
      });

      test('put then get returns the same bytes, and the caller may keep what it got', async () => {
        await withStore(async (store) => {
          await store.write([put(utf8('a'), bytes(1, 2, 3)), put(utf8('b'), bytes(9, 8, 7, 6))]);
          const a = await store.get(utf8('a'));
          const b = await store.get(utf8('b'));
          assert.ok(a instanceof Uint8Array);
          assert.equal(hex(a), '010203');
          assert.equal(hex(b), '09080706');
          // Engines that hand out views into reused buffers would change `a` when `b` is read.
          assert.equal(hex(a), '010203', 'a value read earlier is not overwritten by a later read');
          a[0] = 0xee;
          assert.equal(hex(await store.get(utf8('a'))), '010203', 'mutating a returned value does not change the store');
        });
      });

      test('the store keeps its own copy of written bytes', async () => {
        await withStore(async (store) => {
          const key = utf8('k');
          const value = bytes(1, 2, 3);
          await store.write([put(key, value)]);
          value[0] = 0x55;
          key[0] = 0x41;
          assert.equal(hex(await store.get(utf8('k'))), '010203');
        });
      });

      test('an empty value is present and distinct from a missing one', async () => {
        await withStore(async (store) => {
          await store.write([put(utf8('empty'), new Uint8Array(0))]);
          const got = await store.get(utf8('empty'));
          assert.notEqual(got, undefined, 'an empty value must not read as absent');
          assert.ok(got instanceof Uint8Array);
          assert.equal(got.byteLength, 0);
          assert.equal(await store.get(utf8('other')), undefined);
          const scanned = await collect(store);
          assert.equal(scanned.length, 1, 'range yields the empty value');
          assert.equal(hex(scanned[0]?.[0]), hex(utf8('empty')));
          assert.equal(scanned[0]?.[1].byteLength, 0);
          // Deleting it makes it absent.
          await store.write([del(utf8('empty'))]);
          assert.equal(await store.get(utf8('empty')), undefined);
        });
      });

      test('binary keys with 0x00 and 0xff bytes are distinct and ordered as unsigned bytes', async () => {
        await withStore(async (store) => {
          const keys = [bytes(0xff, 0xff), bytes(0x80), bytes(0x00), bytes(0x7f), bytes(0x00, 0xff), bytes(0xff), bytes(0x00, 0x00), bytes(0x01, 0x00, 0x01)];
          await store.write(keys.map((k, i) => put(k, bytes(i))));
          for (const [i, k] of keys.entries()) assert.equal(hex(await store.get(k)), hex(bytes(i)), `key ${hex(k)}`);
          assert.equal(await store.get(bytes(0x00, 0x00, 0x00)), undefined);
          assert.equal(await store.get(bytes(0xff, 0xff, 0xff)), undefined);
          const order = (await collect(store)).map(([k]) => hex(k));
          // 0x80 after 0x7f: bytes compare unsigned; a prefix sorts before its extensions.
          assert.deepEqual(order, ['00', '0000', '00ff', '010001', '7f', '80', 'ff', 'ffff']);
        });
      });

      test('an overwrite replaces the value, whether longer or shorter', async () => {
        await withStore(async (store) => {
          await store.write([put(utf8('k'), utf8('short'))]);
          await store.write([put(utf8('k'), utf8('a much longer value'))]);
          assert.equal(Buffer.from((await store.get(utf8('k'))) ?? []).toString(), 'a much longer value');
          await store.write([put(utf8('k'), utf8('x'))]);
          assert.equal(Buffer.from((await store.get(utf8('k'))) ?? []).toString(), 'x');
          assert.equal((await collect(store)).length, 1, 'an overwrite does not add a key');
        });
      });

      test('delete removes only its key; deleting a missing key is a no-op', async () => {
        await withStore(async (store) => {
          await store.write([put(utf8('a'), utf8('1')), put(utf8('b'), utf8('2')), put(utf8('c'), utf8('3'))]);
          await store.write([del(utf8('b'))]);
          assert.equal(await store.get(utf8('b')), undefined);
          assert.equal(hex(await store.get(utf8('a'))), hex(utf8('1')));
          assert.equal(hex(await store.get(utf8('c'))), hex(utf8('3')));
          await store.write([del(utf8('never-there'))]);
          assert.deepEqual(await textKeys(store), ['a', 'c']);
        });
      });

      test('one write applies many ops in order', async () => {
        await withStore(async (store) => {
          await store.write([put(utf8('existing'), utf8('old')), put(utf8('doomed'), utf8('x'))]);
          await store.write([
            put(utf8('p'), utf8('1')),
            del(utf8('p')), // put then delete in one batch: absent
            del(utf8('q')),
            put(utf8('q'), utf8('2')), // delete then put: present
            put(utf8('r'), utf8('first')),
            put(utf8('r'), utf8('second')), // the last put wins
            del(utf8('existing')),
            put(utf8('existing'), utf8('new')),
            del(utf8('doomed')),
          ]);
          assert.equal(await store.get(utf8('p')), undefined, 'put then del of the same key leaves it absent');
          assert.equal(hex(await store.get(utf8('q'))), hex(utf8('2')), 'del then put of the same key leaves it present');
          assert.equal(hex(await store.get(utf8('r'))), hex(utf8('second')));
          assert.equal(hex(await store.get(utf8('existing'))), hex(utf8('new')));
          assert.equal(await store.get(utf8('doomed')), undefined);
          assert.deepEqual(await textKeys(store), ['existing', 'q', 'r']);
        });
      });

      test('an empty write is a no-op', async () => {
        await withStore(async (store) => {
          await store.write([put(utf8('a'), utf8('1'))]);
          await store.write([]);
          assert.deepEqual(await textKeys(store), ['a']);
        });
      });

      test('a 1 MiB value round-trips through get and range', async () => {
        await withStore(async (store) => {
          const big = new Uint8Array(1024 * 1024);
          for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 8)) & 0xff;
          await store.write([put(utf8('big'), big), put(utf8('small'), bytes(1))]);
          const got = await store.get(utf8('big'));
          assert.equal(got?.byteLength, big.byteLength);
          assert.ok(got !== undefined && Buffer.compare(got, big) === 0, 'the 1 MiB value comes back byte for byte');
          const scanned = await collect(store);
          assert.equal(scanned.length, 2);
          assert.ok(scanned[0] !== undefined && Buffer.compare(scanned[0][1], big) === 0, 'range yields the whole value');
          assert.equal(hex(scanned[1]?.[1]), '01');
        });
      });

      test('10k keys written in one batch scan back complete and in order', async () => {
        await withStore(async (store) => {
          const n = 10_000;
          const key = (i: number) => {
            const k = new Uint8Array(4);
            new DataView(k.buffer).setUint32(0, i * 7919); // big-endian: byte order is numeric order
            return k;
          };
          // Written in a scrambled order so that the engine, not the caller, does the sorting.
          const ops: WriteOp[] = [];
          for (let j = 0; j < n; j++) {
            const i = (j * 3037) % n; // 3037 is coprime with 10000: a permutation
            ops.push(put(key(i), utf8(`v${i}`)));
          }
          await store.write(ops);
          const scanned = await collect(store);
          assert.equal(scanned.length, n);
          for (let i = 0; i < n; i++) {
            const entry = scanned[i];
            assert.ok(entry !== undefined);
            if (hex(entry[0]) !== hex(key(i)) || Buffer.from(entry[1]).toString() !== `v${i}`) {
              assert.fail(`entry ${i} is ${hex(entry[0])}=${Buffer.from(entry[1]).toString()}, expected ${hex(key(i))}=v${i}`);
            }
          }
          const reversed = await collect(store, { reverse: true, limit: 3 });
          assert.deepEqual(reversed.map(([k]) => hex(k)), [hex(key(n - 1)), hex(key(n - 2)), hex(key(n - 3))]);
        });
      });
    });

    describe('range', () => {
      test('a full scan is ascending and yields every key with its value', async () => {
        await withFive(async (store) => {
          const all = await collect(store);
          assert.deepEqual(
            all.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]),
            [1, 2, 3, 4, 5].map((n) => [`k${n}`, `v${n}`]),
          );
          assert.deepEqual(await textKeys(store, {}), ['k1', 'k2', 'k3', 'k4', 'k5']);
        });
      });

      test('gte and lte are inclusive, gt and lt exclusive', async () => {
        await withFive(async (store) => {
          assert.deepEqual(await textKeys(store, { gte: utf8('k2') }), ['k2', 'k3', 'k4', 'k5']);
          assert.deepEqual(await textKeys(store, { gt: utf8('k2') }), ['k3', 'k4', 'k5']);
          assert.deepEqual(await textKeys(store, { lte: utf8('k4') }), ['k1', 'k2', 'k3', 'k4']);
          assert.deepEqual(await textKeys(store, { lt: utf8('k4') }), ['k1', 'k2', 'k3']);
          assert.deepEqual(await textKeys(store, { gte: utf8('k2'), lte: utf8('k4') }), ['k2', 'k3', 'k4']);
          assert.deepEqual(await textKeys(store, { gt: utf8('k2'), lt: utf8('k4') }), ['k3']);
          assert.deepEqual(await textKeys(store, { gte: utf8('k2'), lt: utf8('k4') }), ['k2', 'k3']);
          assert.deepEqual(await textKeys(store, { gt: utf8('k2'), lte: utf8('k4') }), ['k3', 'k4']);
          assert.deepEqual(await textKeys(store, { gte: utf8('k3'), lte: utf8('k3') }), ['k3'], 'gte = lte = an existing key: that key');
        });
      });

      test('bounds between keys and beyond the data', async () => {
        await withFive(async (store) => {
          // "k2a" sorts between k2 and k3: inclusive or not, it excludes k2 and includes k3.
          assert.deepEqual(await textKeys(store, { gte: utf8('k2a'), lte: utf8('k4a') }), ['k3', 'k4']);
          assert.deepEqual(await textKeys(store, { gt: utf8('k2a'), lt: utf8('k4a') }), ['k3', 'k4']);
          assert.deepEqual(await textKeys(store, { gte: utf8('a'), lte: utf8('z') }), ['k1', 'k2', 'k3', 'k4', 'k5']);
          assert.deepEqual(await textKeys(store, { gt: utf8('k'), lt: utf8('k3') }), ['k1', 'k2'], 'a proper prefix sorts before its extensions');
        });
      });

      test('reverse yields descending order and honours every bound', async () => {
        await withFive(async (store) => {
          assert.deepEqual(await textKeys(store, { reverse: true }), ['k5', 'k4', 'k3', 'k2', 'k1']);
          assert.deepEqual(await textKeys(store, { reverse: true, gte: utf8('k2') }), ['k5', 'k4', 'k3', 'k2']);
          assert.deepEqual(await textKeys(store, { reverse: true, gt: utf8('k2') }), ['k5', 'k4', 'k3']);
          assert.deepEqual(await textKeys(store, { reverse: true, lte: utf8('k4') }), ['k4', 'k3', 'k2', 'k1']);
          assert.deepEqual(await textKeys(store, { reverse: true, lt: utf8('k4') }), ['k3', 'k2', 'k1']);
          assert.deepEqual(await textKeys(store, { reverse: true, gte: utf8('k2'), lte: utf8('k4') }), ['k4', 'k3', 'k2']);
          assert.deepEqual(await textKeys(store, { reverse: true, gt: utf8('k2'), lt: utf8('k4') }), ['k3']);
          assert.deepEqual(await textKeys(store, { reverse: true, gte: utf8('k2a'), lte: utf8('k4a') }), ['k4', 'k3']);
          assert.deepEqual(await textKeys(store, { reverse: true, gt: utf8('k2a'), lt: utf8('k4a') }), ['k4', 'k3']);
        });
      });

      test('limit caps the count, in either direction and with bounds', async () => {
        await withFive(async (store) => {
          assert.deepEqual(await textKeys(store, { limit: 2 }), ['k1', 'k2']);
          assert.deepEqual(await textKeys(store, { limit: 2, reverse: true }), ['k5', 'k4']);
          assert.deepEqual(await textKeys(store, { limit: 2, gt: utf8('k1') }), ['k2', 'k3']);
          assert.deepEqual(await textKeys(store, { limit: 2, reverse: true, lte: utf8('k3') }), ['k3', 'k2']);
          assert.deepEqual(await textKeys(store, { limit: 1, reverse: true, gte: utf8('k2'), lt: utf8('k5') }), ['k4']);
          assert.deepEqual(await textKeys(store, { limit: 100 }), ['k1', 'k2', 'k3', 'k4', 'k5'], 'a limit above the count yields everything');
          assert.deepEqual(await textKeys(store, { limit: 0 }), [], 'limit 0 yields nothing');
        });
      });

      test('empty ranges yield nothing', async () => {
        await withStore(async (store) => {
          assert.deepEqual(await collect(store), [], 'empty store');
          assert.deepEqual(await collect(store, { reverse: true }), [], 'empty store, reverse');
        });
        await withFive(async (store) => {
          assert.deepEqual(await textKeys(store, { gt: utf8('k3'), lt: utf8('k3') }), []);
          assert.deepEqual(await textKeys(store, { gte: utf8('k3'), lt: utf8('k3') }), []);
          assert.deepEqual(await textKeys(store, { gt: utf8('k3'), lte: utf8('k3') }), []);
          assert.deepEqual(await textKeys(store, { gte: utf8('k4'), lte: utf8('k2') }), [], 'low bound above high bound');
          assert.deepEqual(await textKeys(store, { gte: utf8('k4'), lte: utf8('k2'), reverse: true }), []);
          assert.deepEqual(await textKeys(store, { gt: utf8('k2'), lt: utf8('k3') }), [], 'no key strictly between neighbours');
          assert.deepEqual(await textKeys(store, { gt: utf8('k2'), lt: utf8('k3'), reverse: true }), []);
          assert.deepEqual(await textKeys(store, { gte: utf8('z') }), [], 'above all data');
          assert.deepEqual(await textKeys(store, { lt: utf8('a'), reverse: true }), [], 'below all data');
        });
      });
    });

    describe('lifecycle', () => {
      test('data survives close and reopen', async () => {
        const { dir, cleanup } = tempDir(`nudge-conf-${backendName}-`);
        try {
          const first = await open(dir);
          await first.write([put(utf8('a'), utf8('1')), put(utf8('b'), new Uint8Array(0)), put(bytes(0xff), bytes(0x00))]);
          await first.write([del(utf8('a')), put(utf8('c'), utf8('3'))]);
          await first.close();
          const second = await open(dir);
          try {
            assert.equal(await second.get(utf8('a')), undefined, 'a delete survives too');
            assert.equal((await second.get(utf8('b')))?.byteLength, 0);
            assert.equal(hex(await second.get(utf8('c'))), hex(utf8('3')));
            assert.deepEqual((await collect(second)).map(([k]) => hex(k)), [hex(utf8('b')), hex(utf8('c')), 'ff']);
          } finally {
            await second.close();
          }
        } finally {
          cleanup();
        }
      });

      test('close is idempotent', async () => {
        const { dir, cleanup } = tempDir(`nudge-conf-${backendName}-`);
        try {
          const store = await open(dir);
          await store.write([put(utf8('a'), utf8('1'))]);
          await store.close();
          await store.close();
          await Promise.all([store.close(), store.close()]);
          const again = await open(dir);
          assert.equal(hex(await again.get(utf8('a'))), hex(utf8('1')), 'repeated closes did not harm the data');
          await again.close();
        } finally {
          cleanup();
        }
      });

      if (rejectsAfterClose) {
        test('operations after close reject with NUDGE_ERR_CLOSED', async () => {
          const { dir, cleanup } = tempDir(`nudge-conf-${backendName}-`);
          try {
            const store = await open(dir);
            await store.write([put(utf8('a'), utf8('1'))]);
            await store.close();
            const closed = (err: unknown) => err instanceof NudgeError && err.code === 'NUDGE_ERR_CLOSED';
            await assert.rejects(store.get(utf8('a')), closed, 'get');
            await assert.rejects(store.write([put(utf8('b'), utf8('2'))]), closed, 'write');
            await assert.rejects(store.write([]), closed, 'an empty write');
            await assert.rejects(collect(store), closed, 'range');
          } finally {
            cleanup();
          }
        });
      }

      test('sizeOnDisk is positive once data is written', async () => {
        await withStore(async (store) => {
          const before = await store.sizeOnDisk();
          assert.ok(Number.isFinite(before) && before >= 0);
          const value = new Uint8Array(4096).fill(7);
          await store.write(Array.from({ length: 64 }, (_, i) => put(utf8(`key-${i}`), value)));
          const after = await store.sizeOnDisk();
          assert.ok(after > 0, `sizeOnDisk ${after} after writing 256 KiB`);
        });
      });
    });

    describe('through the key codec', () => {
      const NS = 0x10;

      async function writeTuples(store: BytesStore, tuples: readonly KeyTuple[], namespace = NS): Promise<void> {
        await store.write(tuples.map((t, i) => put(encodeKey(namespace, t), utf8(String(i)))));
      }

      async function scanTuples(store: BytesStore, range?: KeyRange): Promise<KeyTuple[]> {
        return (await collect(store, range)).map(([k]) => decodeKey(k));
      }

      /** Exactly the tuples that start with `prefix`, the way the typed store asks for them. */
      function prefixRange(prefix: KeyTuple, namespace = NS): KeyRange {
        const bounds = prefixBounds(namespace, prefix);
        const range: KeyRange = { gte: prefix.length === 0 ? bounds.gte : encodeKey(namespace, prefix) };
        if (bounds.lt !== undefined) range.lt = bounds.lt;
        return range;
      }

      test('numbers sort ascending, negatives and fractions included', async () => {
        await withStore(async (store) => {
          const sorted = [-1e300, Number.MIN_SAFE_INTEGER, -1e9, -5.5, -1, -0.25, 0, 0.25, 1, 3, 3.5, 1e12, Number.MAX_SAFE_INTEGER, 1e300];
          const scrambled = [3, -5.5, 1e12, 0, -1e9, 0.25, -1, 1e300, -0.25, Number.MAX_SAFE_INTEGER, 1, -1e300, 3.5, Number.MIN_SAFE_INTEGER];
          await writeTuples(store, scrambled.map((n) => [n]));
          assert.deepEqual(await scanTuples(store), sorted.map((n) => [n]));
          assert.deepEqual(await scanTuples(store, { reverse: true }), [...sorted].reverse().map((n) => [n]));
        });
      });

      test('numbers as the first element order tuples, and decode exactly', async () => {
        await withStore(async (store) => {
          const tuples: KeyTuple[] = [
            [1e12, 'a'],
            [-1e9, 'z'],
            [0.25, 'm'],
            [-5.5, 'b'],
            [0, 'x'],
            [3, 'a'],
            [-1, 'q'],
            [3, ''],
            [3, 'b'],
            [-5.5, 'a'],
          ];
          await writeTuples(store, tuples);
          assert.deepEqual(await scanTuples(store), [
            [-1e9, 'z'],
            [-5.5, 'a'],
            [-5.5, 'b'],
            [-1, 'q'],
            [0, 'x'],
            [0.25, 'm'],
            [3, ''],
            [3, 'a'],
            [3, 'b'],
            [1e12, 'a'],
          ]);
        });
      });

      test('-0 is the same key as 0', async () => {
        await withStore(async (store) => {
          await store.write([put(encodeKey(NS, ['n', -0]), utf8('zero'))]);
          assert.equal(hex(await store.get(encodeKey(NS, ['n', 0]))), hex(utf8('zero')), 'get with 0 finds what was put with -0');
          await store.write([put(encodeKey(NS, ['n', -1]), utf8('neg')), put(encodeKey(NS, ['n', 1]), utf8('pos'))]);
          const scanned = await scanTuples(store);
          assert.deepEqual(scanned, [['n', -1], ['n', 0], ['n', 1]], '-0 sorts and decodes as 0');
        });
      });

      test('strings sort by UTF-8 bytes, after every number; tuples element by element', async () => {
        await withStore(async (store) => {
          const tuples: KeyTuple[] = [['b'], ['ab'], ['é'], ['A'], ['a', 'b'], ['a'], ['中'], ['B'], [''], [1e12], ['a', 1], ['a', 'a'], ['z']];
          await writeTuples(store, tuples);
          assert.deepEqual(await scanTuples(store), [
            [1e12],
            [''],
            ['A'],
            ['B'],
            ['a'],
            ['a', 1],
            ['a', 'a'],
            ['a', 'b'],
            ['ab'],
            ['b'],
            ['z'],
            ['é'],
            ['中'],
          ]);
        });
      });

      test('an empty-string part is a key part of its own', async () => {
        await withStore(async (store) => {
          await store.write([
            put(encodeKey(NS, ['u1']), utf8('bare')),
            put(encodeKey(NS, ['u1', '']), utf8('empty-part')),
            put(encodeKey(NS, ['u1', 'a']), utf8('a')),
            put(encodeKey(NS, ['', 'u1']), utf8('leading-empty')),
            put(encodeKey(NS, ['']), utf8('only-empty')),
          ]);
          assert.equal(hex(await store.get(encodeKey(NS, ['u1', '']))), hex(utf8('empty-part')));
          assert.equal(hex(await store.get(encodeKey(NS, ['u1']))), hex(utf8('bare')), "['u1'] and ['u1', ''] are different keys");
          assert.equal(hex(await store.get(encodeKey(NS, ['']))), hex(utf8('only-empty')));
          assert.equal(await store.get(encodeKey(NS, ['', ''])), undefined);
          assert.deepEqual(await scanTuples(store), [[''], ['', 'u1'], ['u1'], ['u1', ''], ['u1', 'a']]);
        });
      });

      test('a prefix scan returns exactly the tuples that start with the prefix', async () => {
        await withStore(async (store) => {
          await writeTuples(store, [
            ['u42'],
            ['u42', 'a'],
            ['u42', 1],
            ['u42', ''],
            ['u42', 'z', 9],
            ['u420', 'a'],
            ['u420'],
            ['u4', '2'],
            ['u41', 'zzz'],
            ['u43'],
            ['u42\u0001'],
            ['v'],
          ]);
          assert.deepEqual(await scanTuples(store, prefixRange(['u42'])), [['u42'], ['u42', 1], ['u42', ''], ['u42', 'a'], ['u42', 'z', 9]]);
          assert.deepEqual(
            await scanTuples(store, { ...prefixRange(['u42']), reverse: true }),
            [['u42', 'z', 9], ['u42', 'a'], ['u42', ''], ['u42', 1], ['u42']],
          );
          // prefixBounds alone holds the strictly longer tuples only.
          assert.deepEqual(await scanTuples(store, prefixBounds(NS, ['u42'])), [['u42', 1], ['u42', ''], ['u42', 'a'], ['u42', 'z', 9]]);
          assert.deepEqual(await scanTuples(store, prefixRange(['u42', 'z'])), [['u42', 'z', 9]]);
          assert.deepEqual(await scanTuples(store, prefixRange(['u4'])), [['u4', '2']]);
          assert.deepEqual(await scanTuples(store, prefixRange(['nobody'])), []);
        });
      });

      test('a prefix scan on a number is exact too', async () => {
        await withStore(async (store) => {
          await writeTuples(store, [[5], [5, 'a'], [5, -1], [5.5, 'a'], [50, 'a'], [4.999, 'z'], [6], ['5', 'a']]);
          assert.deepEqual(await scanTuples(store, prefixRange([5])), [[5], [5, -1], [5, 'a']]);
          assert.deepEqual(await scanTuples(store, prefixRange([-1])), []);
        });
      });

      test('namespaces partition the keyspace, the last one (0xff) included', async () => {
        await withStore(async (store) => {
          for (const ns of [0x0f, 0x10, 0x11, 0xfe, 0xff]) await writeTuples(store, [[`ns${ns}`, 1], [`ns${ns}`, 2]], ns);
          const decoded = async (ns: number) => scanTuples(store, prefixRange([], ns));
          assert.deepEqual(await decoded(0x10), [['ns16', 1], ['ns16', 2]]);
          assert.deepEqual(await decoded(0x11), [['ns17', 1], ['ns17', 2]]);
          assert.deepEqual(await decoded(0xfe), [['ns254', 1], ['ns254', 2]]);
          assert.deepEqual(await decoded(0xff), [['ns255', 1], ['ns255', 2]], 'the whole of namespace 0xff');
          assert.deepEqual(await scanTuples(store, prefixRange(['ns255'], 0xff)), [['ns255', 1], ['ns255', 2]]);
        });
      });
    });
  });
}
