import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../processor/test-driver.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { decisionTopology } from '../operators/decisions/topology.js';
import { DECISION_STORES } from '../operators/decisions/stores.js';
import type { UserState } from '../operators/decisions/types.js';
import { HOUR, MONDAY, indiaUser, policyConfig } from './support/decisions.js';

const config = policyConfig();

test('receipts: unregistered drops the push token it names, and without a token every push token of the user', async () => {
  const driver = await TopologyTestDriver.create({ topology: () => decisionTopology(config, new HeuristicScorer()), partitions: 1, startTime: MONDAY + 5 * HOUR, config: { policy: config.policy } });
  try {
    const tokens = [
      { platform: 'fcm', token: 'phone-token' },
      { platform: 'apns', token: 'tablet-token' },
      { platform: 'web', token: 'browser-token' },
    ];
    for (const u of ['u1', 'u2']) await driver.pipe('profiles', u, indiaUser(u, { pushTokens: tokens }));
    const receipt = (userId: string, extra: Record<string, unknown>) => ({ sendId: `s-${userId}`, userId, provider: 'fcm', status: 'unregistered', ts: MONDAY + 5 * HOUR, ...extra });
    await driver.pipe('receipts', 'u1', receipt('u1', { token: 'tablet-token' }));
    await driver.pipe('receipts', 'u2', receipt('u2', {}));
    const users = driver.store<UserState>(DECISION_STORES.users.name);
    const left = async (u: string) => (await users.get([u]))?.profile?.pushTokens.map((t) => t.token);
    assert.deepEqual(await left('u1'), ['phone-token', 'browser-token'], 'the named token only');
    assert.deepEqual(await left('u2'), [], 'a receipt that names no token: all of them');
    assert.equal(driver.readOutputs('deadletter').length, 0, 'both receipts are valid records');
  } finally {
    await driver.close();
  }
});
