import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../processor/test-driver.js';
import type { Operator, OperatorContext, Timer, Topology } from '../processor/operator.js';
import type { InputRecord } from '../processor/record.js';
import { SLICE_MS, turn } from '../processor/event-loop-turn.js';

/**
 * Holds the thread for `ms` per record, as a heavy record does (the decision path is about half
 * a millisecond of synchronous work per candidate), and notes when each record and timer ran.
 */
class Busy implements Operator {
  readonly name = 'busy';
  readonly inputs = ['events'] as const;
  readonly seen: number[] = [];
  constructor(readonly ms: number) {}
  async process(record: InputRecord, ctx: OperatorContext): Promise<void> {
    const start = performance.now();
    while (performance.now() - start < this.ms);
    this.seen.push(performance.now());
    await ctx.schedule(`t/${record.key}`, ctx.clock.now() + 60_000, {});
  }
  onTimer(_timer: Timer, _ctx: OperatorContext): void {
    const start = performance.now();
    while (performance.now() - start < this.ms);
    this.seen.push(performance.now());
  }
}

const T0 = Date.UTC(2026, 10, 21, 6, 0);

/** When a callback queued just before `work` ran, and when `work` ended. */
async function whileBusy(work: () => Promise<void>): Promise<{ ranAt: number | undefined; endedAt: number }> {
  let ranAt: number | undefined;
  setImmediate(() => {
    ranAt = performance.now();
  });
  await work();
  return { ranAt, endedAt: performance.now() };
}

test('event loop: a long batch of records lets the loop turn, so I/O and timers queued before it run before it ends', async () => {
  const busy = new Busy(2);
  const topology = (): Topology => ({ stores: [], operators: [busy] });
  const driver = await TopologyTestDriver.create({ topology, partitions: 1, startTime: T0 });
  try {
    // 150 records of 2 ms each: 300 ms in one batch, fifteen times the slice.
    const entries = Array.from({ length: 150 }, (_, i) => ({ key: `u${i}`, value: { userId: `u${i}`, ts: T0, type: 'app_open' } }));
    const batch = await whileBusy(() => driver.pipeBatch('events', entries));
    assert.equal(busy.seen.length, 150);
    assert.ok(batch.ranAt !== undefined && batch.ranAt < batch.endedAt - 100, `a callback queued before the batch ran ${batch.ranAt === undefined ? 'never' : `${(batch.endedAt - batch.ranAt).toFixed(0)} ms before its end`}`);

    busy.seen.length = 0;
    const timers = await whileBusy(() => driver.advanceTime(120_000));
    assert.equal(busy.seen.length, 150, 'every timer fired');
    assert.ok(timers.ranAt !== undefined && timers.ranAt < timers.endedAt - 100, 'the timers let the loop turn too');
  } finally {
    await driver.close();
  }
});

test('event loop: turn() waits only once the loop has been held for the slice', async () => {
  await new Promise((r) => setImmediate(r));
  const first = turn();
  if (first !== undefined) await first;
  // Just after a turn: nothing to wait for.
  assert.equal(turn(), undefined);
  let immediate = false;
  setImmediate(() => {
    immediate = true;
  });
  const start = performance.now();
  while (performance.now() - start < SLICE_MS + 5);
  const pause = turn();
  assert.ok(pause instanceof Promise, 'held past the slice: a turn is due');
  await pause;
  assert.ok(immediate, 'the loop ran what was queued before resuming');
  assert.equal(turn(), undefined, 'and the slice starts again');
});
