import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { runDemo, type DemoRun } from '../cli/demo-run.js';
import { exitCodeFor } from '../cli/exit-code.js';
import { qualityRows, sendHours } from '../cli/demo-summary.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';

// The same small world twice: one replica owning the four partitions in this thread, and two
// replicas in worker threads owning two each.
const ARGS = { users: 800, partitions: 4, seed: 7, hours: 12, historyDays: 1 };
let one: DemoRun;
let two: DemoRun;

before(async () => {
  one = await runDemo({ ...ARGS, replicas: 1 });
  two = await runDemo({ ...ARGS, replicas: 2 });
});

// The provider's message id is the fakes' random draw, and sends of one partition are logged as
// their provider calls complete, so the comparison is of the sends as a set, without that id.
const sendKey = ({ providerMessageId: _id, ...rest }: SendRecord) => JSON.stringify(rest);

test('demo: two replicas in worker threads decide and send exactly what one replica owning every partition does', () => {
  assert.ok(one.decisions.length > 500, `${one.decisions.length} decisions`);
  assert.deepEqual(two.decisions, one.decisions);
  // The records as logged, logged feature vectors included, which the decisions above come without.
  assert.equal(one.decisionsDigests.length, ARGS.partitions);
  assert.equal(new Set(one.decisionsDigests).size, ARGS.partitions, 'each partition decided something of its own');
  assert.deepEqual(two.decisionsDigests, one.decisionsDigests);
  assert.ok(one.decisions.every((d) => d.features === undefined), 'the vectors stay in the log');
  assert.ok(one.decisions.some((d) => d.featureVersion !== undefined), 'scored decisions still name their feature version');
  assert.ok(one.sends.length > 200, `${one.sends.length} sends`);
  assert.deepEqual(two.sends.map(sendKey).sort(), one.sends.map(sendKey).sort());
  assert.deepEqual(two.candidates, one.candidates);
  assert.equal(two.historyEvents, one.historyEvents);
  for (const id of ['u0', 'u1', 'u399', 'u799']) assert.deepEqual(two.historyByHour(id), one.historyByHour(id), id);
  assert.deepEqual(two.feedback, one.feedback);
  assert.equal(two.deadLetters, 0);
});

