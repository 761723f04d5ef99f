import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EffectRunner, type Effect } from '../processor/effects.js';
import { testLogger } from './support/logger.js';

test('effects: every effect runs once, concurrency is bounded, and a backed-up partition is paused until it drains', async () => {
  const outcomes: string[] = [];
  const pressure: Array<[number, boolean]> = [];
  let running = 0;
  let peak = 0;
  const runner = new EffectRunner({
    handlers: [
      {
        kind: 'send',
        run: async (effect) => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setImmediate(r));
          running--;
          return { final: 'sent', id: effect.id };
        },
      },
    ],
    highWater: 1000,
    lowWater: 100,
    concurrency: 32,
    log: testLogger,
    onOutcome: (_p, effect) => outcomes.push(effect.id),
    onPressure: (p, paused) => pressure.push([p, paused]),
  });
  const effects: Effect[] = Array.from({ length: 5000 }, (_, i) => ({ id: `e${i}`, kind: 'send', owner: 'op', payload: null, dispatches: 1 }));
  runner.submit(3, effects);
  assert.equal(runner.isPaused(3), true, 'paused above the high-water mark');
  await runner.drained();
  assert.equal(outcomes.length, 5000);
  assert.equal(new Set(outcomes).size, 5000, 'each exactly once');
  assert.deepEqual(outcomes.slice(0, 3), ['e0', 'e1', 'e2'], 'started in submission order');
  assert.ok(peak <= 32, `at most 32 in flight (peak ${peak})`);
  assert.deepEqual(pressure, [[3, true], [3, false]], 'paused once, resumed once below the low-water mark');
  assert.equal(runner.inFlight, 0);
  assert.equal(runner.backlog(3), 0);
});

test('effects: a handler that throws resolves the effect as dropped instead of retrying forever', async () => {
  const outcomes: Array<Record<string, unknown>> = [];
  const runner = new EffectRunner({
    handlers: [{ kind: 'send', run: async () => Promise.reject(new Error('bug')) }],
    highWater: 10,
    lowWater: 1,
    concurrency: 2,
    log: testLogger,
    onOutcome: (_p, _e, o) => outcomes.push(o),
    onPressure: () => undefined,
  });
  runner.submit(0, [{ id: 'x', kind: 'send', owner: 'op', payload: null, dispatches: 1 }, { id: 'y', kind: 'other', owner: 'op', payload: null, dispatches: 1 }]);
  await runner.drained();
  assert.deepEqual(outcomes.map((o) => (o['error'] as { code: string }).code).sort(), ['NUDGE_ERR_NO_SINK', 'NUDGE_ERR_SINK']);
});

test('effects: close() aborts every call in flight, each through its own signal, and their outcomes are not reported', async () => {
  const outcomes: string[] = [];
  const signals: AbortSignal[] = [];
  let started = 0;
  let allStarted!: () => void;
  const running = new Promise<void>((r) => (allStarted = r));
  const runner = new EffectRunner({
    handlers: [
      {
        kind: 'send',
        run: (effect, signal) => {
          signals.push(signal);
          if (++started === 3) allStarted();
          // Answers only when aborted, as a provider call cut short does (it rejects).
          return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error(`aborted ${effect.id}`)), { once: true }));
        },
      },
    ],
    highWater: 100,
    lowWater: 1,
    concurrency: 3,
    log: testLogger,
    onOutcome: (_p, effect) => outcomes.push(effect.id),
    onPressure: () => undefined,
  });
  runner.submit(0, Array.from({ length: 5 }, (_, i) => ({ id: `e${i}`, kind: 'send', owner: 'op', payload: null, dispatches: 1 })));
  await running;
  assert.equal(new Set(signals).size, 3, 'a signal of its own for each call');
  assert.ok(signals.every((s) => !s.aborted));
  runner.close();
  assert.ok(signals.every((s) => s.aborted), 'every call in flight is aborted');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(outcomes, [], 'an aborted call reports no outcome, and the queued ones never start');
  assert.equal(started, 3);
});
