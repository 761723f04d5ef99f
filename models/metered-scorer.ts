import type { Histogram } from 'prom-client';
import { ScorerWrapper, type Scorer, type Scores } from '../operators/decisions/scorer.js';

/**
 * Exports every scoring call's row count and duration (nudge_scoring_batch_size,
 * nudge_scoring_seconds). Outside the operators, which never read a clock.
 */
export class MeteredScorer extends ScorerWrapper {
  readonly #batch: Histogram;
  readonly #seconds: Histogram;

  constructor(inner: Scorer, metrics: { scoringBatch: Histogram; scoringSeconds: Histogram }) {
    super(inner);
    this.#batch = metrics.scoringBatch;
    this.#seconds = metrics.scoringSeconds;
  }

  get prefersBatches(): boolean {
    return this.inner.prefersBatches === true;
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
    const started = performance.now();
    const scores = await this.inner.score(rows);
    this.#batch.observe(rows.length);
    this.#seconds.observe((performance.now() - started) / 1000);
    return scores;
  }
}
