/**
 * Feature rows cut from shared slabs instead of allocated one by one. A small typed array of
 * its own costs about 1 µs to make in V8 (its own backing store), a view on a slab a tenth of
 * that, and a decision typically builds about 70 rows (more with long windows and scheduled
 * messages): at the eligibility API's rates this was a fifth of a request's CPU. Rows are
 * short-lived (a decision record copies its row into a plain array), so a slab is garbage soon
 * after its last row is. What this asks of code holding a row:
 * - read its bytes through byteOffset and byteLength, never `row.buffer` alone (the slab);
 * - never transfer its buffer (that would detach the slab's other rows), and know that a
 *   structured clone of a row copies the whole slab;
 * - copy it (Array.from, copyRow) to keep it: a row kept keeps its slab alive.
 */

/** Rows per slab: 256 rows of 45 features are 46 KB. */
const SLAB_ROWS = 256;

let slab: ArrayBuffer = new ArrayBuffer(0);
let used = 0;

/** A zeroed Float32Array of `length`, a view on the current slab (a new slab when it is full). */
export function newRow(length: number): Float32Array {
  const bytes = length * Float32Array.BYTES_PER_ELEMENT;
  if (used + bytes > slab.byteLength) {
    slab = new ArrayBuffer(Math.max(bytes, SLAB_ROWS * bytes));
    used = 0;
  }
  const row = new Float32Array(slab, used, length);
  used += bytes;
  return row;
}

/** A copy of `row` on a slab. */
export function copyRow(row: Float32Array): Float32Array {
  const out = newRow(row.length);
  out.set(row);
  return out;
}
