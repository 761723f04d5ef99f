/**
 * nudge against the "user's best hour, no caps" baseline in the demo's world, split by how many
 * promotions each user was offered: where the minimum gap between two messages to one user
 * keeps nudge off the peak, and where it does not (models/README.md, "Decisions").
 *
 *   node dist/scripts/own-best-split.js --users 2000 --history-days 7 [--scorer heuristic]
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors/index.js';
import { runDemo } from '../cli/demo-run.js';
import { ownBestSplit } from '../cli/demo-summary.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '42' },
    'history-days': { type: 'string', default: '7' },
    scorer: { type: 'string', default: 'learned' },
  },
});
// A bad option is a configuration error: its message and exit status 2, as the CLI's.
const refuse = (e: ConfigError): never => {
  console.error(`configuration error: ${e.message}`);
  process.exit(2);
};
const scorer = values.scorer === 'learned' || values.scorer === 'heuristic' ? values.scorer : refuse(new ConfigError('--scorer', `got ${values.scorer}`, 'learned or heuristic'));
const whole = (key: 'users' | 'seed' | 'history-days', min: number): number => {
  const n = Number(values[key]);
  return Number.isInteger(n) && n >= min ? n : refuse(new ConfigError(`--${key}`, `got ${values[key]}`, `an integer ≥ ${min}`));
};
const run = await runDemo({ users: whole('users', 10), partitions: 4, seed: whole('seed', 0), hours: 12, historyDays: whole('history-days', 0), scorer });

console.log(`${values.users} users, seed ${values.seed}, ${values['history-days']} days of history, ${scorer} scorer; expected values under the simulator's truth, per 1,000 messages`);
console.log(`${'users offered'.padEnd(16)} ${'policy'.padEnd(28)} ${'messages'.padStart(8)} ${'clicks/1k'.padStart(10)} ${'opt-outs/1k'.padStart(12)}`);
for (const { offered, nudge, ownBestHour } of ownBestSplit(run)) {
  for (const q of [nudge, ownBestHour]) {
    console.log(`${offered.padEnd(16)} ${q.policy.padEnd(28)} ${String(q.sends).padStart(8)} ${q.clicksPer1000.toFixed(1).padStart(10)} ${q.optOutsPer1000.toFixed(2).padStart(12)}`);
  }
}
