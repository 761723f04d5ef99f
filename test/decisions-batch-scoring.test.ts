import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { PrefetchingScorer } from '../operators/decisions/batch-scoring.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import type { Scorer, Scores } from '../operators/decisions/scorer.js';
import type { Campaign } from '../processor/messages/index.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { MeteredScorer } from '../models/metered-scorer.js';
import { ProcessorMetrics } from '../processor/metrics.js';
import { activate, campaign, decisionDriver, decisions, HOUR, indiaUser } from './support/decisions.js';

/** The heuristics, counting the rows of each call; `prefersBatches` as a TF.js model says it. */
class CountingScorer implements Scorer {
  readonly #inner = new HeuristicScorer();
  readonly calls: number[] = [];
  /** Every distinct row scored, by its bytes. */
  readonly rows = new Set<string>();
  version: string;
  readonly prefersBatches: boolean;

  constructor(prefersBatches: boolean) {
    this.prefersBatches = prefersBatches;
    this.version = this.#inner.version;
  }

  get featureVersion(): string {
    return this.#inner.featureVersion;
  }

  score(rows: readonly Float32Array[]): Promise<Scores[]> {
    this.calls.push(rows.length);
    for (const r of rows) this.rows.add(Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('hex'));
    return this.#inner.score(rows);
  }
}

const USERS = 12;

/** Twelve users, half with a week of evening activity; then every user is a candidate of c1 and the first four of c2 too, in one batch. */
async function run(prefersBatches: boolean, c1: Partial<Campaign> = {}, scorer = new CountingScorer(prefersBatches)): Promise<{ scorer: CountingScorer; out: ReturnType<typeof decisions> }> {
  const d = await decisionDriver({ partitions: 1, scorer: () => scorer });
  try {
    d.putCampaign(campaign('c1', c1));
    d.putCampaign(campaign('c2', { channels: ['best'], category: 1 }));
    for (let i = 0; i < USERS; i++) {
      await d.pipe('profiles', `u${i}`, indiaUser(`u${i}`));
      if (i % 2 === 0) await activate(d, `u${i}`);
    }
    scorer.calls.length = 0;
    scorer.rows.clear();
    const candidates = [];
    for (let i = 0; i < USERS; i++) candidates.push({ key: `u${i}`, value: { campaignId: 'c1', userId: `u${i}`, vars: { product: 'shoes' } } });
    // A second candidate of the same user in the same batch: the first one's decision changes
    // the state the second is decided on, so its prefetched rows may no longer match.
    for (let i = 0; i < 4; i++) candidates.push({ key: `u${i}`, value: { campaignId: 'c2', userId: `u${i}`, vars: { product: 'a kurta' } } });
    await d.pipeBatch('candidates', candidates);
    return { scorer, out: decisions(d) };
  } finally {
    await d.close();
  }
}

test('a scorer that prefers batches gets the batch’s rows in one call, and every decision is what it would have been', async () => {
  const plain = await run(false);
  const batched = await run(true);
  // One decision per candidate, plus a skip for any scheduled c1 message a c2 one preempted.
  assert.equal(new Set(plain.out.map((o) => `${o.campaignId}/${o.userId}`)).size, USERS + 4);
  assert.deepEqual(batched.out, plain.out, 'same decisions, scores and features');
  assert.ok(plain.out.some((o) => o.action === 'schedule' || o.action === 'send'), 'some candidates were worth a message');
  assert.ok(plain.scorer.calls.length >= USERS, `one call or more per candidate without batching (${plain.scorer.calls.length})`);
  for (const row of plain.scorer.rows) assert.ok(batched.scorer.rows.has(row), 'every row a decision needed was scored');
  // One call for the batch. The second candidates of the four repeated users see their first
  // message scheduled, which their rows count (messages_7d_before_slot); prepare() adds
  // their rows with that count raised too, so they are in the call as well (without those
  // variants: four more calls, one per repeated user). The other eight users' candidates are
  // finished from their plans and the call's scores: had any been planned again, its rows
  // would have cost a call of their own.
  const [first, ...rest] = batched.scorer.calls;
  assert.ok(first !== undefined && first > 4 * USERS, `the first call carries the batch's rows: ${batched.scorer.calls.join(', ')}`);
  assert.deepEqual(rest, [], `no call after the prefetch, got ${batched.scorer.calls.join(', ')}`);
});

