/**
 * Uplift on real randomised data: Hillstrom's e-mail experiment (data/README.md). A TF.js
 * T-learner trained on 70% must rank the other 30% better than random targeting (Qini > 0)
 * and better than its own scores shuffled.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../models/backend.js';
import { hillstromFeatures, parseHillstrom, splitCsvLine } from '../models/hillstrom.js';
import { hillstromUplift } from '../models/uplift.js';

// dist/test/ → repository root.
const CSV = fileURLToPath(new URL('../../data/hillstrom.csv', import.meta.url));

before(async () => {
  await initBackend();
});

test('Hillstrom parses: 64,000 customers in three equal random arms, quoted commas handled', async () => {
  assert.deepEqual(splitCsvLine('5,"6) $750 - $1,000",828.42'), ['5', '6) $750 - $1,000', '828.42']);
  const rows = parseHillstrom(await readFile(CSV, 'utf8'));
  assert.equal(rows.length, 64_000);
  const arms = new Map<string, number>();
  for (const r of rows) arms.set(r.segment, (arms.get(r.segment) ?? 0) + 1);
  assert.deepEqual([...arms.values()].sort(), [21_306, 21_307, 21_387]);
  const f = hillstromFeatures(rows[0] as (typeof rows)[number]);
  assert.equal(f.length, 11);
});

test('T-learner uplift on Hillstrom: Qini > 0 and above shuffled scores on the 30% holdout', async () => {
  const r = await hillstromUplift({ csvPath: CSV, outcome: 'visit', seed: 2008, shuffles: 20 });
  console.log(
    `Hillstrom visit uplift (any e-mail vs none), holdout ${r.holdout}: Qini coefficient ${r.qini.toFixed(5)} ` +
      `(${(1000 * r.qini).toFixed(2)} incremental visits per 1,000 customers over random targeting, averaged over depths); ` +
      `shuffled scores mean ${r.shuffledQini.mean.toFixed(5)}, max ${r.shuffledQini.max.toFixed(5)}; ` +
      `uplift@30% ${(100 * r.upliftAt30).toFixed(2)} pp vs ${(100 * r.holdoutAte).toFixed(2)} pp for everyone, ${(100 * r.upliftBottom70).toFixed(2)} pp in the bottom 70%`,
  );
  assert.ok(r.qini > 0, `Qini ${r.qini}`);
  assert.ok(r.qini > r.shuffledQini.max, `Qini ${r.qini} vs shuffled max ${r.shuffledQini.max}`);
  assert.ok(r.upliftAt30 > r.holdoutAte, 'the top 30% gain more than the average customer');
});
