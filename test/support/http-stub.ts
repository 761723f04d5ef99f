import type { DashboardSnapshot, EligibilityAnswer, EligibilityRequest, LiveEvent, ReplicaApi, UserView } from '../../http/replica-api.js';

/**
 * A ReplicaApi that records every call and answers from fields the test sets. The HTTP
 * layer is what is under test, so the stub holds no logic beyond what a test asks of it.
 */
export class StubReplicaApi implements ReplicaApi {
  readonly id = 'stub-replica';
  isAlive = true;
  isReady = true;
  metricsText = '# HELP nudge_records_in_total Input records read\n# TYPE nudge_records_in_total counter\nnudge_records_in_total{topic="events",partition="0"} 42\n';
  users = new Map<string, UserView>();
  /** When set, the next calls of that kind throw it (an ApiError, or anything). */
  failWith: { eligibility?: unknown; user?: unknown; receipts?: unknown; metrics?: unknown; snapshot?: unknown } = {};
  /** Delay before answering eligibility, to test aborts and timeouts. */
  eligibilityDelayMs = 0;

  readonly calls = {
    eligibility: [] as EligibilityRequest[],
    user: [] as string[],
    /** The `forwarded` argument of each eligibility and user call, in order. */
    forwarded: [] as boolean[],
    receipts: [] as Array<Record<string, unknown>>,
    metrics: 0,
    snapshot: 0,
  };

  snap: DashboardSnapshot = {
    replica: 'stub-replica',
    ready: true,
    partitions: [
      { partition: 0, ready: true, lag: 12, restoring: false },
      { partition: 1, ready: false, lag: 4_200, restoring: true },
    ],
    decisionsPerSecond: { send: 120, schedule: 40, skip: 300, holdout: 6 },
    reasons: { quiet_hours: 80, cap_global: 50, low_value: 120, no_consent: 30 },
    sendsByProvider: { 'gupshup-in': { sent: 900, failed: 12, delivered: 800 }, fcm: { sent: 400, retrying: 3 } },
    campaigns: [
      { campaignId: 'c7', windowStart: Date.now() - 3_600_000, windowEnd: Date.now() + 3_600_000, decided: 10_000, sent: 4_000, budgetSends: 20_000 },
      { campaignId: 'c8', windowStart: Date.now() - 600_000, windowEnd: Date.now() + 6_000_000, decided: 500, sent: 100, budgetSends: null },
    ],
  };

  readonly #listeners = new Set<(event: LiveEvent) => void>();

  get subscribers(): number {
    return this.#listeners.size;
  }

  alive(): boolean {
    return this.isAlive;
  }

  ready(): boolean {
    return this.isReady;
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    this.calls.metrics++;
    if (this.failWith.metrics !== undefined) throw this.failWith.metrics;
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: this.metricsText };
  }

  async eligibility(request: EligibilityRequest, forwarded?: boolean): Promise<EligibilityAnswer> {
    this.calls.eligibility.push(request);
    this.calls.forwarded.push(forwarded === true);
    if (this.eligibilityDelayMs > 0) await new Promise((r) => setTimeout(r, this.eligibilityDelayMs));
    if (this.failWith.eligibility !== undefined) throw this.failWith.eligibility;
    return {
      eligible: true,
      action: 'send',
      reasons: [],
      sendAt: null,
      channel: 'sms',
      scores: { click: 0.04, convert: 0.006, unsubscribe: 0.001, ev: 1.1 },
      answeredBy: this.id,
    };
  }

  async user(userId: string, forwarded?: boolean): Promise<UserView | undefined> {
    this.calls.user.push(userId);
    this.calls.forwarded.push(forwarded === true);
    if (this.failWith.user !== undefined) throw this.failWith.user;
    return this.users.get(userId);
  }

  async receipts(records: ReadonlyArray<Record<string, unknown>>): Promise<number> {
    this.calls.receipts.push(...records);
    if (this.failWith.receipts !== undefined) throw this.failWith.receipts;
    return records.length;
  }

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): DashboardSnapshot {
    this.calls.snapshot++;
    if (this.failWith.snapshot !== undefined) throw this.failWith.snapshot;
    return this.snap;
  }

  /** Delivers an event to every subscriber, as the replica would. */
  emit(event: LiveEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
