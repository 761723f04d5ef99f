import assert from 'node:assert/strict';
import { test } from 'node:test';
import { campaign } from './support/decisions.js';
import { embeddedReplica } from './support/embedded-replica.js';
import { waitFor } from './support/wait.js';

test('campaigns: a record the table refuses is counted by code in nudge_campaigns_rejected_total, and good ones still apply', async () => {
  const { replica, log, close } = embeddedReplica({ partitions: 1 });
  try {
    await replica.start();
    const good = campaign('sale');
    log.append(replica.topics.campaigns, [
      { key: 'weird', value: JSON.stringify({ ...good, campaignId: 'weird', kind: 'weird' }) },
      { key: 'broken', value: '{"campaignId":' },
      { key: 'sale', value: JSON.stringify(good) },
    ]);
    const rejected = async () => {
      const out: Record<string, number> = {};
      for (const v of (await replica.metrics.campaignsRejected.get()).values) out[String(v.labels.code)] = v.value;
      return out;
    };
    await waitFor(async () => Object.values(await rejected()).reduce((a, b) => a + b, 0) === 2, `both bad campaigns counted (table: ${JSON.stringify([...replica.campaigns.rejected])})`, 10_000);
    assert.deepEqual(await rejected(), { NUDGE_ERR_INVALID_FIELD: 1, NUDGE_ERR_MALFORMED_JSON: 1 });
    assert.deepEqual([...replica.campaigns.rejected].sort(), [['NUDGE_ERR_INVALID_FIELD', 1], ['NUDGE_ERR_MALFORMED_JSON', 1]]);
    await waitFor(() => replica.campaigns.get('sale') !== undefined, 'the good campaign applied', 10_000);
    assert.equal(replica.campaigns.get('weird'), undefined);
    const text = await replica.metrics.registry.metrics();
    assert.match(text, /^nudge_campaigns_rejected_total\{code="NUDGE_ERR_INVALID_FIELD"\} 1$/m);
  } finally {
    await close();
  }
});