test('demo: the replicas judge their own users, and the sums they return are the judgement of the whole run', () => {
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} against ${b}`);
  for (const run of [one, two]) {
    // Judged again here in one piece, over every user, from what the run returned.
    const whole = qualityRows(run);
    assert.deepEqual(run.judgement.quality.map((q) => [q.policy, q.sends]), whole.map((q) => [q.policy, q.sends]));
    assert.ok((whole[0]?.sends ?? 0) > 100, `${whole[0]?.sends} nudge messages judged`);
    run.judgement.quality.forEach((q, i) => {
      const w = whole[i] as (typeof whole)[number];
      close(q.clicksPer1000, w.clicksPer1000, `${q.policy} clicks`);
      close(q.conversionsPer1000, w.conversionsPer1000, `${q.policy} conversions`);
      close(q.optOutsPer1000, w.optOutsPer1000, `${q.policy} opt-outs`);
      close(q.costPerConversion, w.costPerConversion, `${q.policy} cost`);
    });
    const hours = sendHours(run);
    assert.deepEqual(run.judgement.hours.sends, hours.sends);
    close(run.judgement.hours.atHabit, hours.atHabit, 'at habit');
    run.judgement.hours.activity.forEach((a, h) => close(a, hours.activity[h] as number, `activity at ${h}`));
  }
  // The random-time baseline draws per offer, so the replicas' split does not change it.
  assert.deepEqual(two.judgement.quality.map((q) => q.sends), one.judgement.quality.map((q) => q.sends));
  const random = (run: DemoRun) => run.judgement.quality.find((q) => q.policy === 'random time')?.clicksPer1000 ?? Number.NaN;
  close(random(two), random(one), 'random time across replica counts');
});

test('demo: the users answer every promotional message sent, the last step of the day included', () => {
  for (const run of [one, two]) {
    const promotional = run.sends.filter((s) => s.status === 'sent' && s.campaignId !== 'otp-login').length;
    assert.equal(run.feedback.counts.answered, promotional);
  }
});

test('demo: the replicas\' throughput samples and batch latencies are merged into one view', () => {
  const last = two.throughput.at(-1);
  assert.ok(last !== undefined);
  assert.equal(last.decisions, two.decisions.length);
  assert.equal(last.sends, two.sends.length);
  for (let i = 1; i < two.throughput.length; i++) {
    const [a, b] = [two.throughput[i - 1], two.throughput[i]];
    assert.ok(a !== undefined && b !== undefined && b.t >= a.t && b.decisions >= a.decisions && b.events >= a.events, 'cumulative and in time order');
  }
  const all = two.latency['all'];
  const records = two.latency['records'];
  assert.ok(all !== undefined && records !== undefined);
  // Every batch of both replicas is in the merged histogram once.
  assert.equal(all.batches, records.batches + (two.latency['timers']?.batches ?? 0));
  assert.ok(all.batches > (one.latency['all']?.batches ?? 0) / 2);
  assert.ok(all.p50 <= all.p99 && all.p99 <= all.max);
});

test('nudge demo: more replicas than partitions is a configuration error naming --replicas, exit status 2', () => {
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'demo', '--partitions', '2', '--replicas', '3'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--replicas: got 3 \(allowed: an integer from 1 to --partitions \(2\)\)/);
});

test('nudge demo: a negative, non-numeric or huge --events-per-user-day is a configuration error naming it, exit status 2', () => {
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  for (const bad of ['-3', 'lots']) {
    const r = spawnSync(process.execPath, [cli, 'demo', '--users', '10', '--events-per-user-day', bad], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--events-per-user-day: got (-3|NaN) \(allowed: a number ≥ 0 \(the target load's rate is 200\)\)/);
  }
  // A rate the in-memory history could not hold is refused before anything is generated.
  const huge = spawnSync(process.execPath, [cli, 'demo', '--users', '10', '--events-per-user-day', '1e9'], { encoding: 'utf8' });
  assert.equal(huge.status, 2, huge.stderr);
  assert.match(huge.stderr, /--events-per-user-day: got 1000000000 \(allowed: at most 1000 \(the target load's rate is 200\)\)/);
});

test("demo: the users' past activity follows the configured rate: none at scale 0, about three times as much at scale 3", async () => {
  const args = { users: 300, partitions: 2, seed: 7, hours: 1, historyDays: 2, providers: 'recorded' as const, scorer: 'heuristic' as const };
  const base = await runDemo(args);
  const none = await runDemo({ ...args, activityScale: 0 });
  const more = await runDemo({ ...args, activityScale: 3 });
  assert.ok(base.historyEvents > 300 * 2 * 5, `${base.historyEvents} past events at the default rate`);
  assert.equal(none.historyEvents, 0);
  assert.ok(Math.abs(more.historyEvents / base.historyEvents - 3) < 0.2, `${more.historyEvents} against ${base.historyEvents}`);
  assert.equal(more.deadLetters, 0, 'every past event was taken into state, none refused');
});

test('demo: a replica failing in its thread fails the run, the other replica is stopped, and no directory is left', async () => {
  const dirs: string[] = [];
  let ticks = 0;
  const progress = (line: string) => {
    if (line.endsWith(': tick')) ticks++;
    else dirs.push(line.replace(/^replica \d\/\d: dir /, ''));
  };
  await assert.rejects(runDemo({ ...ARGS, replicas: 2 }, progress, { workerUrl: new URL('./support/demo-failing-worker.js', import.meta.url) }), /replica 2 failed half-way/);
  // Replica 1 never ends by itself and ticks every 50 ms until it is terminated.
  assert.ok(ticks > 0);
  const before = ticks;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(ticks, before, 'replica 1 was terminated');
  assert.equal(dirs.length, 2);
  for (const dir of dirs) assert.equal(existsSync(dir), false, dir);
});

test('demo: a configuration error in a replica\'s thread is still one, exit status 2', async () => {
  await assert.rejects(runDemo({ ...ARGS, replicas: 2, scorer: 'bogus' as 'learned' }), (e: unknown) => {
    assert.match(String((e as Error).message), /models\.scorer/);
    assert.equal(exitCodeFor(e), 2);
    return true;
  });
  await assert.rejects(runDemo({ ...ARGS, replicas: 0 }), (e: unknown) => exitCodeFor(e) === 2 && /--replicas: got 0/.test((e as Error).message));
});
