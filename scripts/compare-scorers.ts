/**
 * `npm run compare:scorers`: the same simulated population and campaigns decided by the
 * heuristic scorer and by the learned model (models/sim-compare.ts).
 *
 *   node dist/scripts/compare-scorers.js --users 3000 --seed 2 --days 10 [--model models/default]
 */
import { parseArgs } from 'node:util';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { forwardPassScorerSync, SHIPPED_REGISTRY } from '../models/shipped-model.js';
import { compareScorers } from '../models/sim-compare.js';

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
// heuristic-2 too: the model's inputs and its training world are heuristic-2's (models/model-inputs.ts).
const heuristics = [new HeuristicScorer({ version: 2 }), new HeuristicScorer()];
const rows = await compareScorers({ users, seed, days, scorers: [...heuristics.map((h) => [h.version, h] as [string, HeuristicScorer]), [`learned ${learned.version}`, learned]] });
console.log(`${users} users, seed ${seed}, ${days} campaign days (2 a day), no exploration; expected values under the simulator's truth`);
console.log(`${'scorer'.padEnd(34)} ${'sends'.padStart(7)} ${'send rate'.padStart(9)} ${'clicks/1k'.padStart(10)} ${'conv/1k'.padStart(8)} ${'opt-outs/1k'.padStart(12)} ${'clicks/1k cand'.padStart(15)} ${'opt-outs/1k cand'.padStart(17)}`);
for (const r of rows) {
  console.log(
    `${r.policy.padEnd(34)} ${String(r.sends).padStart(7)} ${r.sendRate.toFixed(3).padStart(9)} ${r.clicksPer1000.toFixed(2).padStart(10)} ${r.conversionsPer1000.toFixed(2).padStart(8)} ${r.optOutsPer1000.toFixed(2).padStart(12)} ${r.clicksPer1000Candidates.toFixed(2).padStart(15)} ${r.optOutsPer1000Candidates.toFixed(2).padStart(17)}`,
  );
}
console.log(JSON.stringify(rows));
