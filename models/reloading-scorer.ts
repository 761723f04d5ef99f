import { join } from 'node:path';
import { ErrorCodes, isNudgeError, NudgeError } from '../errors/index.js';
import type { Scorer, Scores } from '../operators/decisions/scorer.js';
import type { BackendName } from './backend.js';
import { latestVersion, versions } from './registry.js';
import { TfjsScorer, type TfjsScorerOptions } from './tfjs-scorer.js';

export interface ReloadOptions extends TfjsScorerOptions {
  /** Score this many calls with a new version in the shadow (logging the difference) before serving it; 0 swaps at once. */
  shadowCalls?: number;
  onSwap?: (from: string, to: string) => void;
  onShadow?: (report: { serving: string; shadow: string; rows: number; meanAbsDiff: Record<keyof Scores, number> }) => void;
  onError?: (err: unknown) => void;
  /**
   * Served while the registry holds no version this build can serve (every one was trained on
   * other features, e.g. before an upgrade changed FEATURE_SPEC), until one appears. Without it,
   * open() throws NUDGE_ERR_MODEL_INCOMPATIBLE in that case.
   */
  fallback?: Scorer;
  /** A version was passed over because this build cannot serve it; reported once per version. */
  onRefused?: (version: string, reason: string) => void;
}

/** What is being served: a registry version, or the fallback. */
type Served = Scorer & { dispose(): void; readonly drift?: TfjsScorer['drift'] };

function served(fallback: Scorer): Served {
  return { version: fallback.version, featureVersion: fallback.featureVersion, score: (rows) => fallback.score(rows), dispose: () => undefined };
}

/**
 * Serves the registry's latest version and picks up a newer one without a restart. A new
 * version can first run in the shadow: scored on the same rows, its differences reported,
 * its answers unused until promoted. The old model is disposed once no call uses it.
 * A version trained on other features than this build's is passed over for the newest one
 * that fits, or the fallback: an upgrade that changes the features must not stop a replica.
 */
export class ReloadingScorer implements Scorer {
  /** A predict call costs ~280 µs however few its rows (models/BATCH-SIZE.md). */
  readonly prefersBatches = true;
  readonly #registry: string;
  readonly #opts: ReloadOptions;
  #current: Served;
  /** The registry version served; undefined while the fallback is. */
  #currentVersion: string | undefined;
  readonly #refused = new Set<string>();
  #shadow: { scorer: TfjsScorer; version: string; calls: number } | undefined;
  #inFlight = new Map<Served, number>();
  #retired: Served[] = [];
  #timer: NodeJS.Timeout | undefined;

  private constructor(registry: string, current: Served, version: string | undefined, opts: ReloadOptions) {
    this.#registry = registry;
    this.#current = current;
    this.#currentVersion = version;
    this.#opts = opts;
  }

  /** `backend` is undefined when the fallback is served. */
  static async open(registry: string, opts: ReloadOptions = {}): Promise<{ scorer: ReloadingScorer; backend: BackendName | undefined }> {
    if ((await latestVersion(registry)) === undefined) throw new Error(`model registry ${registry} is empty`);
    const refused = new Set<string>();
    const found = await newestServable(registry, opts, undefined, refused);
    let reloading: ReloadingScorer;
    if (found !== undefined) reloading = new ReloadingScorer(registry, found.scorer, found.version, opts);
    else if (opts.fallback !== undefined) reloading = new ReloadingScorer(registry, served(opts.fallback), undefined, opts);
    else throw new NudgeError(ErrorCodes.MODEL_INCOMPATIBLE, `no version in model registry ${registry} fits this build's features (${[...refused].join(', ')})`);
    for (const v of refused) reloading.#refused.add(v);
    return { scorer: reloading, backend: found?.backend };
  }

  /** The registry version being served, or undefined while the fallback is. */
  get servingVersion(): string | undefined {
    return this.#currentVersion;
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
        this.#opts.onShadow?.({ serving: this.#currentVersion ?? serving.version, shadow: shadow.version, rows: rows.length, meanAbsDiff: diff });
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
    // A refused latest does not end the look: a version under it, newer than the one served, may fit.
    if (latest === undefined || latest === this.#currentVersion || latest === this.#shadow?.version) return false;
    const found = await newestServable(this.#registry, this.#opts, this.#shadow?.version ?? this.#currentVersion, this.#refused);
    if (found === undefined) return false;
    const { scorer, version } = found;
    if (this.#shadow !== undefined) this.#retired.push(this.#shadow.scorer);
    this.#shadow = { scorer, version, calls: 0 };
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
    const from = this.#currentVersion ?? this.#current.version;
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

/**
 * The newest registry version after `after` that this build can serve, loaded; undefined when
 * there is none. Versions trained on other features are added to `refused` (and reported once),
 * so that they are not loaded again; any other failure (a half-written version) is thrown.
 */
async function newestServable(registry: string, opts: ReloadOptions, after: string | undefined, refused: Set<string>): Promise<{ scorer: TfjsScorer; version: string; backend: BackendName } | undefined> {
  const all = await versions(registry);
  for (let i = all.length - 1; i >= 0; i--) {
    const version = all[i] as string;
    if (after !== undefined && version <= after) return undefined;
    if (refused.has(version)) continue;
    try {
      const { scorer, backend } = await TfjsScorer.fromDir(join(registry, version), opts);
      return { scorer, version, backend };
    } catch (err) {
      if (!isNudgeError(err) || err.code !== ErrorCodes.MODEL_INCOMPATIBLE) throw err;
      refused.add(version);
      opts.onRefused?.(version, err.message);
    }
  }
  return undefined;
}
