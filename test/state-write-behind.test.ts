import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TopologyTestDriver } from '../processor/test-driver.js';
import type { Operator, OperatorContext } from '../processor/operator.js';
import type { InputRecord } from '../processor/record.js';
import type { UserEvent } from '../processor/messages/index.js';
import { KeyValueStore, type StoreCodec } from '../state/key-value-store.js';
import { PendingWrites } from '../state/pending-writes.js';
import { LmdbStore } from '../state/lmdb-store.js';
import { decodeValue, encodeValue } from '../state/value-codec.js';
import { userCodec } from '../operators/decisions/user-codec.js';
import { applyProfile, newUserState, withdrawConsent, removePushToken } from '../operators/decisions/user-state.js';
import { decayTo, recordClick, recordEvent, recordSend } from '../operators/decisions/features.js';
import { decisionIdFor } from '../operators/decisions/decision-record.js';
import type { Profile } from '../processor/messages/profile.js';
import type { UserState } from '../operators/decisions/types.js';
import { mulberry32 } from '../bench/sim/random.js';
import { DECISION_STORES } from '../operators/decisions/stores.js';
import { activate, campaign, decisionDriver, decisions, HOUR, indiaUser, MINUTE, MONDAY } from './support/decisions.js';

const TYPES = ['app_open', 'view', 'click', 'add_to_cart', 'purchase', 'push_open', 'sms_click'];

/** A user built by the real mutators from random inputs: what the users store holds in practice. */
function randomUser(rng: () => number, userId: string, now: number): UserState {
  const u = newUserState(now - 40 * 86_400_000);
  if (rng() < 0.9) {
    const profile: Profile = {
      userId,
      ...(rng() < 0.8 ? { country: 'IN', timezone: 'Asia/Kolkata' } : {}),
      ...(rng() < 0.7 ? { language: 'hi' } : {}),
      ...(rng() < 0.6 ? { phone: `+9198${Math.floor(rng() * 1e8)}` } : {}),
      consent: { sms: { promotional: rng() < 0.5, transactional: true }, push: { service: rng() < 0.5 } },
      ...(rng() < 0.5 ? { ncpr: { fullyBlocked: rng() < 0.2, allowedCategories: [1, 5] } } : {}),
      ...(rng() < 0.5 ? { ncpr: { allowedCategories: [3] } } : {}),
      pushTokens: rng() < 0.5 ? [{ platform: 'fcm', token: `t-${userId}` }, { platform: 'apns', token: `a-${userId}` }] : [],
      ...(rng() < 0.4 ? { quietHours: { start: '22:30', end: '07:15' } } : {}),
      ...(rng() < 0.5 ? { value: Math.round(rng() * 5000) } : {}),
      ...(rng() < 0.3 ? { name: 'Asha' } : {}),
    } as Profile;
    applyProfile(u, profile);
  }
  let t = now - 35 * 86_400_000;
  const events = Math.floor(rng() * 200);
  for (let i = 0; i < events; i++) {
    t += Math.floor(rng() * 6 * HOUR) + 1;
    if (t > now) break;
    recordEvent(u.features, TYPES[Math.floor(rng() * TYPES.length)] as string, t, 'Asia/Kolkata', t);
    if (rng() < 0.05) recordSend(u.features, rng() < 0.5 ? 'sms' : 'push', t, t);
    if (rng() < 0.03) recordClick(u.features, 'push', t, t);
  }
  decayTo(u.features, now - Math.floor(rng() * 1000));
  for (let i = 0; i < Math.floor(rng() * 6); i++) u.sent.push({ t: now - Math.floor(rng() * 86_400_000), ch: rng() < 0.5 ? 'sms' : 'push', k: rng() < 0.5 ? 'promotional' : 'transactional', ...(rng() < 0.5 ? { cat: 5 } : {}) });
  for (let i = 0; i < Math.floor(rng() * 3); i++) {
    const campaignId = `c${i}`;
    u.pending.push({ t: now + Math.floor(rng() * 86_400_000), ch: 'push', k: 'reminder', ...(rng() < 0.5 ? { cat: 2 } : {}), decisionId: decisionIdFor(campaignId, userId), campaignId, ev: rng() * 3, priority: 50 });
  }
  if (u.profile !== undefined && rng() < 0.2) withdrawConsent(u, 'sms', 'all');
  if (u.profile !== undefined && rng() < 0.2) removePushToken(u, `t-${userId}`);
  if (u.profile !== undefined && rng() < 0.1) u.profile.phone = null;
  return u;
}

