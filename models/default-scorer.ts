/**
 * The scorer a topology gets when its caller passes none (the embedded demo, benchmarks): the
 * config's models.scorer, loaded synchronously into the forward pass. 'learned' takes the
 * latest version of models.registryDir, or the shipped default model when that is empty; a
 * registry with no usable model falls back to the heuristic scorer rather than stopping.
 */
import type { NudgeConfig } from '../config/schema.js';
import type { Scorer } from '../operators/decisions/scorer.js';
import { forwardPassScorerSync, SHIPPED_REGISTRY } from './shipped-model.js';

export function defaultScorer(config: NudgeConfig, heuristic: () => Scorer): Scorer {
  if (config.models.scorer === 'heuristic') return heuristic();
  const registry = config.models.registryDir !== '' ? config.models.registryDir : SHIPPED_REGISTRY;
  try {
    return forwardPassScorerSync(registry) ?? heuristic();
  } catch {
    // A damaged or foreign-feature model must not stop the partition (invariant 6); the heuristics serve.
    return heuristic();
  }
}
