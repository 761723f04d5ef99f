/**
 * What the decision operator asks of a model: probabilities for a batch of feature vectors.
 * The heuristic scorer and the TF.js scorer (models/) implement the same interface, so the
 * operator, the decision log and the simulator do not change when a trained model replaces
 * the heuristics. Batched because per-call overhead dominates small TF.js models.
 */

/** Probabilities, each in [0, 1], for one (user, campaign, channel, slot) row. */
export interface Scores {
  click: number;
  convert: number;
  unsubscribe: number;
}

export interface Scorer {
  /** Logged with every decision (invariant 7), so outcomes can be attributed to a model. */
  readonly version: string;
  /** The FEATURE_SPEC.version the rows must have been built with. */
  readonly featureVersion: string;
  /**
   * True when a call costs much more than a row (a TF.js predict): the decision operator
   * then scores a whole batch's rows in one call ahead of its decisions (batch-scoring.ts).
   * Left out for scorers that are as fast one row at a time (the heuristics, the forward pass).
   */
  readonly prefersBatches?: boolean;
  /** One Scores per row, in the same order. */
  score(rows: readonly Float32Array[]): Promise<Scores[]>;
}

/**
 * A scorer in front of another (prefetching, recording, metering): it serves that model, so
 * a decision it scores logs that model's versions.
 */
export abstract class ScorerWrapper implements Scorer {
  protected readonly inner: Scorer;

  constructor(inner: Scorer) {
    this.inner = inner;
  }

  get version(): string {
    return this.inner.version;
  }

  get featureVersion(): string {
    return this.inner.featureVersion;
  }

  abstract score(rows: readonly Float32Array[]): Promise<Scores[]>;
}
