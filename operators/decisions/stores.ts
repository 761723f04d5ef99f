import type { StoreDeclaration } from '../../state/partition-state.js';
import type { StoreCodec } from '../../state/key-value-store.js';
import { userCodec } from './user-codec.js';

/** The decision topology's stores; namespaces are part of the on-disk format: never reuse one. */
export const DECISION_STORES = {
  // Write-behind: a batch of events puts a user's state once per event, and the decision
  // operator puts back every change it makes to it.
  users: { name: 'users', namespace: 0x20, codec: userCodec as StoreCodec<never>, writeBehind: true },
  ledger: { name: 'ledger', namespace: 0x21 },
  campaignUsage: { name: 'campaign-usage', namespace: 0x22 },
  slotUsage: { name: 'slot-usage', namespace: 0x23 },
  waiting: { name: 'waiting', namespace: 0x24 },
  population: { name: 'population', namespace: 0x25 },
} as const satisfies Record<string, StoreDeclaration>;

/** One decision per (campaign, user): what the pipeline decided and what became of it. */
export interface LedgerEntry {
  decisionId: string;
  action: 'send' | 'schedule' | 'skip' | 'holdout' | 'sent';
  channel?: 'sms' | 'push';
  sendAt?: number;
  ev: number;
  ts: number;
  reasons?: string[];
}

/** A partition's share of a campaign's budget, used so far. */
export interface CampaignUsage {
  sends: number;
  cost: number;
}

/** A candidate that arrived before its campaign. */
export interface WaitingCandidate {
  vars: Record<string, string | number>;
  since: number;
  offset: number;
}