test('user codec: canonical(u) equals the stored round trip, for users made by the real mutators', () => {
  const canonical = userCodec.canonical;
  assert.ok(canonical !== undefined);
  const rng = mulberry32(20261121);
  const now = MONDAY + 9 * HOUR + 123;
  for (let i = 0; i < 400; i++) {
    const id = `u${i}`;
    const u = randomUser(rng, id, now);
    const stored = userCodec.decode(decodeValue(encodeValue(userCodec.encode(u))), [id]);
    const kept: UserState = canonical(structuredClone(u), [id]);
    assert.deepStrictEqual(kept, stored, `user ${i}`);
    // And canonical is a fixed point: storing it again changes nothing.
    assert.deepStrictEqual(Buffer.from(encodeValue(userCodec.encode(kept))), Buffer.from(encodeValue(userCodec.encode(stored))), `user ${i} bytes`);
    // A value put and never read again is stored as given (write-behind encodes it raw at the
    // flush): read back, it is the same state.
    assert.deepStrictEqual(userCodec.decode(decodeValue(encodeValue(userCodec.encode(u))), [id]), kept, `user ${i} raw`);
  }
});

/** Rounds to tenths when stored: a lossy codec, like the user codec's hundredths. */
const tenths: StoreCodec<{ x: number }> = {
  encode: (v) => Math.round(v.x * 10),
  decode: (stored) => ({ x: (stored as number) / 10 }),
};

