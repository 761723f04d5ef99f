import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localTime } from '../operators/decisions/local-time.js';
import { featureIndex } from '../operators/decisions/feature-vector.js';
import { DECISION_STORES } from '../operators/decisions/stores.js';
import type { UserState } from '../operators/decisions/types.js';
import { HOUR, MINUTE, MONDAY, activate, campaign, decisionDriver, decisions, indiaUser, sends } from './support/decisions.js';

const IST = 'Asia/Kolkata';

test('pipeline: a candidate is scheduled inside the window and legal hours, then sent when its timer fires', async () => {
  const d = await decisionDriver();
  try {
    d.putCampaign(campaign('c1'));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'shoes' } });
    const [decision, ...more] = decisions(d);
    assert.equal(more.length, 0, 'one decision per candidate');
    assert.ok(decision !== undefined);
    assert.ok(decision.action === 'schedule' || decision.action === 'send', JSON.stringify(decision));
    assert.equal(decision.channel, 'sms');
    const at = decision.sendAt as number;
    assert.ok(at >= MONDAY && at < MONDAY + 12 * HOUR, 'inside the window');
    const local = localTime(at, IST).minuteOfDay;
    assert.ok(local >= 10 * 60 && local < 21 * 60, `inside 10:00–21:00 IST, got minute ${local}`);
    assert.ok(decision.scores !== null && decision.scores.ev > 0);
    assert.equal(decision.segments, 1);
    assert.ok(Array.isArray(decision.features) && decision.features.length > 10, 'the feature vector is logged');
    assert.ok(!JSON.stringify(decision).includes('+9198'), 'no phone number in a decision');
    await d.advanceTime(13 * HOUR);
    const sent = sends(d);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.decisionId, decision.decisionId);
    assert.equal(sent[0]?.ts, Math.max(at, MONDAY), 'sent when the timer fired');
    assert.ok(!JSON.stringify(sent[0]).includes('+9198'), 'no phone number in a send record');
  } finally {
    await d.close();
  }
});

test('pipeline: a repeated candidate gets skip/duplicate, never a second send', async () => {
  const d = await decisionDriver();
  try {
    d.putCampaign(campaign('c1'));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'shoes' } });
    await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'shoes' } });
    const out = decisions(d);
    assert.equal(out.length, 2);
    assert.deepEqual(out[1]?.reasons, ['duplicate']);
    assert.equal(out[1]?.action, 'skip');
    await d.advanceTime(13 * HOUR);
    assert.equal(sends(d).length, 1);
  } finally {
    await d.close();
  }
});

test('pipeline: India promotional SMS without DLT fields is skipped with dlt_missing', async () => {
  const d = await decisionDriver();
  try {
    d.putCampaign(campaign('c1', { templates: { en: { sms: { body: 'Hi {{product}}', senderId: 'SHPPLS-P' } } } } as never));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'shoes' } });
    const [decision] = decisions(d);
    assert.equal(decision?.action, 'skip');
    assert.deepEqual(decision?.reasons, ['dlt_missing']);
  } finally {
    await d.close();
  }
});

test('pipeline: STOP by SMS, then a candidate, gives no_consent; START restores it', async () => {
  const d = await decisionDriver();
  try {
    d.putCampaign(campaign('c1'));
    d.putCampaign(campaign('c2'));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('events', 'u1', { userId: 'u1', ts: MONDAY, type: 'sms_inbound', text: ' Stop ' });
    await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'shoes' } });
    assert.deepEqual(decisions(d)[0]?.reasons, ['no_consent']);
    await d.pipe('events', 'u1', { userId: 'u1', ts: MONDAY, type: 'sms_inbound', text: 'START' });
    await d.pipe('candidates', 'u1', { campaignId: 'c2', userId: 'u1', vars: { product: 'shoes' } });
    assert.notEqual(decisions(d)[0]?.action, 'skip');
  } finally {
    await d.close();
  }
});

