import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { latencySummaries, mergeThroughput, rates, type ThroughputSample } from '../cli/demo-probe.js';

/** Cumulative samples of a replica working at a constant rate, sampled every `every` s from `from`. */
function steady(from: number, every: number, count: number, perSecond: number): ThroughputSample[] {
  return Array.from({ length: count }, (_, i) => {
    const t = from + i * every;
    return { t, decisions: Math.round((t - from) * perSecond), events: Math.round((t - from) * perSecond * 10), sends: 0 };
  });
}

test('demo: replicas sampled at different moments merge into one steady rate, not spikes', () => {
  // Two replicas at 1,000 decisions/s each, sampling 250 ms apart but offset by 10 ms.
  const a = steady(0, 0.25, 41, 1000);
  const b = steady(0.01, 0.25, 41, 1000);
  const merged = mergeThroughput([a, b]);
  const last = merged.at(-1);
  assert.ok(last !== undefined);
  assert.equal(last.decisions, (a.at(-1)?.decisions ?? 0) + (b.at(-1)?.decisions ?? 0), 'nothing lost or counted twice');
  // Away from the edges (where one replica has not started or has stopped), the rate is the sum of both.
  const inner = rates(merged).filter((r) => r.t > 0.3 && r.t < 9.9);
  assert.ok(inner.length > 30);
  for (const r of inner) assert.ok(Math.abs(r.decisionsPerSec - 2000) <= 20, `at ${r.t} s: ${r.decisionsPerSec}/s`);
});

test('demo: one replica\'s samples are its run\'s series unchanged', () => {
  const a = steady(1, 0.25, 5, 400);
  assert.deepEqual(mergeThroughput([a]), a);
  assert.deepEqual(mergeThroughput([[], a]), a);
});

test('demo: batch latencies of several replicas merge into one distribution', () => {
  const encoded = (values: number[]) => {
    const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
    for (const v of values) h.recordValue(v);
    return encodeIntoCompressedBase64(h);
  };
  // One replica's batches take 1 ms, the other's 9 ms, with one slow 50 ms batch.
  const fast = Array.from({ length: 100 }, () => 1000);
  const slow = [...Array.from({ length: 99 }, () => 9000), 50_000];
  const merged = latencySummaries([{ all: encoded(fast), records: encoded(fast) }, { all: encoded(slow), timers: encoded([7000]) }]);
  const all = merged['all'];
  assert.ok(all !== undefined);
  assert.equal(all.batches, 200);
  assert.equal(merged['records']?.batches, 100);
  assert.equal(merged['timers']?.batches, 1);
  assert.ok(Math.abs(all.max - 50_000) <= 50, `max ${all.max}`);
  // Half the batches are 1 ms and half 9 ms: the median is at the top of the fast half.
  assert.ok(Math.abs(all.p50 - 1000) <= 1, `p50 ${all.p50}`);
  assert.ok(Math.abs(all.p90 - 9000) <= 9, `p90 ${all.p90}`);
});