async function withStore(body: (store: KeyValueStore<{ x: number }>, writes: PendingWrites) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-wb-'));
  const engine = await LmdbStore.open(join(dir, 'db'));
  try {
    const writes = new PendingWrites(engine);
    await body(new KeyValueStore('v', 0x10, writes, tenths, { writeBehind: true }), writes);
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('write-behind store: a get returns the object put, kept as the codec would leave it, and nothing is encoded until a flush', async () => {
  await withStore(async (store, writes) => {
    assert.equal(store.hold(), true);
    store.put(['a'], { x: 1.234 });
    const a = await store.get(['a']);
    assert.deepEqual(a, { x: 1.2 }, 'the round trip of the codec, not the value as given');
    assert.equal(await store.get(['a']), a, 'the same object again: no decode');
    assert.equal(writes.size, 0, 'nothing encoded yet');
    assert.equal(await store.readView().get(['a']), undefined, 'queries read bytes only, never the held object');
    (a as { x: number }).x = 5;
    store.put(['a'], a as { x: number });
    store.put(['b'], { x: 2 });
    store.delete(['b']);
    assert.equal(await store.get(['b']), undefined, 'a delete after a put wins');
    store.flush(true);
    assert.equal(store.heldCount, 0);
    assert.deepEqual(await store.get(['a']), { x: 5 });
    assert.deepEqual(await store.readView().get(['a']), { x: 5 });
    assert.notEqual(await store.get(['a']), await store.get(['a']), 'not holding: every get decodes afresh');
  });
});

test('write-behind store: a scan sees what is held, and a store declared without it never holds', async () => {
  await withStore(async (store, writes) => {
    store.hold();
    store.put(['a'], { x: 1 });
    store.put(['c'], { x: 3 });
    const seen: Array<[unknown, number]> = [];
    for await (const [key, v] of store.scan()) seen.push([key[0], v.x]);
    assert.deepEqual(seen, [['a', 1], ['c', 3]]);
    store.dropHeld();
    const plain = new KeyValueStore('w', 0x11, writes, tenths);
    assert.equal(plain.hold(), false);
    plain.put(['a'], { x: 1 });
    assert.equal(plain.heldCount, 0);
  });
});

/** Changes its object in place before putting it back, then fails on an uninstall: the change must not survive. */
class InPlace implements Operator {
  readonly name = 'in-place';
  readonly inputs = ['events'] as const;
  async process(record: InputRecord, ctx: OperatorContext): Promise<void> {
    const store = ctx.store<{ n: number; types: string[] }>('seen');
    const v = (await store.get([record.key])) ?? { n: 0, types: [] };
    v.n++;
    v.types.push((record.value as UserEvent).type);
    store.put([record.key], v);
    ctx.forward({ role: 'counts', key: record.key, value: v.n });
    if ((record.value as UserEvent).type === 'uninstall') throw new Error('boom');
  }
}

test('write-behind: a record that fails after changing held objects in place is undone exactly, and dead-lettered once', async () => {
  const driver = await TopologyTestDriver.create({
    topology: () => ({ stores: [{ name: 'seen', namespace: 0x10, writeBehind: true }], operators: [new InPlace()] }),
    startTime: MONDAY,
  });
  try {
    const e = (type: string) => ({ key: 'u', value: { userId: 'u', ts: MONDAY, type } });
    await driver.pipeBatch('events', [e('view'), e('click'), e('uninstall'), e('purchase'), { key: 'w', value: { userId: 'w', ts: MONDAY, type: 'view' } }]);
    assert.deepEqual(await driver.storeFor('seen', 'u').get(['u']), { n: 3, types: ['view', 'click', 'purchase'] });
    assert.deepEqual(await driver.storeFor('seen', 'w').get(['w']), { n: 1, types: ['view'] });
    // u's partition comes first either way (the batch is split by partition in order of first record).
    assert.deepEqual(driver.readOutputs('counts').map((o) => o.value), [1, 2, 3, 1]);
    const dead = driver.readOutputs('deadletter');
    assert.equal(dead.length, 1, 'the failing record is dead-lettered once, not once per run of its batch');
    assert.equal((dead[0]?.value as { error: { code: string } }).error.code, 'NUDGE_ERR_OPERATOR');
    const counted = (await driver.metrics.deadLetters.get()).values;
    assert.deepEqual(counted.map((v) => [v.labels['code'], v.value]), [['NUDGE_ERR_OPERATOR', 1]], 'and counted once in nudge_deadletters_total');
    // A later batch holds again, from the committed state.
    await driver.pipeBatch('events', [e('view'), e('view')]);
    assert.equal(((await driver.storeFor<{ n: number }>('seen', 'u').get(['u'])) as { n: number }).n, 5);
  } finally {
    await driver.close();
  }
});

test('write-behind: the decision topology stores the same users and decides the same, one record per batch or all in one batch', async () => {
  const run = async (batched: boolean) => {
    const d = await decisionDriver({ partitions: 2 });
    try {
      d.putCampaign(campaign('c1', { channels: ['best'] }));
      d.putCampaign(campaign('c2', { channels: ['best'], category: 1 }));
      const rng = mulberry32(7);
      const records: Array<{ role: 'profiles' | 'events' | 'candidates'; key: string; value: unknown }> = [];
      for (let i = 0; i < 12; i++) records.push({ role: 'profiles', key: `u${i}`, value: indiaUser(`u${i}`) });
      for (let k = 0; k < 300; k++) {
        const id = `u${Math.floor(rng() * 12)}`;
        const ts = MONDAY - Math.floor(rng() * 9 * 24) * HOUR - Math.floor(rng() * 60) * MINUTE;
        records.push({ role: 'events', key: id, value: { userId: id, ts, type: TYPES[Math.floor(rng() * TYPES.length)] } });
      }
      for (let i = 0; i < 12; i++) records.push({ role: 'candidates', key: `u${i}`, value: { campaignId: 'c1', userId: `u${i}`, vars: { product: 'shoes' } } });
      for (let i = 0; i < 12; i += 2) records.push({ role: 'candidates', key: `u${i}`, value: { campaignId: 'c2', userId: `u${i}`, vars: { product: 'a kurta' } } });
      for (const role of ['profiles', 'events', 'candidates'] as const) {
        const mine = records.filter((r) => r.role === role);
        if (batched) await d.pipeBatch(role, mine);
        else for (const r of mine) await d.pipe(role, r.key, r.value);
      }
      await activate(d, 'u0');
      const users = [];
      for (let i = 0; i < 12; i++) users.push(await d.storeFor<UserState>(DECISION_STORES.users.name, `u${i}`).get([`u${i}`]));
      // Partitions interleave differently when each record is its own batch: compare as sets.
      return { users, decisions: decisions(d).map((x) => JSON.stringify(x)).sort() };
    } finally {
      await d.close();
    }
  };
  const one = await run(false);
  const all = await run(true);
  assert.ok(one.users.every((u) => u?.features.how !== undefined), 'every user has an hour-of-week histogram to round');
  assert.deepStrictEqual(all.users, one.users);
  assert.deepStrictEqual(all.decisions, one.decisions);
  assert.ok(one.decisions.some((x) => x.includes('"action":"send"') || x.includes('"action":"schedule"')), 'some candidates are messaged');
});