test('pipeline: NCPR category not opened → ncpr_blocked; transactional ignores NCPR and caps and goes out at once, even at night', async () => {
  const night = Date.UTC(2026, 10, 23, 18, 0); // 23:30 IST
  const d = await decisionDriver({ start: night });
  try {
    d.putCampaign(campaign('promo', { category: 3, window: { start: night, end: night + 20 * HOUR } }));
    d.putCampaign(campaign('otp', { kind: 'transactional', deadline: 'hard', category: 3, window: { start: night, end: night + 10 * MINUTE } }));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('candidates', 'u1', { campaignId: 'promo', userId: 'u1', vars: { product: 'x' } });
    assert.deepEqual(decisions(d)[0]?.reasons, ['ncpr_blocked']);
    await d.pipe('candidates', 'u1', { campaignId: 'otp', userId: 'u1', vars: { product: 'x' } });
    const [otp] = decisions(d);
    assert.equal(otp?.action, 'send');
    assert.equal(sends(d).length, 1);
  } finally {
    await d.close();
  }
});

test('pipeline: quiet hours and legal hours hold a message until they end; past the window it is skipped', async () => {
  const evening = Date.UTC(2026, 10, 23, 16, 0); // 21:30 IST: after the legal window, inside quiet hours
  const d = await decisionDriver({ start: evening });
  try {
    d.putCampaign(campaign('late', { window: { start: evening, end: evening + 2 * HOUR } }));
    d.putCampaign(campaign('tomorrow', { window: { start: evening, end: evening + 20 * HOUR } }));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('candidates', 'u1', { campaignId: 'late', userId: 'u1', vars: { product: 'x' } });
    const [late] = decisions(d);
    assert.equal(late?.action, 'skip');
    assert.ok(late?.reasons.includes('legal_hours') || late?.reasons.includes('quiet_hours'), JSON.stringify(late?.reasons));
    await d.pipe('candidates', 'u1', { campaignId: 'tomorrow', userId: 'u1', vars: { product: 'x' } });
    const [next] = decisions(d);
    assert.equal(next?.action, 'schedule');
    const m = localTime(next?.sendAt as number, IST).minuteOfDay;
    assert.ok(m >= 10 * 60 && m < 21 * 60, `held until the morning: minute ${m}`);
  } finally {
    await d.close();
  }
});

test('pipeline: caps are never exceeded, and a higher-value campaign preempts a lower-value scheduled one', async () => {
  const d = await decisionDriver({ policy: { caps: [{ name: 'one-a-day', scope: 'global', kinds: ['promotional'], max: 1, localDays: 1 }], minGapMs: 0 } });
  try {
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    d.putCampaign(campaign('cheap', { value: 1500, priority: 10, window: { start: MONDAY + 6 * HOUR, end: MONDAY + 12 * HOUR } }));
    d.putCampaign(campaign('rich', { value: 20000, priority: 10, window: { start: MONDAY + 6 * HOUR, end: MONDAY + 12 * HOUR } }));
    d.putCampaign(campaign('poor', { value: 1200, priority: 10, window: { start: MONDAY + 6 * HOUR, end: MONDAY + 12 * HOUR } }));
    await d.pipe('candidates', 'u1', { campaignId: 'cheap', userId: 'u1', vars: { product: 'x' } });
    const [cheap] = decisions(d);
    assert.equal(cheap?.action, 'schedule');
    await d.pipe('candidates', 'u1', { campaignId: 'rich', userId: 'u1', vars: { product: 'x' } });
    const out = decisions(d);
    const preempted = out.find((r) => r.decisionId === cheap?.decisionId);
    assert.deepEqual(preempted?.reasons, ['preempted'], 'the cheap one is republished as preempted');
    assert.equal(preempted?.action, 'skip');
    const rich = out.find((r) => r.campaignId === 'rich');
    assert.equal(rich?.action, 'schedule');
    await d.pipe('candidates', 'u1', { campaignId: 'poor', userId: 'u1', vars: { product: 'x' } });
    const [poor] = decisions(d);
    assert.equal(poor?.action, 'skip');
    assert.ok(poor?.reasons.includes('cap_global'), JSON.stringify(poor?.reasons));
    await d.advanceTime(24 * HOUR);
    const sent = sends(d);
    assert.deepEqual(sent.map((s) => s.campaignId), ['rich'], 'exactly one message that day: the valuable one');
  } finally {
    await d.close();
  }
});

