/**
 * The same simulated population and campaigns decided once per scorer, without exploration, each
 * judged by bench/sim's evaluate(): expected clicks, conversions and opt-outs per 1,000 sends under
 * the ground truth (sums of true probabilities, so the comparison carries no sampling noise).
 * What `npm run compare:scorers` prints.
 */
import { evaluate, type Quality } from '../bench/sim/quality.js';
import type { Message } from '../bench/sim/response.js';
import type { Scorer } from '../operators/decisions/scorer.js';
import { simulateDataset } from './sim-dataset.js';

export interface ScorerComparisonRow extends Quality {
  candidates: number;
  sendRate: number;
  clicksPer1000Candidates: number;
  optOutsPer1000Candidates: number;
  seconds: number;
}

// Promotional SMS through a paid route vs push: the demo's cost model.
const cost = (m: Message) => (m.channel === 'sms' ? 0.12 : 0.0001);

export async function compareScorers(o: { users: number; seed: number; days: number; scorers: ReadonlyArray<[string, Scorer]> }): Promise<ScorerComparisonRow[]> {
  const rows: ScorerComparisonRow[] = [];
  for (const [name, scorer] of o.scorers) {
    const ds = await simulateDataset({ users: o.users, seed: o.seed, days: o.days, historyDays: 3, explore: 0, scorer });
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
  return rows;
}
