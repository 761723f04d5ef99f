/** Faults a fake provider can be told to inject, from a test or over its control API. */
export interface Faults {
  /** Added before every send is answered. */
  latencyMs: number;
  /** Uniform extra latency in [0, jitterMs). */
  jitterMs: number;
  /** Answer the provider's own 429 above this many sends per second (token bucket, 100 ms of burst). */
  maxPerSecond: number | null;
  /** Share of sends answered with an injected error class (the fake's `errors` names). */
  errorRates: Record<string, number>;
  /** Share of sends never answered (the client's timeout fires): an ambiguous failure. */
  hangRate: number;
  /** `refuse`: the port is closed (connection refused); `unavailable`: every send gets the provider's 503. */
  outage: 'refuse' | 'unavailable' | null;
}

export const NO_FAULTS: Faults = { latencyMs: 0, jitterMs: 0, maxPerSecond: null, errorRates: {}, hangRate: 0, outage: null };

/** Validates a partial fault set from the control API, naming the bad key. */
export function parseFaults(input: unknown, errorClasses: readonly string[]): Partial<Faults> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TypeError('faults must be a JSON object');
  const o = input as Record<string, unknown>;
  const out: Partial<Faults> = {};
  const num = (k: string, min: number, max: number): number | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !(v >= min && v <= max)) throw new TypeError(`${k} must be a number in [${min}, ${max}]`);
    return v;
  };
  for (const k of Object.keys(o)) if (!(k in NO_FAULTS)) throw new TypeError(`unknown fault ${k}; known: ${Object.keys(NO_FAULTS).join(', ')}`);
  const latencyMs = num('latencyMs', 0, 600_000);
  if (latencyMs !== undefined) out.latencyMs = latencyMs;
  const jitterMs = num('jitterMs', 0, 600_000);
  if (jitterMs !== undefined) out.jitterMs = jitterMs;
  const hangRate = num('hangRate', 0, 1);
  if (hangRate !== undefined) out.hangRate = hangRate;
  if (o['maxPerSecond'] !== undefined) out.maxPerSecond = o['maxPerSecond'] === null ? null : (num('maxPerSecond', 0.001, 1e9) as number);
  if (o['outage'] !== undefined) {
    if (o['outage'] !== null && o['outage'] !== 'refuse' && o['outage'] !== 'unavailable') throw new TypeError('outage must be "refuse", "unavailable" or null');
    out.outage = o['outage'];
  }
  if (o['errorRates'] !== undefined) {
    const r = o['errorRates'];
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new TypeError('errorRates must be an object');
    const rates: Record<string, number> = {};
    for (const [cls, v] of Object.entries(r as Record<string, unknown>)) {
      if (!errorClasses.includes(cls)) throw new TypeError(`unknown error class ${cls}; known: ${errorClasses.join(', ')}`);
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new TypeError(`errorRates.${cls} must be in [0, 1]`);
      rates[cls] = v;
    }
    out.errorRates = rates;
  }
  return out;
}

/** The fake's throughput cap: a token bucket like real providers' rate limiters, on the real clock. */
export class Throughput {
  #tokens: number;
  #last: number;
  constructor(
    readonly perSecond: number,
    now: number,
  ) {
    this.#tokens = this.#burst;
    this.#last = now;
  }

  get #burst(): number {
    return Math.max(1, this.perSecond / 10);
  }

  admit(now: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.perSecond) / 1000);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
