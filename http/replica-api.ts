import type { Channel, Reason } from '../operators/decisions/types.js';

/** Header a replica sets when it forwards a request to the owner: the owner never forwards it again. */
export const FORWARDED_HEADER = 'x-nudge-forwarded';

/** POST /v1/eligibility request: a campaign by id, or inline. */
export interface EligibilityRequest {
  userId: string;
  campaignId?: string;
  campaign?: unknown;
}

/** POST /v1/eligibility answer (CONTRACT.md). Nothing is sent or written. */
export interface EligibilityAnswer {
  eligible: boolean;
  action: 'send' | 'schedule' | 'skip' | 'holdout';
  reasons: Reason[];
  sendAt: number | null;
  channel: Channel | null;
  scores: { click: number; convert: number; unsubscribe: number; ev: number } | null;
  /** Which replica answered (forwarded requests say so). */
  answeredBy: string;
}

/** GET /v1/users/{id}: what nudge holds about a user. No phone number or token in it. */
export interface UserView {
  userId: string;
  partition: number;
  profile: { country?: string; timezone?: string; language?: string; hasPhone: boolean; pushTokens: number; consent: unknown; quietHours: unknown } | null;
  capsUsed: Array<{ t: number; channel: Channel; kind: string }>;
  pending: Array<{ decisionId: string; campaignId: string; at: number; channel: Channel }>;
  features: Record<string, unknown>;
}

/** One message on the live stream (GET /v1/live). */
export type LiveEvent =
  | { type: 'decision'; ts: number; campaignId: string; action: string; reasons: string[]; channel: string | null }
  | { type: 'send'; ts: number; campaignId: string; provider: string; status: string; channel: string }
  | { type: 'stats'; ts: number; snapshot: DashboardSnapshot };

export interface DashboardSnapshot {
  replica: string;
  ready: boolean;
  partitions: Array<{ partition: number; ready: boolean; lag: number; restoring: boolean }>;
  decisionsPerSecond: Record<string, number>;
  reasons: Record<string, number>;
  sendsByProvider: Record<string, Record<string, number>>;
  campaigns: Array<{ campaignId: string; windowStart: number; windowEnd: number; decided: number; sent: number; budgetSends: number | null }>;
}

/** Thrown by the API for a request it cannot answer; the server maps `status`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * What the HTTP layer needs from a replica. The server knows nothing else about the
 * processor, so it can be tested against a stub and the replica can change behind it.
 */
export interface ReplicaApi {
  readonly id: string;
  /** Alive: the process is up and its event loop turns. */
  alive(): boolean;
  /** Ready: every assigned partition restored and running. */
  ready(): boolean;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Answers for a local user, or forwards to the owning replica. */
  eligibility(request: EligibilityRequest, forwarded?: boolean): Promise<EligibilityAnswer>;
  user(userId: string, forwarded?: boolean): Promise<UserView | undefined>;
  /** Provider delivery webhooks, parsed into receipts and appended to the receipts topic; returns how many. */
  receipts(records: ReadonlyArray<Record<string, unknown>>): Promise<number>;
  subscribe(listener: (event: LiveEvent) => void): () => void;
  snapshot(): DashboardSnapshot;
}
