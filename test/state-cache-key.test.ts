import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheKey } from '../state/read-cache.js';

const latin1 = (k: Uint8Array) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');

test('cacheKey: one UTF-16 unit per byte, for short and long keys and views into larger buffers; string order is byte order', () => {
  const every = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(cacheKey(every), latin1(every));
  assert.equal(cacheKey(every).length, 256);
  const long = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) & 255);
  assert.equal(cacheKey(long), latin1(long));
  const view = long.subarray(17, 40);
  assert.equal(cacheKey(view), latin1(view));
  assert.equal(cacheKey(new Uint8Array(0)), '');
  // Sorted as strings, keys come out in unsigned byte order (PendingWrites relies on it).
  const keys = Array.from({ length: 300 }, (_, i) => Uint8Array.of(i & 255, (i * 7) & 255, 0x80 + (i % 3)));
  const byString = [...keys].sort((a, b) => (cacheKey(a) < cacheKey(b) ? -1 : cacheKey(a) > cacheKey(b) ? 1 : 0));
  const byBytes = [...keys].sort((a, b) => Buffer.compare(a, b));
  assert.deepEqual(byString.map(latin1), byBytes.map(latin1));
});