test('pipeline: a candidate waits for its campaign; without one it is skipped with unknown_campaign', async () => {
  const d = await decisionDriver({ policy: { unknownCampaignWaitMs: 60_000 } });
  try {
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('profiles', 'u2', indiaUser('u2'));
    await activate(d, 'u2');
    await d.pipe('candidates', 'u1', { campaignId: 'late', userId: 'u1', vars: { product: 'x' } });
    await d.pipe('candidates', 'u2', { campaignId: 'never', userId: 'u2', vars: { product: 'x' } });
    assert.equal(decisions(d).length, 0, 'nothing decided yet');
    d.putCampaign(campaign('late', { window: { start: MONDAY, end: MONDAY + 12 * HOUR } }));
    await d.advanceTime(10_000);
    const [late] = decisions(d);
    assert.equal(late?.campaignId, 'late');
    assert.notEqual(late?.action, 'skip');
    await d.advanceTime(60_000);
    const [never] = decisions(d);
    assert.deepEqual(never?.reasons, ['unknown_campaign']);
  } finally {
    await d.close();
  }
});

test('pipeline: a profile tombstone erases the user everywhere and cancels their scheduled sends', async () => {
  const d = await decisionDriver();
  try {
    d.putCampaign(campaign('c1', { window: { start: MONDAY + 6 * HOUR, end: MONDAY + 12 * HOUR } }));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('events', 'u1', { userId: 'u1', ts: MONDAY, type: 'app_open' });
    await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'x' } });
    const [scheduled] = decisions(d);
    assert.equal(scheduled?.action, 'schedule');
    await d.pipe('profiles', 'u1', null);
    const [erased] = decisions(d);
    assert.equal(erased?.decisionId, scheduled?.decisionId);
    assert.deepEqual(erased?.reasons, ['erased']);
    assert.equal(await d.storeFor<UserState>(DECISION_STORES.users.name, 'u1').get(['u1']), undefined);
    let ledger = 0;
    for await (const _ of d.storeFor(DECISION_STORES.ledger.name, 'u1').scan({ prefix: ['u1'] })) ledger++;
    assert.equal(ledger, 0);
    await d.advanceTime(24 * HOUR);
    assert.equal(sends(d).length, 0, 'nothing is sent to an erased user');
  } finally {
    await d.close();
  }
});

test('pipeline: consent withdrawn after scheduling cancels the send when its timer fires', async () => {
  const d = await decisionDriver();
  try {
    d.putCampaign(campaign('c1', { window: { start: MONDAY + 6 * HOUR, end: MONDAY + 12 * HOUR } }));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'x' } });
    const [scheduled] = decisions(d);
    await d.pipe('events', 'u1', { userId: 'u1', ts: MONDAY, type: 'sms_inbound', text: 'stop' });
    await d.advanceTime(24 * HOUR);
    assert.equal(sends(d).length, 0);
    const [cancelled] = decisions(d);
    assert.equal(cancelled?.decisionId, scheduled?.decisionId);
    assert.deepEqual(cancelled?.reasons, ['no_consent']);
  } finally {
    await d.close();
  }
});

