/**
 * `evaluateModelOnLog`: judges a registry model against a decision log whose labels have
 * arrived since (what `nudge eval` needs): the model's calibrated scores on every message with
 * final labels, the scores actually served per model version, and feature drift of the log's
 * vectors against the model's training baseline.
 */
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { FEATURE_COUNT, FEATURE_SPEC } from '../operators/decisions/feature-vector.js';
import type { Channel } from '../operators/decisions/types.js';
import { initBackend } from './backend.js';
import { DriftAccumulator, type FeatureDrift } from './drift.js';
import { evaluateLoggedScores, evaluateRows, finalLabels, type EvalRow, type HeadsEvaluation } from './evaluate.js';
import { items, type ReadStats, type Source } from './jsonl.js';
import { attachOutcomes, collectMessages, toDecisionRecord, toOutcomeEvent, type LabelWindows, type OutcomeEvent } from './labels.js';
import { loadModel } from './registry.js';
import { TfjsScorer } from './tfjs-scorer.js';

export interface EvaluateLogOptions {
  /** A registry version directory. */
  modelDir: string;
  decisions: Source<DecisionRecord>;
  events: Source<OutcomeEvent>;
  /** Evaluation time: labels final by then count. */
  asOf: number;
  /** Only messages sent at or after this (default: the model's training asOf, so its own training data is not re-scored). */
  since?: number;
  windows?: Partial<LabelWindows>;
  countryOf?: (userId: string) => string | undefined;
  optOutChannel?: (e: OutcomeEvent) => Channel | undefined;
}

export interface LogEvaluation {
  modelVersion: string;
  since: number;
  asOf: number;
  messages: number;
  /** The evaluated model's scores now, against final labels. */
  model: HeadsEvaluation;
  /** The scores that were served at decision time, per logged modelVersion. */
  served: Record<string, HeadsEvaluation>;
  /** PSI per feature of the evaluated messages against the model's training baseline. */
  drift: FeatureDrift[];
  decisionsRead: ReadStats;
  eventsRead: ReadStats;
}

export async function evaluateModelOnLog(opts: EvaluateLogOptions): Promise<LogEvaluation> {
  const decisionsRead: ReadStats = { read: 0, invalid: 0 };
  const eventsRead: ReadStats = { read: 0, invalid: 0 };
  const { messages } = await collectMessages(items(opts.decisions, toDecisionRecord, decisionsRead), FEATURE_SPEC.version, FEATURE_COUNT);
  const events = (async function* () {
    for await (const e of items(opts.events, (raw) => toOutcomeEvent(raw) ?? null, eventsRead)) if (e !== null) yield e;
  })();
  const { labeled } = await attachOutcomes(messages, events, {
    asOf: opts.asOf,
    ...(opts.windows !== undefined ? { windows: opts.windows } : {}),
    ...(opts.optOutChannel !== undefined ? { optOutChannel: opts.optOutChannel } : {}),
  });
  // The backend first: the model's tensors are created on whichever backend is current.
  await initBackend();
  const loaded = await loadModel<unknown, { asOf?: unknown }>(opts.modelDir);
  let scorer: TfjsScorer;
  try {
    scorer = new TfjsScorer(loaded, { driftSampleEvery: 0 });
  } catch (err) {
    loaded.model.dispose();
    throw err;
  }
  try {
    const trainedAsOf = typeof loaded.trainingData.asOf === 'number' ? loaded.trainingData.asOf : undefined;
    const since = opts.since ?? trainedAsOf ?? -Infinity;
    const inScope = labeled.filter((m) => m.sentAt >= since && Object.keys(finalLabels(m, opts.asOf)).length > 0);
    const scores = await scorer.score(inScope.map((m) => m.features));
    const drift = new DriftAccumulator(loaded.driftBaseline);
    const rows: EvalRow[] = inScope.map((m, i) => {
      drift.add(m.features);
      const s = scores[i] as EvalRow['p'];
      return { p: s, y: finalLabels(m, opts.asOf), groups: { channel: m.channel, country: opts.countryOf?.(m.userId) } };
    });
    const groupsOf = (m: (typeof inScope)[number]) => ({ channel: m.channel, country: opts.countryOf?.(m.userId) });
    return {
      modelVersion: scorer.version,
      since,
      asOf: opts.asOf,
      messages: inScope.length,
      model: evaluateRows(rows),
      served: evaluateLoggedScores(inScope, opts.asOf, groupsOf),
      drift: drift.snapshot(),
      decisionsRead,
      eventsRead,
    };
  } finally {
    scorer.dispose();
  }
}
