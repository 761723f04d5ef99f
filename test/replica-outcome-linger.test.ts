import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { RecordingSink } from '../operators/sinks/recording-sink.js';
import { systemClock } from '../processor/clock.js';
import type { Effect, EffectHandler } from '../processor/effects.js';
import type { BatchResult } from '../processor/partition-task.js';
import { embeddedReplica, jsonRecord, startWithOtpCampaign, type EmbeddedReplica } from './support/embedded-replica.js';
import { waitFor } from './support/wait.js';

/** The recording sink, answering the n-th send after n × `stepMs`: answers arrive one by one, as a provider's do. */
function staggeredSink(stepMs: number): EffectHandler & { answered: number } {
  const inner = new RecordingSink(systemClock);
  let calls = 0;
  const sink = {
    kind: inner.kind,
    answered: 0,
    run: async (effect: Effect) => {
      const delay = calls++ * stepMs;
      await new Promise((r) => setTimeout(r, delay));
      const outcome = await inner.run(effect);
      sink.answered++;
      return outcome;
    },
  };
  return sink;
}

/** Users u0… with consent and no quiet hours, an OTP campaign open now, and one candidate each; counts the outcome commits. */
async function otpWave(r: EmbeddedReplica, users: number): Promise<{ outcomeCommits: () => number; sends: () => SendRecord[] }> {
  const { replica, log } = r;
  const topics = replica.topics;
  await startWithOtpCampaign(r, Array.from({ length: users }, (_, i) => `u${i}`));
  const engine = replica.engine;
  assert.ok(engine !== undefined);
  const commit = engine.commit.bind(engine);
  let outcomeCommits = 0;
  engine.commit = async (result: BatchResult) => {
    if (result.kind === 'outcomes') outcomeCommits++;
    return commit(result);
  };
  log.append(topics.input('candidates'), Array.from({ length: users }, (_, i) => jsonRecord(`u${i}`, { campaignId: 'otp', userId: `u${i}`, vars: { product: 'x', otp: '123456' } })));
  return {
    outcomeCommits: () => outcomeCommits,
    sends: () => log.read(topics.output('sends'), 0, 0, 10_000).map((x) => JSON.parse(String(x.value)) as SendRecord),
  };
}

test('replica: provider answers arriving one by one are committed together within processor.outcomeLingerMs, not one commit per send', async () => {
  const runs: Record<string, number> = {};
  for (const linger of [0, 300]) {
    const sink = staggeredSink(3);
    const r = embeddedReplica({ partitions: 1, effects: [sink], processor: { outcomeLingerMs: linger } });
    try {
      const wave = await otpWave(r, 40);
      await waitFor(() => wave.sends().length === 40, `40 send records (linger ${linger} ms)`, 20_000);
      const sends = wave.sends();
      assert.equal(new Set(sends.map((s) => s.userId)).size, 40, 'one send record per user');
      assert.ok(sends.every((s) => s.status === 'sent'));
      runs[`linger ${linger}`] = wave.outcomeCommits();
    } finally {
      await r.close();
    }
  }
  // 40 answers 3 ms apart span about 120 ms: one linger of 300 ms gathers them all.
  assert.ok((runs['linger 300'] ?? 99) <= 2, `with a linger: ${JSON.stringify(runs)}`);
  assert.ok((runs['linger 0'] ?? 0) >= 20, `without one, nearly a commit per answer: ${JSON.stringify(runs)}`);
});

/** Three sends answered at once and left lingering (1 s), none committed yet; then `body`. */
async function withLingering(body: (r: EmbeddedReplica, wave: Awaited<ReturnType<typeof otpWave>>) => Promise<void>): Promise<void> {
  const sink = staggeredSink(0);
  const r = embeddedReplica({ partitions: 1, effects: [sink], processor: { outcomeLingerMs: 1000 } });
  try {
    const wave = await otpWave(r, 3);
    await waitFor(() => sink.answered === 3, 'the provider answered all three', 10_000);
    assert.equal(wave.sends().length, 0, 'still lingering');
    await body(r, wave);
  } finally {
    await r.close();
  }
}

test('replica: stopping commits the outcomes that are still lingering, so their sends are not found unresolved at the next start', async () => {
  await withLingering(async (r, wave) => {
    await r.replica.stop();
    const sends = wave.sends();
    assert.equal(sends.length, 3, 'committed by stop(), before the linger ended');
    assert.equal(wave.outcomeCommits(), 1);
  });
});

test('replica: commitOutcomes() commits the lingering outcomes at once and keeps the replica running', async () => {
  await withLingering(async (r, wave) => {
    await r.replica.commitOutcomes();
    assert.equal(wave.sends().length, 3, 'committed when asked, long before the linger ended');
    assert.equal(wave.outcomeCommits(), 1);
    // Nothing left to commit: a second call is a no-op, and the replica still decides.
    await r.replica.commitOutcomes();
    assert.equal(wave.outcomeCommits(), 1);
    const decisions = r.replica.topics.output('decisions');
    const before = r.log.end(decisions, 0);
    r.log.append(r.replica.topics.input('candidates'), [jsonRecord('u9', { campaignId: 'otp', userId: 'u9', vars: { product: 'x', otp: '654321' } })]);
    await waitFor(() => r.log.end(decisions, 0) === before + 1, 'a later candidate is still decided', 10_000);
  });
});
