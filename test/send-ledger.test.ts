import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../processor/test-driver.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { decisionTopology } from '../operators/decisions/topology.js';
import { RecordingSink } from '../operators/sinks/recording-sink.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import type { EffectHandler } from '../processor/effects.js';
import { HOUR, MINUTE, MONDAY, activate, campaign, decisions, indiaUser, policyConfig } from './support/decisions.js';

const config = policyConfig();
const topology = () => decisionTopology(config, new HeuristicScorer());

async function driver(dir: string | undefined, effects: (clock: import('../processor/clock.js').VirtualClock) => EffectHandler[], start = MONDAY + 5 * HOUR) {
  return TopologyTestDriver.create({ topology, partitions: 1, startTime: start, config: { policy: config.policy }, effects, ...(dir !== undefined ? { dir } : {}) });
}

test('send ledger: the intent is committed before the provider is called; an unresolved promotional send is not sent again after a restart', async () => {
  // First life: no sink answers (the replica dies between committing the intent and hearing back).
  const first = await driver(undefined, () => []);
  const dir = first.dir;
  first.putCampaign(campaign('promo', { window: { start: MONDAY + 5 * HOUR, end: MONDAY + 12 * HOUR } }));
  first.putCampaign(campaign('otp', { kind: 'transactional', deadline: 'hard', window: { start: MONDAY + 5 * HOUR, end: MONDAY + 6 * HOUR } }));
  await first.pipe('profiles', 'u1', indiaUser('u1'));
  await activate(first, 'u1');
  await first.pipe('candidates', 'u1', { campaignId: 'otp', userId: 'u1', vars: { product: 'x' } });
  await first.pipe('candidates', 'u1', { campaignId: 'promo', userId: 'u1', vars: { product: 'x' } });
  await first.advanceTime(3 * HOUR);
  const asked = first.performed.map((e) => (e.payload as { campaignId: string }).campaignId).sort();
  assert.deepEqual(asked, ['otp', 'promo'], 'both sends were committed as intents');
  assert.equal(first.readOutputs('sends').length, 0, 'no outcome yet: nothing on nudge.sends');
  decisions(first);
  await first.close({ keep: true });

  // Second life on the same stores: the sink works now.
  let sinkCalls = 0;
  const second = await driver(dir, (clock) => {
    const sink = new RecordingSink(clock);
    return [{ kind: sink.kind, run: (e, s) => ((sinkCalls++, sink.run(e))) } satisfies EffectHandler];
  }, MONDAY + 5 * HOUR + 30 * MINUTE);
  try {
    const sends = second.readOutputs('sends').map((o) => o.value as SendRecord);
    const promo = sends.filter((s) => s.campaignId === 'promo');
    const otp = sends.filter((s) => s.campaignId === 'otp');
    assert.deepEqual(promo.map((s) => [s.status, s.error?.code]), [['dropped', 'NUDGE_ERR_UNRESOLVED_SEND']], 'promotional: at most once, accounted for as dropped');
    assert.deepEqual(otp.map((s) => s.status), ['sent'], 'transactional: sent again (at least once)');
    assert.equal(sinkCalls, 1, 'only the transactional message reached the provider again');
    await second.advanceTime(24 * HOUR);
    assert.equal(second.readOutputs('sends').length, 0, 'nothing else is ever sent');
  } finally {
    await second.close();
  }
});

test('send ledger: provider feedback withdraws consent or removes a token', async () => {
  const d = await driver(undefined, (clock) => [
    {
      kind: 'send',
      run: async (effect) => {
        const intent = effect.payload as { channel: string; to: { tokens?: Array<{ token: string }> } };
        return intent.channel === 'sms'
          ? { final: 'failed', attempts: [{ provider: 'twilio', status: 'failed', error: { code: '21610', message: 'unsubscribed' }, ts: clock.now() }], action: 'withdraw_consent' }
          : { final: 'failed', attempts: [{ provider: 'fcm', status: 'failed', error: { code: 'UNREGISTERED', message: 'gone' }, ts: clock.now() }], action: 'remove_token', token: intent.to.tokens?.[0]?.token };
      },
    },
  ]);
  try {
    d.putCampaign(campaign('sms1', { channels: ['sms'] }));
    d.putCampaign(campaign('push1', { channels: ['push'] }));
    d.putCampaign(campaign('sms2', { channels: ['sms'], window: { start: MONDAY, end: MONDAY + 48 * HOUR } }));
    d.putCampaign(campaign('push2', { channels: ['push'], window: { start: MONDAY, end: MONDAY + 48 * HOUR } }));
    await d.pipe('profiles', 'u1', indiaUser('u1', { quietHours: null }));
    await activate(d, 'u1');
    await d.pipe('candidates', 'u1', { campaignId: 'sms1', userId: 'u1', vars: { product: 'x' } });
    await d.pipe('candidates', 'u1', { campaignId: 'push1', userId: 'u1', vars: { product: 'x' } });
    await d.advanceTime(12 * HOUR);
    const failed = d.readOutputs('sends').map((o) => o.value as SendRecord);
    assert.deepEqual(failed.map((s) => s.status).sort(), ['failed', 'failed']);
    decisions(d);
    await d.pipe('candidates', 'u1', { campaignId: 'sms2', userId: 'u1', vars: { product: 'x' } });
    await d.pipe('candidates', 'u1', { campaignId: 'push2', userId: 'u1', vars: { product: 'x' } });
    const [sms2, push2] = decisions(d);
    assert.ok(sms2?.reasons.includes('no_consent'), `sms consent withdrawn: ${sms2?.reasons.join(',')}`);
    assert.ok(push2?.reasons.includes('no_channel'), `push token removed: ${push2?.reasons.join(',')}`);
  } finally {
    await d.close();
  }
});
