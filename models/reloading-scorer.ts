import type { Scorer, Scores } from '../operators/decisions/scorer.js';
import { latestVersion } from './registry.js';
import { TfjsScorer, type TfjsScorerOptions } from './tfjs-scorer.js';

export interface ReloadOptions extends TfjsScorerOptions {
  /** Score this many calls with a new version in the shadow (logging the difference) before serving it; 0 swaps at once. */
  shadowCalls?: number;
  onSwap?: (from: string, to: string) => void;
  onShadow?: (report: { serving: string; shadow: string; rows: number; meanAbsDiff: Record<keyof Scores, number> }) => void;
  onError?: (err: unknown) => void;
}

/**
 * Serves the registry's latest version and picks up a newer one without a restart. A new
 * version can first run in the shadow: scored on the same rows, its differences reported,
 * its answers unused until promoted. The old model is disposed once no call uses it.
 */
export class ReloadingScorer implements Scorer {
  /** A predict call costs ~280 µs however few its rows (models/BATCH-SIZE.md). */
  readonly prefersBatches = true;
  readonly #registry: string;
  readonly #opts: ReloadOptions;
  #current: TfjsScorer;
  #currentVersion: string;
  #shadow: { scorer: TfjsScorer; version: string; calls: number } | undefined;
  #inFlight = new Map<TfjsScorer, number>();
  #retired: TfjsScorer[] = [];
  #timer: NodeJS.Timeout | undefined;

  private constructor(registry: string, current: TfjsScorer, version: string, opts: ReloadOptions) {
    this.#registry = registry;
    this.#current = current;
    this.#currentVersion = version;
    this.#opts = opts;
  }

  static async open(registry: string, opts: ReloadOptions = {}): Promise<{ scorer: ReloadingScorer; backend: string }> {
    const version = await latestVersion(registry);
    if (version === undefined) throw new Error(`model registry ${registry} is empty`);
    const { scorer, backend } = await TfjsScorer.fromRegistry(registry, opts);
    return { scorer: new ReloadingScorer(registry, scorer, version, opts), backend };
  }

  get version(): string {
    return this.#current.version;
  }
  get featureVersion(): string {
    return this.#current.featureVersion;
  }
  get drift(): TfjsScorer['drift'] {
    return this.#current.drift;
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
    const serving = this.#current;
    this.#inFlight.set(serving, (this.#inFlight.get(serving) ?? 0) + 1);
    try {
      const scores = await serving.score(rows);
      const shadow = this.#shadow;
      if (shadow !== undefined && rows.length > 0) {
        const other = await shadow.scorer.score(rows);
        const diff = { click: 0, convert: 0, unsubscribe: 0 };
        for (let i = 0; i < scores.length; i++) {
          for (const k of ['click', 'convert', 'unsubscribe'] as const) diff[k] += Math.abs((scores[i] as Scores)[k] - (other[i] as Scores)[k]) / scores.length;
        }
        this.#opts.onShadow?.({ serving: this.#currentVersion, shadow: shadow.version, rows: rows.length, meanAbsDiff: diff });
        if (++shadow.calls >= (this.#opts.shadowCalls ?? 0)) this.#promote();
      }
      return scores;
    } finally {
      this.#inFlight.set(serving, (this.#inFlight.get(serving) ?? 1) - 1);
      this.#dispose();
    }
  }

  /** Looks for a newer version; loads it into the shadow, or serves it at once. Returns whether one was found. */
  async check(): Promise<boolean> {
    const latest = await latestVersion(this.#registry);
    if (latest === undefined || latest === this.#currentVersion || latest === this.#shadow?.version) return false;
    const { scorer } = await TfjsScorer.fromRegistry(this.#registry, this.#opts);
    if (this.#shadow !== undefined) this.#retired.push(this.#shadow.scorer);
    this.#shadow = { scorer, version: latest, calls: 0 };
    if ((this.#opts.shadowCalls ?? 0) === 0) this.#promote();
    return true;
  }

  /** Checks the registry every `ms`; errors (a half-written version, a bad file) are reported and retried. */
  watch(ms: number): void {
    this.#timer = setInterval(() => {
      this.check().catch((err: unknown) => this.#opts.onError?.(err));
    }, ms);
    this.#timer.unref();
  }

  dispose(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#current.dispose();
    this.#shadow?.scorer.dispose();
    for (const r of this.#retired) r.dispose();
    this.#retired = [];
  }

  #promote(): void {
    const next = this.#shadow;
    if (next === undefined) return;
    this.#shadow = undefined;
    const from = this.#currentVersion;
    this.#retired.push(this.#current);
    this.#current = next.scorer;
    this.#currentVersion = next.version;
    this.#opts.onSwap?.(from, next.version);
    this.#dispose();
  }

  #dispose(): void {
    // A retired model may still be in a call that started before the swap.
    this.#retired = this.#retired.filter((s) => {
      if ((this.#inFlight.get(s) ?? 0) > 0) return true;
      s.dispose();
      this.#inFlight.delete(s);
      return false;
    });
  }
}
