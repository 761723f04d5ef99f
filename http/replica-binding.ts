import { request } from 'undici';
import { decodeRecord } from '../processor/decode.js';
import { deadLetter } from '../processor/dead-letter.js';
import { partitionFor } from '../processor/partitioner.js';
import type { Campaign } from '../processor/messages/index.js';
import type { Replica } from '../processor/replica.js';
import type { BatchResult } from '../processor/partition-task.js';
import type { Directory } from '../processor/kafka/directory.js';
import { ErrorCodes, isNudgeError, errorMessage } from '../errors/index.js';
import type { DecisionOperator } from '../operators/decisions/decision-operator.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { userIdFromSendId, type SendRecord } from '../operators/sinks/dispatcher.js';
import { round } from '../operators/decisions/decision-record.js';
import { ApiError, FORWARDED_HEADER as FORWARDED, type DashboardSnapshot, type EligibilityAnswer, type EligibilityRequest, type LiveEvent, type ReplicaApi, type UserView } from './replica-api.js';

/** What a dead letter keeps of a webhook receipt (they are small). */
const DEAD_LETTER_VALUE_BYTES = 4_096;

export interface BindingOptions {
  directory: Directory;
  /** Bearer token forwarded requests carry to the owner. */
  token: string | undefined;
  forwardTimeoutMs: number;
}


/** The HTTP API's view of a real replica: local answers from its partitions, others forwarded to their owner. */
export class ReplicaBinding implements ReplicaApi {
  readonly #replica: Replica;
  readonly #opts: BindingOptions;
  readonly #listeners = new Set<(e: LiveEvent) => void>();
  readonly #stats = new LiveStats();

