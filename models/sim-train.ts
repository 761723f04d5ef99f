/**
 * Models trained on a simulated decision log and judged on a later, held-out period against the
 * simulator's truth: what the shipped default model is made with (scripts/train-default.ts).
 *
 * The campaign days split into burn-in (users' message history, and so their fatigue, is still
 * building up: a different regime, left out of training), training, and held-out days. The model
 * is trained as of the first held-out decision, when the last training days' conversions are
 * still arriving (FNW handles them), and evaluated on the held-out messages, whose outcomes are
 * all final because the simulation runs on past the label windows.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { ForwardPassScorer } from './forward-pass.js';
import { loadModel } from './registry.js';
import { simulateDataset, type SimDataset } from './sim-dataset.js';
import { evaluateAgainstTruth, offPolicyCheck, type OffPolicyCheck, type TruthEvaluation } from './sim-evaluation.js';
import { trainModels, type TrainResult } from './train.js';

export interface SimTrainOptions {
  users: number;
  seed: number;
  registryDir: string;
  /** Campaign days in all (burn-in + training + held-out). Default 21. */
  days?: number;
  burnInDays?: number;
  heldOutDays?: number;
  historyDays?: number;
  /** Partitions of the simulated pipeline. Default 1. */
  partitions?: number;
  hidden?: readonly number[];
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface SimTrainReport {
  simulation: { users: number; seed: number; days: number; burnInDays: number; heldOutDays: number; historyDays: number; partitions: number; explore: number; stats: SimDataset['stats'] };
  version: string;
  trainedAsOf: string;
  trainingSince: string;
  /** The trained model on the held-out days, against the truth. */
  heldOut: TruthEvaluation;
  /** The heuristic scorer on the same messages, for comparison. */
  heuristic: TruthEvaluation;
  /** IPS / SNIPS of "everyone gets the model arm" on the last day, against its true value. */
  offPolicy: OffPolicyCheck;
  /** Per campaign day: messages sent and their mean true probabilities (how stationary the world is). */
  byDay: Array<{ day: number; sends: number; click: number; convert: number; unsubscribe: number }>;
}

export async function trainOnSimulation(o: SimTrainOptions): Promise<{ result: TrainResult; report: SimTrainReport; dataset: SimDataset }> {
  const days = o.days ?? 21;
  const burnInDays = o.burnInDays ?? 5;
  const heldOutDays = o.heldOutDays ?? 5;
  const historyDays = o.historyDays ?? 3;
  const explore = 0.2;
  if (days - burnInDays - heldOutDays < 1) throw new RangeError(`days (${days}) must exceed burnInDays + heldOutDays (${burnInDays + heldOutDays})`);
  const log = o.log ?? (() => undefined);
  const dataset = await simulateDataset({ users: o.users, seed: o.seed, days, historyDays, explore, counterfactualArms: { model: 1 }, partitions: o.partitions ?? 1, log });
  log('simulated', dataset.stats);
  const asOf = dataset.decideAt[days - heldOutDays] as number;
  const since = dataset.decideAt[burnInDays] as number;
  const result = await trainModels({
    decisions: dataset.decisions.filter((d) => d.ts < asOf),
    events: dataset.events.filter((e) => e.ts <= asOf),
    registryDir: o.registryDir,
    asOf,
    since,
    seed: o.seed,
    ...(o.hidden !== undefined ? { hidden: o.hidden } : {}),
    countryOf: (id) => dataset.userOf(id).country,
    log,
  });
  const model = await loadModel(result.dir);
  model.model.dispose();
  const scorer = new ForwardPassScorer(model.weights, result.version);
  const report: SimTrainReport = {
    simulation: { users: o.users, seed: o.seed, days, burnInDays, heldOutDays, historyDays, partitions: o.partitions ?? 1, explore, stats: dataset.stats },
    version: result.version,
    trainedAsOf: new Date(asOf).toISOString(),
    trainingSince: new Date(since).toISOString(),
    heldOut: await evaluateAgainstTruth(scorer, dataset, asOf, dataset.end),
    heuristic: await evaluateAgainstTruth(new HeuristicScorer(), dataset, asOf, dataset.end),
    offPolicy: offPolicyCheck(dataset, { seed: o.seed }),
    byDay: byDay(dataset),
  };
  return { result, report, dataset };
}

function byDay(ds: SimDataset): SimTrainReport['byDay'] {
  const days = ds.decideAt.map((_, day) => ({ day, sends: 0, click: 0, convert: 0, unsubscribe: 0 }));
  for (const s of ds.sends) {
    const d = days[Math.floor((s.message.at - ds.start) / 86_400_000)];
    if (d === undefined) continue;
    d.sends++;
    d.click += s.p.click;
    d.convert += s.p.convert;
    d.unsubscribe += s.p.unsubscribe;
  }
  for (const d of days) for (const h of ['click', 'convert', 'unsubscribe'] as const) d[h] = d.sends > 0 ? d[h] / d.sends : 0;
  return days;
}

/** Removes every version but `keep` from a registry (the shipped default holds one). */
export async function pruneRegistry(registryDir: string, keep: string, names: readonly string[]): Promise<void> {
  for (const name of names) if (name !== keep && !name.startsWith('.') && /^\d{8}T\d{6}Z-/.test(name)) await rm(join(registryDir, name), { recursive: true, force: true });
}
