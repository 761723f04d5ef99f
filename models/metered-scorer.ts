import type { Histogram } from 'prom-client';
import type { Scorer, Scores } from '../operators/decisions/scorer.js';

/**
 * Exports every scoring call's row count and duration (nudge_scoring_batch_size,
 * nudge_scoring_seconds). Outside the operators, which never read a clock.
 */
export class MeteredScorer implements Scorer {
  readonly #inner: Scorer;
  readonly #batch: Histogram;
  readonly #seconds: Histogram;

  constructor(inner: Scorer, metrics: { scoringBatch: Histogram; scoringSeconds: Histogram }) {
    this.#inner = inner;
    this.#batch = metrics.scoringBatch;
    this.#seconds = metrics.scoringSeconds;
  }

  get version(): string {
    return this.#inner.version;
  }

  get featureVersion(): string {
    return this.#inner.featureVersion;
  }

  get prefersBatches(): boolean {
    return this.#inner.prefersBatches === true;
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
    const started = performance.now();
    const scores = await this.#inner.score(rows);
    this.#batch.observe(rows.length);
    this.#seconds.observe((performance.now() - started) / 1000);
    return scores;
  }
}