test('planned ahead of the batch, each decision is finished on the slot capacity and budget the candidates before it left', async () => {
  // Two sends a 15-minute slot by rate, and eight in all: the budget paces them at one a slot.
  // The users with one candidate in the batch (u4 on) are finished from their plans; they want
  // the slots the ones before them took, and the last find the budget spent.
  const tight: Partial<Campaign> = { maxPerSecond: 2 / 900, budget: { maxSends: 8 } };
  const plain = await run(false, tight);
  const batched = await run(true, tight);
  assert.deepEqual(batched.out, plain.out, 'same decisions, scores and features');
  const c1 = plain.out.filter((o) => o.campaignId === 'c1' && o.supersedes === undefined);
  const used = c1.filter((o) => o.action === 'send' || o.action === 'schedule');
  assert.equal(used.length, 8, 'the budget, all of it');
  assert.ok(used.some((o) => Number(o.userId.slice(1)) >= 4), 'planned candidates among them');
  assert.equal(new Set(used.map((o) => o.sendAt)).size, used.length, 'one message a slot');
  assert.ok(c1.some((o) => o.reasons.includes('budget_exhausted')), 'later candidates found the budget spent');
  assert.equal(batched.scorer.calls.length, 1, `one call for the batch, got ${batched.scorer.calls.join(', ')}`);
});

test('a model swapped in between the batch’s call and a decision scores that decision, which logs it', async () => {
  // The batch's call is answered by a model that scores everything 0, and is then replaced:
  // a decision finished on those scores would skip as low_value where the heuristics message.
  const swapping = new CountingScorer(true);
  const heuristics = swapping.score.bind(swapping);
  let swapped = false;
  swapping.score = async (rows) => {
    if (swapped) return heuristics(rows);
    swapped = true;
    swapping.version = 'v2';
    return rows.map(() => ({ click: 0, convert: 0, unsubscribe: 0 }));
  };
  const batched = await run(true, {}, swapping);
  const plain = await run(false);
  const withoutVersion = (out: DecisionRecord[]) => out.map(({ modelVersion: _v, ...rest }) => rest);
  assert.deepEqual(withoutVersion(batched.out), withoutVersion(plain.out));
  assert.ok(batched.out.every((o) => o.modelVersion === 'v2'), 'every decision logs the model that scored it');
  assert.ok(swapping.calls.length > 1, 'scored again after the swap');
});

/** A batch of SMS candidates planned at `start`, with the clock moved on by `callMs` while the batch's model call runs. */
async function lateBatch(start: number, callMs: number): Promise<DecisionRecord[]> {
  const scorer = new CountingScorer(true);
  const d = await decisionDriver({ partitions: 1, start, scorer: () => scorer });
  try {
    const heuristics = scorer.score.bind(scorer);
    let moved = false;
    scorer.score = async (rows) => {
      if (!moved) {
        moved = true;
        d.clock.set(d.clock.now() + callMs);
      }
      return heuristics(rows);
    };
    d.putCampaign(campaign('late', { window: { start, end: start + 2 * HOUR } }));
    for (let i = 0; i < 6; i++) {
      await d.pipe('profiles', `u${i}`, indiaUser(`u${i}`));
      await activate(d, `u${i}`);
    }
    await d.pipeBatch('candidates', Array.from({ length: 6 }, (_, i) => ({ key: `u${i}`, value: { campaignId: 'late', userId: `u${i}`, vars: { product: 'shoes' } } })));
    return decisions(d);
  } finally {
    await d.close();
  }
}

test('planned at the batch’s start, an SMS that would leave after the legal hours by its own turn is decided again then', async () => {
  // 20:59:59.800 in India: promotional SMS may go out until 21:00 (TRAI), so the only open slot is now.
  const start = Date.UTC(2026, 10, 23, 15, 29, 59, 800);
  const onTime = await lateBatch(start, 0);
  assert.ok(onTime.some((o) => o.action === 'send'), `sent at once while the hours allow: ${onTime.map((o) => o.action).join(', ')}`);
  // The batch's call takes 400 ms of the clock: by each decision's turn it is past 21:00.
  const late = await lateBatch(start, 400);
  assert.deepEqual(late.map((o) => o.action), late.map(() => 'skip'), 'nothing goes out after 21:00');
  assert.ok(late.every((o) => o.reasons.includes('legal_hours') && o.ts >= start + 200), late.map((o) => `${o.reasons.join('+')}@${o.ts - start}`).join(', '));
});

