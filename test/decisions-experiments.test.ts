import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionIdFor } from '../operators/decisions/decision-record.js';
import { assignArm, inControlGroup, unitHash, type Experiment } from '../operators/decisions/experiments.js';

const N = 100_000;
const users = Array.from({ length: N }, (_, i) => `user-${i}`);

/** Pearson correlation of two 0/1 series. */
function correlation(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const da = (a[i] as number) - ma;
    const db = (b[i] as number) - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  return cov / Math.sqrt(va * vb);
}

test('unitHash: fixed values (SHA-1, first 4 bytes big-endian / 2^32), so every replica and version agrees', () => {
  // sha1("") = da39a3ee…, sha1("nudge") = 37e4ac97…
  assert.equal(unitHash(''), 0xda39a3ee / 2 ** 32);
  assert.equal(unitHash('nudge'), 0x37e4ac97 / 2 ** 32);
  assert.equal(unitHash('user-1'), unitHash('user-1'));
  assert.notEqual(unitHash('user-1'), unitHash('user-2'));
});

test('unitHash: uniform on [0, 1) over 100k keys', () => {
  const bins = new Array<number>(10).fill(0);
  let sum = 0;
  for (const u of users) {
    const x = unitHash(u);
    assert.ok(x >= 0 && x < 1);
    sum += x;
    bins[Math.floor(x * 10)]! += 1;
  }
  assert.ok(Math.abs(sum / N - 0.5) < 0.005, `mean ${sum / N}`);
  for (const b of bins) assert.ok(Math.abs(b / N - 0.1) < 0.005, `bin share ${b / N}`);
});

const EXP: Experiment = {
  id: 'exp-templates',
  arms: [
    { name: 'a', weight: 1 },
    { name: 'b', weight: 2 },
    { name: 'c', weight: 7 },
  ],
};

test('assignArm: proportions within ±2% of the weights over 100k users; propensity is the weight share', () => {
  const counts = new Map<string, number>();
  const expected: Record<string, number> = { a: 0.1, b: 0.2, c: 0.7 };
  for (const u of users) {
    const { arm, propensity } = assignArm(u, EXP);
    counts.set(arm, (counts.get(arm) ?? 0) + 1);
    assert.equal(propensity, expected[arm]);
  }
  assert.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c']);
  for (const [arm, share] of Object.entries(expected)) {
    const observed = (counts.get(arm) ?? 0) / N;
    assert.ok(Math.abs(observed - share) < 0.02, `${arm}: ${observed} vs ${share}`);
  }
});

test('assignArm: stable across calls and across equal experiment objects', () => {
  const copy: Experiment = structuredClone(EXP);
  for (const u of users.slice(0, 5_000)) {
    const first = assignArm(u, EXP);
    assert.deepEqual(assignArm(u, EXP), first);
    assert.deepEqual(assignArm(u, copy), first);
  }
});

test('assignArm: independent across experiment ids (correlation ≈ 0), identical for the same id', () => {
  const half = (id: string): Experiment => ({ id, arms: [{ name: 'x', weight: 1 }, { name: 'y', weight: 1 }] });
  const e1 = users.map((u) => (assignArm(u, half('exp-1')).arm === 'x' ? 1 : 0));
  const e2 = users.map((u) => (assignArm(u, half('exp-2')).arm === 'x' ? 1 : 0));
  const again = users.map((u) => (assignArm(u, half('exp-1')).arm === 'x' ? 1 : 0));
  const r = correlation(e1, e2);
  assert.ok(Math.abs(r) < 0.02, `correlation ${r}`);
  // The measurement can see dependence when there is some.
  assert.equal(correlation(e1, again), 1);
});

test('assignArm: no experiment → default with propensity 1; zero-weight arms never chosen; all-zero weights → equal', () => {
  assert.deepEqual(assignArm('u1', undefined), { arm: 'default', propensity: 1 });
  const zero: Experiment = { id: 'z', arms: [{ name: 'off', weight: 0 }, { name: 'on', weight: 3 }] };
  for (const u of users.slice(0, 2_000)) assert.deepEqual(assignArm(u, zero), { arm: 'on', propensity: 1 });
  const allZero: Experiment = { id: 'zz', arms: [{ name: 'p', weight: 0 }, { name: 'q', weight: 0 }] };
  let p = 0;
  for (const u of users.slice(0, 20_000)) {
    const a = assignArm(u, allZero);
    assert.equal(a.propensity, 0.5);
    if (a.arm === 'p') p++;
  }
  assert.ok(Math.abs(p / 20_000 - 0.5) < 0.02);
  const single: Experiment = { id: 's', arms: [{ name: 'only', weight: 0.3 }] };
  assert.deepEqual(assignArm('u1', single), { arm: 'only', propensity: 1 });
});

test('control group: ≈ percent ±0.5% over 100k users, stable, reshuffled by the salt', () => {
  const salt = 'nudge-global-control-v1';
  const inGroup = users.map((u) => (inControlGroup(u, 5, salt) ? 1 : 0));
  const share = inGroup.reduce((s: number, x) => s + x, 0) / N;
  assert.ok(Math.abs(share - 0.05) < 0.005, `control share ${share}`);
  for (let i = 0; i < 5_000; i++) assert.equal(inControlGroup(users[i] as string, 5, salt), inGroup[i] === 1);
  const other = users.map((u) => (inControlGroup(u, 5, 'nudge-global-control-v2') ? 1 : 0));
  const both = inGroup.reduce((s: number, x, i) => s + x * (other[i] as number), 0) / N;
  // Independent groups overlap in ≈ 5% × 5% = 0.25% of users, not 5%.
  assert.ok(both < 0.005, `overlap ${both}`);
  const twenty = users.filter((u) => inControlGroup(u, 20, salt)).length / N;
  assert.ok(Math.abs(twenty - 0.2) < 0.005, `20%: ${twenty}`);
  assert.equal(users.some((u) => inControlGroup(u, 0, salt)), false);
  // The control group is independent of experiment arms.
  const arms = users.map((u) => (assignArm(u, EXP).arm === 'c' ? 1 : 0));
  assert.ok(Math.abs(correlation(inGroup, arms)) < 0.02);
});

test('decision ids and bucket hashes are SHA-1 of their stable strings, so every version and replica computes the same', () => {
  // Computed here with an incremental Hash, the way earlier versions did: ids consumers have stored must not change.
  const keys = ['u1', 'user-42', 'नमस्ते', 'a\ud800', '😀'];
  for (const campaignId of ['otp', 'flash-sale', 'कैंपेन']) {
    for (const userId of keys) {
      const expected = `d-${createHash('sha1').update(campaignId).update('\u0000').update(userId).digest('hex').slice(0, 24)}`;
      assert.equal(decisionIdFor(campaignId, userId), expected, `${campaignId}/${userId}`);
    }
  }
  for (const key of keys) assert.equal(unitHash(key), createHash('sha1').update(key, 'utf8').digest().readUInt32BE(0) / 0x1_0000_0000, key);
});
