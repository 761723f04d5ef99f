import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TopologyTestDriver } from '../processor/test-driver.js';
import { DECISION_STORES } from '../operators/decisions/stores.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { activate, campaign, decisionDriver, decisions, indiaUser } from './support/decisions.js';

/** Sends per slot as the store holds them, and the decisions that still stand (sent or scheduled, not later cancelled). */
async function usage(d: TopologyTestDriver, seen: DecisionRecord[], campaignId = 'c1'): Promise<{ perSlot: number[]; standing: number }> {
  seen.push(...decisions(d)); // the driver hands each output over once
  const perSlot: number[] = [];
  for await (const [, n] of d.store<number>(DECISION_STORES.slotUsage.name).scan({ prefix: [campaignId] })) perSlot.push(n);
  const latest = new Map<string, string>();
  for (const x of seen) if (x.campaignId === campaignId) latest.set(x.decisionId, x.action);
  return { perSlot, standing: [...latest.values()].filter((a) => a === 'send' || a === 'schedule').length };
}

test('slot capacity: a rate of one send per slot holds within a batch, across batches and after a release, and the counts match the decisions', async () => {
  // One partition, so that the partition's share of the rate is the whole rate: at 0.001/s a
  // 15-minute slot takes one message (the floor is one).
  const d = await decisionDriver({ partitions: 1 });
  const seen: DecisionRecord[] = [];
  try {
    d.putCampaign(campaign('c1', { channels: ['push'], maxPerSecond: 0.001 }));
    d.putCampaign(campaign('c2', { channels: ['push'], maxPerSecond: 0.001, category: 1 }));
    for (let i = 0; i < 22; i++) {
      await d.pipe('profiles', `u${i}`, indiaUser(`u${i}`));
      await activate(d, `u${i}`);
    }
    // Eight in one batch, each followed by another user's candidate of a second campaign with
    // the same rate: each decision sees the slots the ones before it took in its campaign.
    await d.pipeBatch(
      'candidates',
      Array.from({ length: 8 }, (_, i) => [
        { key: `u${i}`, value: { campaignId: 'c1', userId: `u${i}`, vars: { product: 'shoes' } } },
        { key: `u${14 + i}`, value: { campaignId: 'c2', userId: `u${14 + i}`, vars: { product: 'a kurta' } } },
      ]).flat(),
    );
    const other = await usage(d, seen, 'c2');
    assert.ok(other.standing >= 6 && other.perSlot.every((n) => n === 1), `c2: ${other.standing} messaged, slots ${other.perSlot.join(',')}`);
    assert.equal(other.perSlot.length, other.standing);
    let u = await usage(d, seen);
    assert.ok(u.standing >= 6, `most of the first eight are messaged (${u.standing})`);
    assert.ok(u.perSlot.every((n) => n === 1), `no slot over its one message: ${u.perSlot.join(',')}`);
    assert.equal(u.perSlot.length, u.standing);
    // Erasing a messaged user gives their slot back.
    const messaged = seen.find((x) => x.campaignId === 'c1' && (x.action === 'schedule' || x.action === 'send'));
    assert.ok(messaged !== undefined);
    await d.pipe('profiles', messaged.userId, null);
    u = await usage(d, seen);
    assert.equal(u.perSlot.length, u.standing, 'the released slot is gone from the counts');
    // Then more, one per batch and in a batch: still one message per slot.
    await d.pipe('candidates', 'u8', { campaignId: 'c1', userId: 'u8', vars: { product: 'shoes' } });
    await d.pipeBatch('candidates', Array.from({ length: 5 }, (_, i) => ({ key: `u${9 + i}`, value: { campaignId: 'c1', userId: `u${9 + i}`, vars: { product: 'shoes' } } })));
    u = await usage(d, seen);
    assert.ok(u.perSlot.every((n) => n === 1), `no slot over its one message: ${u.perSlot.join(',')}`);
    assert.equal(u.perSlot.length, u.standing);
    assert.ok(u.standing >= 10, `the later candidates found free slots too (${u.standing})`);
  } finally {
    await d.close();
  }
});

test('slot capacity: two campaigns share no slots: one decided interleaved with the other decides exactly as alone', async () => {
  const run = async (interleaved: boolean) => {
    const d = await decisionDriver({ partitions: 1 });
    try {
      d.putCampaign(campaign('c1', { channels: ['push'], maxPerSecond: 0.001 }));
      d.putCampaign(campaign('c2', { channels: ['push'], maxPerSecond: 0.001, category: 1 }));
      for (let i = 0; i < 16; i++) {
        await d.pipe('profiles', `u${i}`, indiaUser(`u${i}`));
        await activate(d, `u${i}`);
      }
      const c2 = (i: number) => ({ key: `u${8 + i}`, value: { campaignId: 'c2', userId: `u${8 + i}`, vars: { product: 'a kurta' } } });
      const c1 = (i: number) => ({ key: `u${i}`, value: { campaignId: 'c1', userId: `u${i}`, vars: { product: 'shoes' } } });
      await d.pipeBatch('candidates', Array.from({ length: 8 }, (_, i) => (interleaved ? [c1(i), c2(i)] : [c2(i)])).flat());
      return decisions(d)
        .filter((x) => x.campaignId === 'c2')
        .map((x) => `${x.userId} ${x.action} ${x.sendAt ?? '-'}`);
    } finally {
      await d.close();
    }
  };
  const alone = await run(false);
  assert.ok(alone.filter((x) => !x.includes(' skip ')).length >= 6, alone.join('; '));
  assert.deepEqual(await run(true), alone);
});