  constructor(replica: Replica, opts: BindingOptions) {
    this.#replica = replica;
    this.#opts = opts;
    replica.on('commit', (result: BatchResult) => this.#committed(result));
  }

  get id(): string {
    return this.#replica.id;
  }
  alive(): boolean {
    return this.#replica.phase !== 'stopped';
  }
  ready(): boolean {
    return this.#replica.ready;
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    const registry = this.#replica.metrics.registry;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  async eligibility(req: EligibilityRequest, forwarded = false): Promise<EligibilityAnswer> {
    if (typeof req.userId !== 'string' || req.userId === '') throw new ApiError(400, 'NUDGE_ERR_MISSING_FIELD', 'userId is required');
    const campaign = this.#campaign(req);
    const partition = this.#partitionOf(req.userId);
    const task = this.#replica.tasks.get(partition);
    if (task === undefined) {
      if (forwarded) throw new ApiError(503, 'NUDGE_ERR_NOT_OWNER', `partition ${partition} is not on this replica (it is moving)`);
      return this.#forward<EligibilityAnswer>('POST', '/v1/eligibility', partition, JSON.stringify(req));
    }
    const q = task.query<DecisionOperator>('decisions');
    if (q === undefined) throw new ApiError(501, 'NUDGE_ERR_NO_DECISIONS', 'this replica does not run the decision topology');
    const { action, plan } = await q.operator.evaluate(req.userId, campaign, q.ctx);
    return {
      eligible: action === 'send' || action === 'schedule',
      action,
      reasons: plan.reasons,
      sendAt: plan.sendAt ?? null,
      channel: plan.channel ?? null,
      scores: plan.scores === undefined ? null : { click: round(plan.scores.click), convert: round(plan.scores.convert), unsubscribe: round(plan.scores.unsubscribe), ev: round(plan.scores.ev, 4) },
      answeredBy: this.#replica.id,
    };
  }

  async user(userId: string, forwarded = false): Promise<UserView | undefined> {
    const partition = this.#partitionOf(userId);
    const task = this.#replica.tasks.get(partition);
    if (task === undefined) {
      if (forwarded) throw new ApiError(503, 'NUDGE_ERR_NOT_OWNER', `partition ${partition} is not on this replica`);
      return this.#forward<UserView>('GET', `/v1/users/${encodeURIComponent(userId)}`, partition);
    }
    const q = task.query<DecisionOperator>('decisions');
    const state = q === undefined ? undefined : await q.operator.view(userId, q.ctx);
    if (state === undefined) return undefined;
    const p = state.profile;
    return {
      userId,
      partition,
      profile: p === undefined ? null : { ...(p.country ? { country: p.country } : {}), ...(p.timezone ? { timezone: p.timezone } : {}), ...(p.language ? { language: p.language } : {}), hasPhone: typeof p.phone === 'string' && p.phone !== '', pushTokens: p.pushTokens.length, consent: p.consent, quietHours: p.quietHours ?? null },
      capsUsed: state.sent.map((m) => ({ t: m.t, channel: m.ch, kind: m.k })),
      pending: state.pending.map((x) => ({ decisionId: x.decisionId, campaignId: x.campaignId, at: x.t, channel: x.ch })),
      features: { at: state.features.at, counts: state.features.c, last: state.features.last, channels: state.features.ch },
    };
  }

  async receipts(records: ReadonlyArray<Record<string, unknown>>): Promise<number> {
    const engine = this.#replica.engine;
    if (engine === undefined) throw new ApiError(503, 'NUDGE_ERR_NOT_RUNNING', 'replica not started');
    const usable: Array<Record<string, unknown>> = [];
    const orphans: Array<Record<string, unknown>> = [];
    for (const r of records) {
      const userId = typeof r['userId'] === 'string' && r['userId'] !== '' ? r['userId'] : userIdFromSendId(String(r['sendId'] ?? ''));
      if (userId === undefined) orphans.push(r);
      else usable.push({ ...r, userId });
    }
    const topics = this.#replica.topics;
    if (usable.length > 0) {
      await engine.append(topics.input('receipts'), usable.map((r) => ({ key: r['userId'] as string, value: Buffer.from(JSON.stringify(r), 'utf8') })));
    }
    // A receipt that names no user (not a nudge sendId, no userId) cannot be keyed to a
    // partition. It is kept on the dead-letter topic with its reason, never dropped unseen.
    if (orphans.length > 0) {
      const now = Date.now();
      await engine.append(
        topics.output('deadletter'),
        orphans.map((r) => {
          const raw = Buffer.from(JSON.stringify(r), 'utf8');
          const letter = deadLetter(
            { topic: topics.input('receipts'), partition: -1, offset: -1, key: null, value: raw, headers: {}, timestamp: now },
            { code: ErrorCodes.MISSING_FIELD, message: 'receipt webhook: no userId and the sendId is not one of nudge', field: 'userId' },
            DEAD_LETTER_VALUE_BYTES,
            now,
          );
          return { key: '', value: Buffer.from(JSON.stringify(letter.value), 'utf8') };
        }),
      );
    }
    return usable.length;
  }

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): DashboardSnapshot {
    const r = this.#replica;
    const partitions = [...new Set([...r.tasks.keys(), ...r.restoring])].sort((a, b) => a - b);
    return {
      replica: r.id,
      ready: r.ready,
      partitions: partitions.map((p) => ({ partition: p, ready: r.tasks.has(p), lag: this.#stats.lag.get(p) ?? 0, restoring: r.restoring.has(p) })),
      decisionsPerSecond: this.#stats.rates(),
      reasons: Object.fromEntries(this.#stats.reasons),
      sendsByProvider: Object.fromEntries([...this.#stats.sends].map(([k, v]) => [k, Object.fromEntries(v)])),
      campaigns: [...r.campaigns.values()].map((c) => ({
        campaignId: c.campaignId,
        windowStart: c.window.start,
        windowEnd: c.window.end,
        decided: this.#stats.decided.get(c.campaignId) ?? 0,
        sent: this.#stats.sent.get(c.campaignId) ?? 0,
        budgetSends: c.budget?.maxSends ?? null,
      })),
    };
  }

  #campaign(req: EligibilityRequest): Campaign {
    if (req.campaign !== undefined) {
      // The same validation as the campaigns topic: a caller gets the field that is wrong.
      const raw = req.campaign as { campaignId?: unknown };
      try {
        const decoded = decodeRecord(
          'campaigns',
          { topic: 'http', partition: 0, offset: 0, key: Buffer.from(String(raw?.campaignId ?? ''), 'utf8'), value: Buffer.from(JSON.stringify(req.campaign), 'utf8'), headers: {}, timestamp: 0 },
          { maxRecordBytes: 1_000_000 },
        );
        return decoded.value as Campaign;
      } catch (err) {
        throw new ApiError(400, isNudgeError(err) ? err.code : 'NUDGE_ERR_INVALID_FIELD', `campaign: ${errorMessage(err)}`);
      }
    }
    if (typeof req.campaignId !== 'string') throw new ApiError(400, 'NUDGE_ERR_MISSING_FIELD', 'campaignId or campaign is required');
    const campaign = this.#replica.campaigns.get(req.campaignId);
    if (campaign === undefined) throw new ApiError(404, 'NUDGE_ERR_UNKNOWN_CAMPAIGN', `campaign ${req.campaignId} is not known`);
    return campaign;
  }

  #partitionOf(userId: string): number {
    return partitionFor(userId, this.#replica.engine?.partitionCount ?? 1);
  }

  async #forward<T>(method: 'GET' | 'POST', path: string, partition: number, body?: string): Promise<T> {
    const owner = this.#opts.directory.ownerOf(partition);
    if (owner === undefined || owner.replicaId === this.#replica.id) {
      throw new ApiError(503, 'NUDGE_ERR_NO_OWNER', `no replica owns partition ${partition} right now`);
    }
    try {
      const res = await request(`${owner.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', [FORWARDED]: this.#replica.id, ...(this.#opts.token ? { authorization: `Bearer ${this.#opts.token}` } : {}) },
        ...(body !== undefined ? { body } : {}),
        headersTimeout: this.#opts.forwardTimeoutMs,
        bodyTimeout: this.#opts.forwardTimeoutMs,
        signal: AbortSignal.timeout(this.#opts.forwardTimeoutMs),
      });
      const text = await res.body.text();
      if (res.statusCode === 404 && method === 'GET') return undefined as T;
      if (res.statusCode >= 400) throw new ApiError(res.statusCode, 'NUDGE_ERR_FORWARDED', `owner ${owner.replicaId} answered ${res.statusCode}: ${text.slice(0, 200)}`);
      return JSON.parse(text) as T;
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(504, 'NUDGE_ERR_FORWARD_FAILED', `forwarding to ${owner.replicaId} failed: ${errorMessage(err)}`);
    }
  }

  #committed(result: BatchResult): void {
    // The operators' own objects, before encoding: nothing to decode, whatever the output format.
    const live = this.#listeners.size > 0;
    const second = Math.floor(Date.now() / 1000);
    for (const o of result.produced) {
      let event: LiveEvent;
      if (o.role === 'decisions') {
        const d = o.value as DecisionRecord;
        this.#stats.decision(d, second);
        if (!live) continue;
        event = { type: 'decision', ts: d.ts, campaignId: d.campaignId, action: d.action, reasons: d.reasons, channel: d.channel };
      } else if (o.role === 'sends') {
        const s = o.value as SendRecord;
        this.#stats.send(s);
        if (!live) continue;
        event = { type: 'send', ts: s.ts, campaignId: s.campaignId, provider: s.provider, status: s.status, channel: s.channel };
      } else continue;
      for (const l of this.#listeners) l(event);
    }
  }
}

/** Counters for the dashboard, from committed outputs. */
class LiveStats {
  readonly reasons = new Map<string, number>();
  readonly sends = new Map<string, Map<string, number>>();
  readonly decided = new Map<string, number>();
  readonly sent = new Map<string, number>();
  readonly lag = new Map<number, number>();
  /** Decisions by action per second over the last 10 seconds (wall clock: this is monitoring, not logic). */
  readonly #window: Array<{ second: number; counts: Map<string, number> }> = [];

  /** `second`: the wall-clock second of the commit (this is monitoring, not logic). */
  decision(d: DecisionRecord, second: number): void {
    for (const r of d.reasons) this.reasons.set(r, (this.reasons.get(r) ?? 0) + 1);
    if (d.supersedes === undefined) this.decided.set(d.campaignId, (this.decided.get(d.campaignId) ?? 0) + 1);
    let slot = this.#window[this.#window.length - 1];
    if (slot === undefined || slot.second !== second) {
      slot = { second, counts: new Map() };
      this.#window.push(slot);
      while (this.#window.length > 10) this.#window.shift();
    }
    slot.counts.set(d.action, (slot.counts.get(d.action) ?? 0) + 1);
  }

  send(s: SendRecord): void {
    const byStatus = this.sends.get(s.provider) ?? new Map<string, number>();
    byStatus.set(s.status, (byStatus.get(s.status) ?? 0) + 1);
    this.sends.set(s.provider, byStatus);
    if (s.status === 'sent') this.sent.set(s.campaignId, (this.sent.get(s.campaignId) ?? 0) + 1);
  }

  rates(): Record<string, number> {
    const now = Math.floor(Date.now() / 1000);
    const recent = this.#window.filter((w) => now - w.second < 10);
    const out: Record<string, number> = {};
    for (const w of recent) for (const [a, n] of w.counts) out[a] = (out[a] ?? 0) + n / 10;
    return out;
  }
}
