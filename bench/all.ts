import { errorMessage } from '../errors/index.js';
import { runCampaignBench } from './campaign.js';
import { runDecisionsBench } from './decisions.js';
import { runEligibilityApiBench } from './eligibility-api.js';
import { runEligibilityEmbeddedBench } from './eligibility-embedded.js';
import { runIngestBench } from './ingest.js';
import { collectGarbage, throwIfAborted } from './measure.js';
import { runRecoveryBench } from './recovery.js';
import { fmtSec } from './report.js';
import { runRestoreBench } from './restore.js';
import { runRuntimeBench } from './runtime.js';
import { runSendPathBench } from './send-path.js';
import { runStreamsPeerBench } from './streams-peer-scenario.js';
import { writeSummary } from './summary.js';

export interface AllBenchOptions {
  out: string;
  /** Tiny sizes: checks that every scenario runs, in a few minutes; figures not worth committing. */
  quick: boolean;
  /** Only these scenarios (by name); all when empty. */
  only: readonly string[];
  log: (s: string) => void;
  signal?: AbortSignal;
}

/**
 * Sizes for `bench all`, chosen so the whole run stays under about 25 minutes on a shared
 * 2-core machine (each scenario's own command takes larger sizes for deeper runs; the
 * sections say which sizes they ran at).
 */
const SIZES = {
  full: { events: 200_000, users: 20_000, ingestEvents: 100_000, decisionUsers: 200_000, decisionCandidates: 20_000, candidates: 200_000, population: 200_000, restoreUsers: 200_000, recoveryEvents: 200_000, rate: 2000, seconds: 20, sends: 20_000 },
  quick: { events: 10_000, users: 2_000, ingestEvents: 5_000, decisionUsers: 5_000, decisionCandidates: 1_000, candidates: 3_000, population: 5_000, restoreUsers: 10_000, recoveryEvents: 20_000, rate: 500, seconds: 5, sends: 2_000 },
} as const;

export const ALL_SCENARIOS = ['runtime', 'streams-peer', 'ingest', 'campaign', 'decisions', 'recovery', 'restore', 'eligibility-api', 'send-path'] as const;

/**
 * Runs every scenario in turn, each writing its own section and JSON, then the summary at
 * the top of RESULTS.md. A scenario that fails is reported and the others still run: one
 * flaky broker start should not cost the other twenty minutes.
 */
export async function runAllBench(opts: AllBenchOptions): Promise<{ failures: string[]; wholeRunMs: number }> {
  const s = opts.quick ? SIZES.quick : SIZES.full;
  const common = { out: opts.out, log: opts.log, ...(opts.signal ? { signal: opts.signal } : {}) };
  const steps: Array<[name: (typeof ALL_SCENARIOS)[number], run: () => Promise<unknown>]> = [
    ['runtime', () => runRuntimeBench({ ...common, events: s.events, users: s.users, partitions: 4 })],
    ['streams-peer', () => runStreamsPeerBench({ out: opts.out, log: opts.log, events: s.events, partitions: 4 })],
    ['ingest', async () => {
      await runIngestBench({ ...common, events: s.ingestEvents, users: s.users, partitions: 4 });
      await runIngestBench({ ...common, events: s.ingestEvents, users: s.users, partitions: 4, workload: 'activity' });
    }],
    ['campaign', () => runCampaignBench({ ...common, candidates: s.candidates, campaigns: 4, users: s.population, partitions: 4 })],
    ['decisions', () => runDecisionsBench({ ...common, users: s.decisionUsers, candidates: s.decisionCandidates, activeShare: 0.1, eventsPerActive: 8 })],
    ['recovery', () => runRecoveryBench({ ...common, events: s.recoveryEvents, users: s.users, partitions: 4, killAt: 0.5 })],
    ['restore', () => runRestoreBench({ ...common, users: s.restoreUsers })],
    ['eligibility-api', async () => {
      await runEligibilityApiBench({ ...common, rate: s.rate, seconds: s.seconds, users: s.users });
      await runEligibilityEmbeddedBench({ ...common, rate: s.rate, seconds: s.seconds, users: s.users });
    }],
    ['send-path', () => runSendPathBench({ ...common, sends: s.sends, latencyMs: 50, partitions: 4 })],
  ];
  const failures: string[] = [];
  const t0 = performance.now();
  for (const [name, run] of steps) {
    if (opts.only.length > 0 && !opts.only.includes(name)) continue;
    throwIfAborted(opts.signal);
    const s0 = performance.now();
    opts.log(`\n=== ${name} ===`);
    try {
      await run();
      opts.log(`=== ${name}: done in ${fmtSec(performance.now() - s0)} ===`);
    } catch (err) {
      if (opts.signal?.aborted === true) throw err;
      failures.push(`${name}: ${errorMessage(err).split('\n')[0] ?? ''}`);
      opts.log(`=== ${name}: FAILED after ${fmtSec(performance.now() - s0)}: ${errorMessage(err)} ===`);
    }
    collectGarbage();
  }
  const wholeRunMs = performance.now() - t0;
  const file = await writeSummary(opts.out, { wholeRunMs, failures });
  opts.log(`wrote the summary in ${file}`);
  return { failures, wholeRunMs };
}
