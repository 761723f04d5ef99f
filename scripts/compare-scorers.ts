/**
 * `npm run compare:scorers`: the same simulated population and campaigns decided by the
 * heuristic scorer and by the learned model, without exploration, each judged by bench/sim's
 * evaluate(): expected clicks, conversions and opt-outs per 1,000 sends under the ground truth
 * (sums of true probabilities, so the comparison carries no sampling noise).
 *
 *   node dist/scripts/compare-scorers.js --users 3000 --seed 2 --days 10 [--model models/default]
 */
import { parseArgs } from 'node:util';
import { evaluate, type Quality } from '../bench/sim/quality.js';
import type { Message } from '../bench/sim/response.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import type { Scorer } from '../operators/decisions/scorer.js';
import { forwardPassScorerSync, SHIPPED_REGISTRY } from '../models/shipped-model.js';
import { simulateDataset } from '../models/sim-dataset.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '3000' },
    seed: { type: 'string', default: '2' },
    days: { type: 'string', default: '10' },
    model: { type: 'string', default: SHIPPED_REGISTRY },
  },
});
const users = Number(values.users);
const seed = Number(values.seed);
const days = Number(values.days);
const learned = forwardPassScorerSync(values.model);
if (learned === undefined) throw new Error(`no model in ${values.model}`);
// Promotional SMS through a paid route vs push: the demo's cost model.
const cost = (m: Message) => (m.channel === 'sms' ? 0.12 : 0.0001);

const rows: Array<Quality & { candidates: number; sendRate: number; clicksPer1000Candidates: number; optOutsPer1000Candidates: number; seconds: number }> = [];
for (const [name, scorer] of [['heuristic', new HeuristicScorer()], [`learned ${learned.version}`, learned]] as Array<[string, Scorer]>) {
  const ds = await simulateDataset({ users, seed, days, historyDays: 3, explore: 0, scorer });
  const q = evaluate(name, ds.sends.map((s) => s.message), ds.userOf, cost);
  rows.push({
    ...q,
    candidates: ds.stats.candidates,
    sendRate: ds.sends.length / ds.stats.candidates,
    clicksPer1000Candidates: (q.clicksPer1000 * q.sends) / ds.stats.candidates,
    optOutsPer1000Candidates: (q.optOutsPer1000 * q.sends) / ds.stats.candidates,
    seconds: Math.round(ds.stats.seconds),
  });
}
console.log(`${users} users, seed ${seed}, ${days} campaign days (2 a day), no exploration; expected values under the simulator's truth`);
console.log(`${'scorer'.padEnd(34)} ${'sends'.padStart(7)} ${'send rate'.padStart(9)} ${'clicks/1k'.padStart(10)} ${'conv/1k'.padStart(8)} ${'opt-outs/1k'.padStart(12)} ${'clicks/1k cand'.padStart(15)} ${'opt-outs/1k cand'.padStart(17)}`);
for (const r of rows) {
  console.log(
    `${r.policy.padEnd(34)} ${String(r.sends).padStart(7)} ${r.sendRate.toFixed(3).padStart(9)} ${r.clicksPer1000.toFixed(2).padStart(10)} ${r.conversionsPer1000.toFixed(2).padStart(8)} ${r.optOutsPer1000.toFixed(2).padStart(12)} ${r.clicksPer1000Candidates.toFixed(2).padStart(15)} ${r.optOutsPer1000Candidates.toFixed(2).padStart(17)}`,
  );
}
console.log(JSON.stringify(rows));
