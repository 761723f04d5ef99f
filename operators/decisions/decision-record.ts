import { hash } from 'node:crypto';
import type { Action, Channel, Kind, Reason } from './types.js';

/** The `nudge.decisions` record of CONTRACT.md, plus the logged feature vector (DESIGN invariant 8). */
export interface DecisionRecord {
  decisionId: string;
  campaignId: string;
  userId: string;
  action: Action;
  kind: Kind | null;
  channel: Channel | null;
  provider: string | null;
  sendAt: number | null;
  reasons: Reason[];
  scores: { click: number; convert: number; unsubscribe: number; ev: number } | null;
  propensity: number;
  arm: string;
  modelVersion: string;
  segments: number;
  cost: number;
  ts: number;
  featureVersion?: string;
  features?: number[];
  /** Set on a later change to an earlier decision (preempted, cancelled, expired). */
  supersedes?: Action;
}

/**
 * Deterministic ids: a replayed candidate gets the same id, so a consumer can tell a
 * retry from a new decision even under at-least-once.
 */
export function decisionIdFor(campaignId: string, userId: string): string {
  // One-shot hash: the same digest as updating a Hash with the three parts (UTF-8 either way),
  // in about 40% of the time. It runs for every pending send of every user state decoded.
  return `d-${hash('sha1', `${campaignId}\u0000${userId}`, 'hex').slice(0, 24)}`;
}

export function round(value: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