test('a campaign that arrives while its batch runs: the plans made before it for the same users do not serve', async () => {
  // Each user has a candidate of c1, whose campaign is not known when the batch is planned,
  // then one of c2. c1 arrives during the batch's model call, so c1's candidates are decided
  // at their turn and schedule messages; c2's must then be decided on that state (caps, the
  // minimum gap, the harm to c1's message), not on the plan made before.
  const outcome = async (prefersBatches: boolean, late: boolean): Promise<DecisionRecord[]> => {
    const scorer = new CountingScorer(prefersBatches);
    const d = await decisionDriver({ partitions: 1, scorer: () => scorer });
    try {
      const heuristics = scorer.score.bind(scorer);
      scorer.score = async (rows) => {
        if (d.campaigns.get('c1') === undefined) d.putCampaign(campaign('c1'));
        return heuristics(rows);
      };
      if (!late) d.putCampaign(campaign('c1'));
      d.putCampaign(campaign('c2', { channels: ['best'], category: 1 }));
      for (let i = 0; i < 6; i++) {
        await d.pipe('profiles', `u${i}`, indiaUser(`u${i}`));
        await activate(d, `u${i}`);
      }
      const candidates = [];
      for (let i = 0; i < 6; i++) {
        candidates.push({ key: `u${i}`, value: { campaignId: 'c1', userId: `u${i}`, vars: { product: 'shoes' } } });
        candidates.push({ key: `u${i}`, value: { campaignId: 'c2', userId: `u${i}`, vars: { product: 'a kurta' } } });
      }
      await d.pipeBatch('candidates', candidates);
      return decisions(d);
    } finally {
      await d.close();
    }
  };
  const plain = await outcome(false, false);
  const batched = await outcome(true, true);
  assert.ok(plain.filter((o) => o.campaignId === 'c1' && o.action === 'schedule').length >= 3, 'c1 schedules messages');
  assert.deepEqual(batched, plain);
});

test('a model that answers fewer scores than rows is refused: the candidate is dead-lettered, never decided on missing scores', async () => {
  for (const prefersBatches of [false, true]) {
    const short = new CountingScorer(prefersBatches);
    short.score = async (rows) => rows.slice(1).map(() => ({ click: 0.5, convert: 0.1, unsubscribe: 0 }));
    const d = await decisionDriver({ partitions: 1, scorer: () => short });
    try {
      d.putCampaign(campaign('c1'));
      await d.pipe('profiles', 'u1', indiaUser('u1'));
      await activate(d, 'u1');
      await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'shoes' } });
      assert.deepEqual(decisions(d), [], `no decision (prefersBatches ${prefersBatches})`);
      const dead = d.readOutputs('deadletter');
      assert.equal(dead.length, 1, `the candidate, dead-lettered (prefersBatches ${prefersBatches})`);
      assert.match(JSON.stringify(dead[0]?.value), /scores for/);
    } finally {
      await d.close();
    }
  }
  // The batch's call refuses the answer too: nothing is kept from it.
  const inner = new CountingScorer(true);
  inner.score = async (rows) => rows.slice(1).map(() => ({ click: 0, convert: 0, unsubscribe: 0 }));
  await assert.rejects(new PrefetchingScorer(inner).prefetch([Float32Array.of(1)], [Float32Array.of(2)]), /gave 1 scores for 2 rows/);
});

test('a prefetched row is served only while the same model version is serving; a new row is scored', async () => {
  const inner = new CountingScorer(true);
  const prefetching = new PrefetchingScorer(inner);
  const a = Float32Array.of(1, 2, 3);
  const b = Float32Array.of(4, 5, 6);
  const c = Float32Array.of(7, 8, 9);
  const rowA = Float32Array.of(1, 2, 3);
  inner.score = async (rows) => {
    inner.calls.push(rows.length);
    return rows.map((r) => ({ click: (r[0] as number) / 10, convert: 0, unsubscribe: 0 }));
  };
  await prefetching.prefetch([a, b, a]);
  assert.deepEqual(inner.calls, [2], 'duplicates scored once');
  const served = await prefetching.score([rowA, c, b]);
  assert.deepEqual(served.map((s) => s.click), [0.1, 0.7, 0.4]);
  assert.deepEqual(inner.calls, [2, 1], 'only the unseen row went to the model');
  assert.deepEqual(prefetching.stats, { hits: 2, misses: 1 });
  inner.version = 'v2';
  await prefetching.score([a]);
  assert.deepEqual(inner.calls, [2, 1, 1], 'a new version scores even a prefetched row');
});

test('scoring calls are exported: rows per call and seconds per call', async () => {
  const metrics = new ProcessorMetrics(new Registry(), { defaultMetrics: false });
  const inner = new CountingScorer(true);
  inner.score = async (rows) => rows.map(() => ({ click: 0, convert: 0, unsubscribe: 0 }));
  const metered = new MeteredScorer(inner, metrics);
  assert.equal(metered.prefersBatches, true, 'the preference passes through');
  await metered.score([Float32Array.of(1), Float32Array.of(2), Float32Array.of(3)]);
  await metered.score([Float32Array.of(4)]);
  // A batch's prefetch call: thousands of rows, still inside a finite bucket.
  await metered.score(Array.from({ length: 10_000 }, () => Float32Array.of(0)));
  const text = await metrics.registry.metrics();
  assert.match(text, /nudge_scoring_batch_size_count 3/);
  assert.match(text, /nudge_scoring_batch_size_sum 10004/);
  assert.match(text, /nudge_scoring_batch_size_bucket\{le="4096"\} 2/);
  assert.match(text, /nudge_scoring_batch_size_bucket\{le="16384"\} 3/);
  assert.match(text, /nudge_scoring_seconds_count 3/);
});