test('pipeline: the global control group gets holdout for promotional campaigns, and its members stay the same', async () => {
  const d = await decisionDriver({ policy: { controlGroupPercent: 20 } });
  try {
    d.putCampaign(campaign('c1'));
    d.putCampaign(campaign('c2'));
    const users = Array.from({ length: 200 }, (_, i) => `u${i}`);
    for (const u of users) {
      await d.pipe('profiles', u, indiaUser(u));
      await activate(d, u);
    }
    for (const u of users) await d.pipe('candidates', u, { campaignId: 'c1', userId: u, vars: { product: 'x' } });
    for (const u of users) await d.pipe('candidates', u, { campaignId: 'c2', userId: u, vars: { product: 'x' } });
    const out = decisions(d);
    const held = (c: string) => new Set(out.filter((r) => r.campaignId === c && r.action === 'holdout').map((r) => r.userId));
    const h1 = held('c1');
    assert.ok(h1.size > 20 && h1.size < 60, `about 20% held out, got ${h1.size}`);
    assert.deepEqual([...held('c2')].sort(), [...h1].sort(), 'the same users on every campaign');
  } finally {
    await d.close();
  }
});

test('pipeline: an India SMS whose hydrated text does not fit its registered DLT template (or a variable over 30 characters) is refused as invalid_template', async () => {
  const d = await decisionDriver();
  try {
    const dlt = { senderId: 'SHPPLS-P', dltEntityId: '1101000000000', dltTemplateId: '1107000000000', dltTemplate: '{#var#}, 40% off {#var#} till midnight' };
    d.putCampaign(campaign('fits', { templates: { en: { sms: { body: '{{name}}, 40% off {{product}} till midnight', ...dlt } } } } as never));
    d.putCampaign(campaign('long', { templates: { en: { sms: { body: '{{name}}, 40% off {{product}} till midnight', ...dlt } } } } as never));
    d.putCampaign(campaign('edited', { templates: { en: { sms: { body: '{{name}}, 50% off {{product}} today', ...dlt } } } } as never));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('candidates', 'u1', { campaignId: 'fits', userId: 'u1', vars: { product: 'shoes' } });
    await d.pipe('candidates', 'u1', { campaignId: 'long', userId: 'u1', vars: { product: 'an extraordinarily long product name here' } });
    await d.pipe('candidates', 'u1', { campaignId: 'edited', userId: 'u1', vars: { product: 'shoes' } });
    const [fits, long, edited] = decisions(d);
    assert.notEqual(fits?.action, 'skip', JSON.stringify(fits?.reasons));
    assert.deepEqual(long?.reasons, ['invalid_template']);
    assert.deepEqual(edited?.reasons, ['invalid_template']);
  } finally {
    await d.close();
  }
});

test('pipeline: events that name a category count per category in the user state and feed the candidate\'s category_share; a category out of range is dead-lettered', async () => {
  const d = await decisionDriver();
  try {
    d.putCampaign(campaign('c1', { category: 5 }));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await d.pipe('events', 'u1', { userId: 'u1', ts: MONDAY, type: 'view', category: 5 });
    await d.pipe('events', 'u1', { userId: 'u1', ts: MONDAY, type: 'view', category: 5 });
    await d.pipe('events', 'u1', { userId: 'u1', ts: MONDAY, type: 'purchase', value: 499, category: 7 });
    await d.pipe('events', 'u1', { userId: 'u1', ts: MONDAY, type: 'view', category: null });
    await d.pipe('events', 'u1', { userId: 'u1', ts: MONDAY, type: 'view', category: 12 });
    const dead = d.readOutputs('deadletter');
    assert.equal(dead.length, 1, 'the out-of-range category, and only it');
    assert.match(JSON.stringify(dead[0]?.value), /category/);
    const user = await d.storeFor<UserState>(DECISION_STORES.users.name, 'u1').get(['u1']);
    assert.deepEqual(user?.features.cat, [0, 0, 0, 0, 0, 2, 0, 1, 0, 0]);
    assert.deepEqual(user?.features.c['view']?.[3], 3, 'the view without a category still counts as a view');
    await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'shoes' } });
    const [decision] = decisions(d);
    const share = decision?.features?.[featureIndex('category_share')];
    assert.ok(share !== undefined && Math.abs(share - ((2 + 1) / (3 + 10)) * 10) < 1e-3, `category_share ${share}`);
  } finally {
    await d.close();
  }
});
