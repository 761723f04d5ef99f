import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../processor/test-driver.js';
import type { Operator, OperatorContext, Timer, Topology } from '../processor/operator.js';
import type { InputRecord } from '../processor/record.js';
import type { UserEvent } from '../processor/messages/index.js';
import { userCounterTopology, COUNTS_STORE, type UserCount } from '../operators/user-counter.js';

/** Reminds a user one hour after a cart add, unless they purchase first. */
class CartReminder implements Operator {
  readonly name = 'cart-reminder';
  readonly inputs = ['events'] as const;
  async process(record: InputRecord, ctx: OperatorContext): Promise<void> {
    const e = record.value as UserEvent;
    if (e.type === 'add_to_cart') await ctx.schedule(`cart/${record.key}`, ctx.clock.now() + 3_600_000, { userId: record.key });
    if (e.type === 'purchase') await ctx.cancel(`cart/${record.key}`);
  }
  onTimer(timer: Timer, ctx: OperatorContext): void {
    ctx.forward({ role: 'counts', key: (timer.payload as { userId: string }).userId, value: { remind: timer.payload, at: ctx.clock.now() } });
  }
}

const reminderTopology = (): Topology => ({ stores: [], operators: [new CartReminder()] });
const T0 = Date.UTC(2026, 10, 21, 6, 0);

test('driver: timers fire at their virtual time, in order, and cancelled ones never fire', async () => {
  const driver = await TopologyTestDriver.create({ topology: reminderTopology, partitions: 3, startTime: T0 });
  try {
    await driver.pipe('events', 'a', { userId: 'a', ts: T0, type: 'add_to_cart' });
    await driver.advanceTime(10 * 60_000);
    await driver.pipe('events', 'b', { userId: 'b', ts: T0, type: 'add_to_cart' });
    await driver.pipe('events', 'c', { userId: 'c', ts: T0, type: 'add_to_cart' });
    await driver.pipe('events', 'c', { userId: 'c', ts: T0, type: 'purchase' });
    await driver.advanceTime(49 * 60_000);
    assert.deepEqual(driver.readOutputs('counts'), [], 'nothing due before an hour');
    await driver.advanceTime(60_000);
    const first = driver.readOutputs('counts');
    assert.deepEqual(first.map((o) => [o.key, (o.value as { at: number }).at]), [['a', T0 + 3_600_000]]);
    await driver.advanceTime(24 * 3_600_000);
    const rest = driver.readOutputs('counts');
    assert.deepEqual(rest.map((o) => o.key), ['b'], 'b fires; c was cancelled by its purchase');
    assert.equal((rest[0]?.value as { at: number }).at, T0 + 10 * 60_000 + 3_600_000, 'fired at its due time, not at the end of the advance');
  } finally {
    await driver.close();
  }
});

test('driver: a simulated week of events for 500 users runs on real stores in seconds', async () => {
  const driver = await TopologyTestDriver.create({ topology: () => userCounterTopology(), partitions: 4, startTime: T0 });
  try {
    let expected = 0;
    for (let hour = 0; hour < 7 * 24; hour++) {
      for (let u = hour % 5; u < 500; u += 37) {
        await driver.pipe('events', `u${u}`, { userId: `u${u}`, ts: driver.clock.now(), type: 'app_open' });
        expected++;
      }
      await driver.advanceTime(3_600_000);
    }
    let total = 0;
    for (let p = 0; p < 4; p++) for await (const [, c] of driver.store<UserCount>(COUNTS_STORE.name, p).scan()) total += c.n;
    assert.equal(total, expected);
    assert.equal(driver.clock.now(), T0 + 7 * 24 * 3_600_000);
  } finally {
    await driver.close();
  }
});

test('driver: a bad record is dead-lettered and the records around it are processed', async () => {
  const driver = await TopologyTestDriver.create({ topology: () => userCounterTopology(), startTime: T0 });
  try {
    await driver.pipe('events', 'u1', { userId: 'u1', ts: T0, type: 'view' });
    await driver.pipeRaw('events', 'u1', Buffer.from('{"userId":"u1",'));
    await driver.pipe('events', 'u1', { userId: 'u1', ts: T0, type: 'click' });
    const dead = driver.readOutputs('deadletter');
    assert.equal(dead.length, 1);
    assert.equal((dead[0]?.value as { error: { code: string } }).error.code, 'NUDGE_ERR_MALFORMED_JSON');
    assert.equal((await driver.storeFor<UserCount>(COUNTS_STORE.name, 'u1').get(['u1']))?.n, 2);
  } finally {
    await driver.close();
  }
});

/** An operator that writes, then fails on one record: its writes and outputs must vanish with it. */
class Flaky implements Operator {
  readonly name = 'flaky';
  readonly inputs = ['events'] as const;
  async process(record: InputRecord, ctx: OperatorContext): Promise<void> {
    const store = ctx.store<number>('n');
    store.put([record.key], ((await store.get([record.key])) ?? 0) + 1);
    ctx.forward({ role: 'counts', key: record.key, value: 1 });
    if ((record.value as UserEvent).type === 'uninstall') throw new Error('boom');
  }
}

test('driver: an operator failure undoes exactly that record and dead-letters it with NUDGE_ERR_OPERATOR', async () => {
  const driver = await TopologyTestDriver.create({ topology: () => ({ stores: [{ name: 'n', namespace: 0x10 }], operators: [new Flaky()] }) });
  try {
    await driver.pipe('events', 'u', { userId: 'u', ts: T0, type: 'view' });
    await driver.pipe('events', 'u', { userId: 'u', ts: T0, type: 'uninstall' });
    await driver.pipe('events', 'u', { userId: 'u', ts: T0, type: 'view' });
    assert.equal(await driver.store<number>('n').get(['u']), 2);
    assert.equal(driver.readOutputs('counts').length, 2);
    const dead = driver.readOutputs('deadletter');
    assert.equal((dead[0]?.value as { error: { code: string } }).error.code, 'NUDGE_ERR_OPERATOR');
  } finally {
    await driver.close();
  }
});
